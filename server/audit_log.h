// The audit trail: every token issued, every refused call, every key or revocation change, as
// JSON lines. Never a token, never a key.
//
// Example:
//   absl::StatusOr<std::unique_ptr<AuditLog>> audit = AuditLog::Open("");  // "" = stderr
//   (*audit)->Record(AuditEvent("issue", caller, context->peer()).Str("sub", "42").Str("jti",
//   jti));
#ifndef SIGNET_SERVER_AUDIT_LOG_H_
#define SIGNET_SERVER_AUDIT_LOG_H_

#include <cstdio>
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

// Thread-safe.
class AuditLog {
 public:
  // `path` empty: stderr. The file is opened for append, created 0600.
  static absl::StatusOr<std::unique_ptr<AuditLog>> Open(const std::string& path);
  ~AuditLog();
  // Written and flushed before it returns, so an admin change is on record before its RPC
  // answers.
  void Record(const AuditEvent& event);

 private:
  explicit AuditLog(std::FILE* file, bool owned) : file_(file), owned_(owned) {}
  absl::Mutex mu_;
  std::FILE* const file_;
  const bool owned_;
};

}  // namespace signet::server

#endif  // SIGNET_SERVER_AUDIT_LOG_H_
