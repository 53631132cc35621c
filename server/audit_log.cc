#include "server/audit_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace signet::server {
namespace {

void AppendJsonString(std::string* out, std::string_view s) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  out->append(buf.GetString(), buf.GetSize());
}

std::string FormatTime(absl::Time t) {
  return absl::FormatTime(absl::RFC3339_full, t, absl::UTCTimeZone());
}

}  // namespace

AuditEvent::AuditEvent(std::string_view action, const Caller& caller, std::string_view peer) {
  body_ = "\"ts\":";
  AppendJsonString(&body_, FormatTime(absl::Now()));
  Str("audit", action);
  Str("caller", caller.identity.empty() ? "anonymous" : caller.identity);
  Str("peer", peer);
}

AuditEvent& AuditEvent::Str(std::string_view key, std::string_view value) {
  body_ += ',';
  AppendJsonString(&body_, key);
  body_ += ':';
  AppendJsonString(&body_, value);
  return *this;
}

AuditEvent& AuditEvent::Strs(std::string_view key, const std::vector<std::string>& values) {
  body_ += ',';
  AppendJsonString(&body_, key);
  body_ += ":[";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) body_ += ',';
    AppendJsonString(&body_, values[i]);
  }
  body_ += ']';
  return *this;
}

AuditEvent& AuditEvent::Int(std::string_view key, int64_t value) {
  body_ += ',';
  AppendJsonString(&body_, key);
  body_ += ':';
  body_ += std::to_string(value);
  return *this;
}

AuditEvent& AuditEvent::Time(std::string_view key, absl::Time value) {
  return Str(key, FormatTime(value));
}

std::string AuditEvent::Json() const { return "{" + body_ + "}"; }

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(const std::string& path) {
  if (path.empty()) return std::unique_ptr<AuditLog>(new AuditLog(stderr, false));
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot open --audit_log ", path, ": ", std::strerror(errno)));
  }
  std::FILE* file = fdopen(fd, "a");
  if (file == nullptr) {
    close(fd);
    return absl::UnavailableError(absl::StrCat("cannot open --audit_log ", path));
  }
  return std::unique_ptr<AuditLog>(new AuditLog(file, true));
}

AuditLog::~AuditLog() {
  if (owned_) std::fclose(file_);
}

void AuditLog::Record(const AuditEvent& event) {
  std::string line = event.Json();
  line += '\n';
  absl::MutexLock lock(&mu_);
  std::fwrite(line.data(), 1, line.size(), file_);
  std::fflush(file_);
}

}  // namespace signet::server
