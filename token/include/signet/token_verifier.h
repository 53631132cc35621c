// Verifies JWS compact JWTs against a KeySet, a ValidationPolicy and a RevocationSet.
//
// Example:
//   signet::ValidationPolicy policy;
//   policy.issuer = "signet";
//   absl::StatusOr<signet::TokenVerifier> verifier = signet::TokenVerifier::Create(policy);
//   if (!verifier.ok()) return verifier.status();
//   signet::VerifyResult r = verifier->Verify(token, keys, &revocations, clock.Now(), "orders");
//   if (!r.valid()) return Refuse(signet::ReasonName(r.reason));
//
// Order of checks (the first failure decides): size and shape (three segments, canonical
// base64url, UTF-8 JSON objects without duplicate members) -> header (alg supported and not
// "none", kid present, no crit/jku/jwk/x5u/x5c) -> key lookup by kid -> alg equals the key's
// algorithm -> signature -> claims shape (NumericDates are numbers in range, sub/jti strings, aud
// string or array of strings) -> exp/nbf/iat with leeway -> iss -> aud (when `audience` is
// non-empty) -> key revoked -> jti revoked -> subject revoked. The signature is checked before the
// payload is parsed.
#ifndef SIGNET_TOKEN_VERIFIER_H_
#define SIGNET_TOKEN_VERIFIER_H_

#include <optional>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "signet/algorithm.h"
#include "signet/audience.h"
#include "signet/key_set.h"
#include "signet/reason.h"
#include "signet/revocation_set.h"
#include "signet/validation_policy.h"
#include "signet/verified_token.h"

namespace signet {

// Immutable and thread-safe.
class TokenVerifier {
 public:
  // InvalidArgument when the policy is contradictory or out of bounds (empty issuer, leeway
  // negative or over 5 minutes, max_token_bytes outside 256 B..1 MiB).
  static absl::StatusOr<TokenVerifier> Create(ValidationPolicy policy);

  // `revocations` may be null (no revocations). `audience` says what aud must hold
  // (signet/audience.h: there is no default).
  VerifyResult Verify(std::string_view token, const KeySet& keys, const RevocationSet* revocations,
                      absl::Time now, Audience audience) const;

  // The claims of `token` when its signature verifies with a key of `keys` (revoked keys
  // included), and nothing else is judged: not the times, issuer, audience, key state or
  // revocations. For acting on a token that need not be valid, such as revoking it. nullopt when
  // the token is malformed, its key unknown or its signature bad; `reason` (if given) says which.
  std::optional<SignedClaims> ReadSigned(std::string_view token, const KeySet& keys,
                                         Reason* reason = nullptr) const;

  const ValidationPolicy& policy() const { return policy_; }

 private:
  explicit TokenVerifier(ValidationPolicy policy) : policy_(std::move(policy)) {}

  // Size and shape, header, key, signature, then the claims into *claims and the key's entry into
  // *entry. Reason::kValid when all of those passed (nothing is judged).
  Reason ReadClaims(std::string_view token, const KeySet& keys, SignedClaims* claims,
                    const KeySet::Entry** entry) const;
  ValidationPolicy policy_;
};

// The parts of a token header a router needs before verifying (e.g. a local validator sending
// HS256 tokens to the server). Bounded and strict like Verify's header checks.
struct TokenHeader {
  Algorithm algorithm;
  std::string kid;
};
// kMalformed / kUnsupportedAlgorithm on failure (as the status message: ReasonName).
absl::StatusOr<TokenHeader> PeekHeader(std::string_view token, size_t max_token_bytes = 8 * 1024);

}  // namespace signet

#endif  // SIGNET_TOKEN_VERIFIER_H_
