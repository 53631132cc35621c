// Judges tokens for ValidateToken: the current snapshot's keys and revocations, the verifier's
// policy, the clock. Knows nothing of gRPC.
//
// Example:
//   TokenValidator validator(ring.get(), *TokenVerifier::Create(policy), &Clock::Real());
//   VerifyResult r = validator.Validate(token, "orders");
#ifndef SIGNET_SERVER_TOKEN_VALIDATOR_H_
#define SIGNET_SERVER_TOKEN_VALIDATOR_H_

#include <string_view>

#include "server/keys/key_ring.h"
#include "signet/clock.h"
#include "signet/token_verifier.h"

namespace signet::server {

// Thread-safe; Validate takes no lock and never touches the store.
class TokenValidator {
 public:
  TokenValidator(const KeyRing* ring, TokenVerifier verifier, const Clock* clock)
      : ring_(ring), verifier_(std::move(verifier)), clock_(clock) {}

  VerifyResult Validate(std::string_view token, std::string_view audience) const;

  // Verifies without revocations or audience, for RevokeToken (which needs the jti and exp of a
  // token signed by a known key).
  VerifyResult VerifySignedBy(std::string_view token) const;

  const TokenVerifier& verifier() const { return verifier_; }

 private:
  const KeyRing* const ring_;
  const TokenVerifier verifier_;
  const Clock* const clock_;
};

}  // namespace signet::server

#endif  // SIGNET_SERVER_TOKEN_VALIDATOR_H_
