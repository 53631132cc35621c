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
  if (path.empty()) return std::unique_ptr<AuditLog>(new AuditLog(STDERR_FILENO, false));
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot open --audit_log ", path, ": ", std::strerror(errno)));
  }
  return std::unique_ptr<AuditLog>(new AuditLog(fd, true));
}

AuditLog::~AuditLog() {
  if (owned_) close(fd_);
}

int AuditLog::WriteAll(const std::string& bytes) const {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = write(fd_, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    done += static_cast<size_t>(n);
  }
  return 0;
}

void AuditLog::Record(const AuditEvent& event) {
  const std::string line = event.Json();
  int error = 0;
  {
    absl::MutexLock lock(&mu_);
    pending_.append(line).push_back('\n');
    const uint64_t mine = ++queued_;
    while (written_ < mine) {
      if (writing_) {
        // Another caller's write is under way; ours goes in the next one (or is already in it).
        mu_.Await(absl::Condition(
            +[](AuditLog* self)
                 ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) { return !self->writing_; },
            this));
        continue;
      }
      writing_ = true;
      std::string batch;
      batch.swap(pending_);
      const uint64_t upto = queued_;
      mu_.Unlock();
      const int e = WriteAll(batch);
      mu_.Lock();
      if (e != 0) error = e;
      written_ = upto;
      writing_ = false;
      ++batches_;
      // Give the (cleared) buffer back, so that its capacity serves the next batch.
      if (pending_.empty()) {
        batch.clear();
        pending_.swap(batch);
      }
    }
  }
  if (error != 0) {
    Log(LogLevel::kError, "audit_write_failed").Str("error", std::strerror(error));
  }
}

AuditLog::Stats AuditLog::stats() const {
  absl::MutexLock lock(&mu_);
  return Stats{queued_, written_, batches_};
}

}  // namespace signet::server
