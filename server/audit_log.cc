#include "server/audit_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/log.h"
#include "server/redaction.h"

namespace signet::server {
namespace {

std::string_view Std(absl::string_view s) { return std::string_view(s.data(), s.size()); }

}  // namespace

AuditEvent::AuditEvent(absl::string_view action, const Caller& caller, absl::string_view peer) {
  line_.Str("ts", Rfc3339(absl::Now()));
  Str("audit", action);
  Str("caller", caller.identity.has_value() ? caller.Name() : "anonymous");
  Str("peer", peer);
}

AuditEvent& AuditEvent::Str(absl::string_view key, absl::string_view value) {
  line_.Str(Std(key), Std(LooksLikeSecret(value) ? kRedacted : value));
  return *this;
}

AuditEvent& AuditEvent::Strs(absl::string_view key, const std::vector<std::string>& values) {
  std::vector<std::string> shown;
  shown.reserve(values.size());
  for (const std::string& v : values) shown.push_back(LooksLikeSecret(v) ? kRedacted : v);
  line_.Strs(Std(key), shown);
  return *this;
}

AuditEvent& AuditEvent::Int(absl::string_view key, int64_t value) {
  line_.Int(Std(key), value);
  return *this;
}

AuditEvent& AuditEvent::Time(absl::string_view key, absl::Time value) {
  return Str(key, Rfc3339(value));
}

std::string AuditEvent::Json() const { return line_.Finish(); }

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
  int error = 0;
  {
    absl::MutexLock lock(&mu_);
    if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0) {
      error = errno;
    }
  }
  if (error != 0) {
    Log(LogLevel::kError, "audit_write_failed").Str("error", std::strerror(error));
  }
}

}  // namespace signet::server
