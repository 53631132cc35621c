// One interface for judging bearer tokens, with two implementations: LocalValidator (verifies
// offline from the published keys, kept current by WatchKeys) and RemoteValidator (asks
// signet-server's ValidateToken, with a bounded cache).
//
// Example:
//   std::unique_ptr<signet::Validator> v = ...;  // LocalValidator::Create(...) or RemoteValidator
//   absl::StatusOr<signet::Validation> r = v->Validate(token, signet::Audience::Expect("orders"));
//   if (!r.ok()) return FailClosed(r.status());         // cannot judge now (e.g. stale keys)
//   if (!r->valid()) return Anonymous(signet::ReasonName(r->reason));
//   Greet(r->identity.subject);
#ifndef SIGNET_VALIDATOR_H_
#define SIGNET_VALIDATOR_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "signet/audience.h"
#include "signet/reason.h"

namespace signet {

// Who a valid token speaks for.
struct Identity {
  std::string subject;
  std::string backend;
  std::vector<std::string> audiences;
  absl::Time issued_at = absl::InfinitePast();
  absl::Time expires_at = absl::InfinitePast();
  std::string token_id;
  std::string key_id;
  // Caller claims as a JSON object ("{}" when none).
  std::string claims_json = "{}";
};

struct Validation {
  Reason reason = Reason::kMalformed;
  Identity identity;  // Meaningful only when valid().
  bool valid() const { return reason == Reason::kValid; }
};

// Thread-safe.
class Validator {
 public:
  virtual ~Validator() = default;
  // An answer for every token it could judge (valid, or invalid with one reason). An error status
  // only when it cannot judge now: the server is unreachable, or local keys are stale past their
  // bound; callers fail closed on it. `audience`: Audience::Expect(name), the token's aud must
  // contain the name (a token without aud never matches: AUDIENCE_MISMATCH), or Audience::Any(),
  // any aud or none, which a service asks for on purpose. There is no default.
  virtual absl::StatusOr<Validation> Validate(std::string_view token, Audience audience) = 0;
};

}  // namespace signet

#endif  // SIGNET_VALIDATOR_H_
