#include "server/json_line.h"

#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace signet::server {
namespace {

// Appends `s` as a JSON string literal (escaped by RapidJSON).
void AppendJsonString(std::string* out, std::string_view s) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  out->append(buf.GetString(), buf.GetSize());
}

}  // namespace

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime(absl::RFC3339_full, t, absl::UTCTimeZone());
}

void JsonLine::Key(std::string_view key) {
  if (!body_.empty()) body_ += ',';
  AppendJsonString(&body_, key);
  body_ += ':';
}

JsonLine& JsonLine::Str(std::string_view key, std::string_view value) {
  Key(key);
  AppendJsonString(&body_, value);
  return *this;
}

JsonLine& JsonLine::Strs(std::string_view key, const std::vector<std::string>& values) {
  Key(key);
  body_ += '[';
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) body_ += ',';
    AppendJsonString(&body_, values[i]);
  }
  body_ += ']';
  return *this;
}

JsonLine& JsonLine::Int(std::string_view key, int64_t value) {
  Key(key);
  body_ += std::to_string(value);
  return *this;
}

JsonLine& JsonLine::Bool(std::string_view key, bool value) {
  Key(key);
  body_ += value ? "true" : "false";
  return *this;
}

JsonLine& JsonLine::Time(std::string_view key, absl::Time value) {
  return Str(key, Rfc3339(value));
}

}  // namespace signet::server
