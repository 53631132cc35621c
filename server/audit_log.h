// The audit trail: every token issued, every refused call, every key or revocation change, as
// JSON lines. Never a token, never a key.
//
// Example:
//   absl::StatusOr<std::unique_ptr<AuditLog>> audit = AuditLog::Open("");  // "" = stderr
//   (*audit)->Record(AuditEvent("issue", caller, context->peer()).Str("sub", "42").Str("jti",
//   jti));
#ifndef SIGNET_SERVER_AUDIT_LOG_H_
#define SIGNET_SERVER_AUDIT_LOG_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/json_line.h"
#include "server/policy/authorizer.h"
#include "server/redaction.h"  // LooksLikeSecret: what AuditEvent redacts.

namespace signet::server {

// One audit record under construction.
class AuditEvent {
 public:
  // `peer`: the caller's address, e.g. from ServerContext::peer(). Values that
  // LooksLikeSecret() are written as "[redacted]", whatever the field: a caller-supplied subject
  // or reason cannot smuggle a secret into the audit trail.
  AuditEvent(absl::string_view action, const Caller& caller, absl::string_view peer);
  AuditEvent& Str(absl::string_view key, absl::string_view value);
  AuditEvent& Strs(absl::string_view key, const std::vector<std::string>& values);
  AuditEvent& Int(absl::string_view key, int64_t value);
  AuditEvent& Time(absl::string_view key, absl::Time value);
  // The JSON object, without a newline.
  std::string Json() const;

 private:
  JsonLine line_;
};

// Thread-safe. Records are written with group commit: a caller whose record finds no write under
// way writes every record waiting at that moment with one write(2); callers that arrive meanwhile
// queue theirs and wait for the next write. One syscall per token at low load, far fewer under
// load, and still every record in the kernel's hands before its caller goes on.
class AuditLog {
 public:
  // `path` empty: stderr. The file is opened for append, created 0600.
  static absl::StatusOr<std::unique_ptr<AuditLog>> Open(const std::string& path);
  ~AuditLog();
  // Written (handed to the kernel by write(2)) before it returns, so an admin change is on record
  // before its RPC answers.
  void Record(const AuditEvent& event);

  struct Stats {
    uint64_t records_queued = 0;
    uint64_t records_written = 0;  // Written or failed to be.
    uint64_t batches = 0;          // write(2) batches (one or more calls each, for partial writes).
  };
  Stats stats() const;

 private:
  AuditLog(int fd, bool owned) : fd_(fd), owned_(owned) {}
  // Writes all of `bytes`, retrying partial writes and EINTR; 0 or the errno of the failure.
  int WriteAll(const std::string& bytes) const;

  const int fd_;
  const bool owned_;
  mutable absl::Mutex mu_;
  std::string pending_ ABSL_GUARDED_BY(mu_);   // Records queued for the next write.
  uint64_t queued_ ABSL_GUARDED_BY(mu_) = 0;   // Records ever queued.
  uint64_t written_ ABSL_GUARDED_BY(mu_) = 0;  // Records ever written (or failed to).
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t batches_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace signet::server

#endif  // SIGNET_SERVER_AUDIT_LOG_H_
