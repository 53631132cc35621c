#include "server/log.h"

#include <atomic>
#include <mutex>

#include "absl/time/clock.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace signet::server {
namespace {

std::atomic<std::FILE*> g_sink{nullptr};
std::atomic<int> g_min_level{static_cast<int>(LogLevel::kInfo)};
std::mutex g_write_mu;

std::string_view LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

// Appends `s` as a JSON string literal (escaped by RapidJSON).
void AppendJsonString(std::string* out, std::string_view s) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  out->append(buf.GetString(), buf.GetSize());
}

}  // namespace

Log::Log(LogLevel level, std::string_view event)
    : enabled_(static_cast<int>(level) >= g_min_level.load(std::memory_order_relaxed)) {
  if (!enabled_) return;
  line_.reserve(256);
  line_ = "{\"ts\":";
  AppendJsonString(&line_, absl::FormatTime(absl::RFC3339_full, absl::Now(), absl::UTCTimeZone()));
  line_ += ",\"level\":";
  AppendJsonString(&line_, LevelName(level));
  line_ += ",\"event\":";
  AppendJsonString(&line_, event);
}

Log::~Log() {
  if (!enabled_) return;
  line_ += "}\n";
  std::FILE* sink = g_sink.load();
  if (sink == nullptr) sink = stderr;
  std::lock_guard<std::mutex> lock(g_write_mu);
  std::fwrite(line_.data(), 1, line_.size(), sink);
  std::fflush(sink);
}

Log& Log::Str(std::string_view key, std::string_view value) {
  if (!enabled_) return *this;
  line_ += ',';
  AppendJsonString(&line_, key);
  line_ += ':';
  AppendJsonString(&line_, value);
  return *this;
}

Log& Log::Int(std::string_view key, int64_t value) {
  if (!enabled_) return *this;
  line_ += ',';
  AppendJsonString(&line_, key);
  line_ += ':';
  line_ += std::to_string(value);
  return *this;
}

Log& Log::Bool(std::string_view key, bool value) {
  if (!enabled_) return *this;
  line_ += ',';
  AppendJsonString(&line_, key);
  line_ += value ? ":true" : ":false";
  return *this;
}

Log& Log::Time(std::string_view key, absl::Time value) {
  return Str(key, absl::FormatTime(absl::RFC3339_full, value, absl::UTCTimeZone()));
}

void Log::SetSink(std::FILE* sink) { g_sink.store(sink); }
void Log::SetMinLevel(LogLevel level) { g_min_level.store(static_cast<int>(level)); }

}  // namespace signet::server
