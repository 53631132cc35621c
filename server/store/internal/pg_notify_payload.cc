#include "server/store/internal/pg_notify_payload.h"

#include <optional>

#include "absl/time/time.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "server/store/internal/store_rules.h"

namespace signet::server::internal {
namespace {

// A NOTIFY payload must be shorter than 8000 bytes.
constexpr size_t kMaxPayloadBytes = 7999;
// Sent instead of a revocation record too long for a NOTIFY payload: receivers reload everything.
constexpr char kReloadPayload[] = R"({"kind":"reload"})";

std::string FitPayload(const rapidjson::StringBuffer& buffer) {
  if (buffer.GetSize() > kMaxPayloadBytes) return kReloadPayload;
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::optional<std::string> StringMember(const rapidjson::Value& object, const char* name) {
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsString()) return std::nullopt;
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

std::optional<absl::Time> TimeMember(const rapidjson::Value& object, const char* name) {
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsInt64()) return std::nullopt;
  return FromStoredMicros(it->value.GetInt64());
}

}  // namespace

std::string TokenRevocationPayload(const TokenRevocationRecord& record) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.StartObject();
  writer.Key("kind");
  writer.String("token_revocation");
  writer.Key("token_id");
  writer.String(record.token_id.data(), static_cast<rapidjson::SizeType>(record.token_id.size()));
  writer.Key("expires_at");
  writer.Int64(ToStoredMicros(record.expires_at));
  writer.EndObject();
  return FitPayload(buffer);
}

std::string SubjectRevocationPayload(const SubjectRevocationRecord& record) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.StartObject();
  writer.Key("kind");
  writer.String("subject_revocation");
  writer.Key("subject");
  writer.String(record.subject.data(), static_cast<rapidjson::SizeType>(record.subject.size()));
  writer.Key("not_before");
  writer.Int64(ToStoredMicros(record.not_before));
  writer.Key("expires_at");
  writer.Int64(ToStoredMicros(record.expires_at));
  writer.EndObject();
  return FitPayload(buffer);
}

StoreChange ParseStoreChange(std::string_view payload) {
  StoreChange unknown;
  rapidjson::Document doc;
  doc.Parse(payload.data(), payload.size());
  if (doc.HasParseError() || !doc.IsObject()) return unknown;
  std::optional<std::string> kind = StringMember(doc, "kind");
  if (!kind.has_value()) return unknown;
  StoreChange change;
  if (*kind == "keys") {
    change.kind = StoreChange::Kind::kKeys;
    return change;
  }
  if (*kind == "token_revocation") {
    std::optional<std::string> token_id = StringMember(doc, "token_id");
    std::optional<absl::Time> expires_at = TimeMember(doc, "expires_at");
    if (!token_id.has_value() || !expires_at.has_value()) return unknown;
    change.kind = StoreChange::Kind::kTokenRevocation;
    change.token = TokenRevocationRecord{*std::move(token_id), *expires_at};
    return change;
  }
  if (*kind == "subject_revocation") {
    std::optional<std::string> subject = StringMember(doc, "subject");
    std::optional<absl::Time> not_before = TimeMember(doc, "not_before");
    std::optional<absl::Time> expires_at = TimeMember(doc, "expires_at");
    if (!subject.has_value() || !not_before.has_value() || !expires_at.has_value()) {
      return unknown;
    }
    change.kind = StoreChange::Kind::kSubjectRevocation;
    change.subject = SubjectRevocationRecord{*std::move(subject), *not_before, *expires_at};
    return change;
  }
  return unknown;
}

}  // namespace signet::server::internal
