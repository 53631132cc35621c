// What a token says, and how much of it has been judged, in two types:
// - SignedClaims: the claims of a token whose signature verified with a known key, and nothing
//   more (it may be expired, for another issuer or audience, signed by a revoked key, revoked).
//   TokenVerifier::ReadSigned makes these, for acting on a token that need not be valid (revoking
//   it).
// - VerifiedToken: the claims of a token that passed every check of TokenVerifier::Verify. Only a
//   valid VerifyResult holds one, so code that has one knows the token is valid.
//
// Example:
//   signet::VerifyResult r =
//       verifier.Verify(token, keys, &revocations, now, signet::Audience::Expect("orders"));
//   if (r.valid()) Greet(r.token->subject());
#ifndef SIGNET_VERIFIED_TOKEN_H_
#define SIGNET_VERIFIED_TOKEN_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "signet/reason.h"

namespace signet {

class TokenVerifier;

class SignedClaims {
 public:
  const std::string& issuer() const { return issuer_; }
  const std::string& subject() const { return subject_; }
  // Empty when the token carries no backend claim.
  const std::string& backend() const { return backend_; }
  const std::vector<std::string>& audiences() const { return audiences_; }
  // absl::InfinitePast() when the token has no iat (resp. nbf) claim.
  absl::Time issued_at() const { return issued_at_; }
  absl::Time not_before() const { return not_before_; }
  absl::Time expires_at() const { return expires_at_; }
  const std::string& token_id() const { return token_id_; }
  const std::string& key_id() const { return key_id_; }
  // The decoded JWT claims set (a JSON object), as signed.
  const std::string& payload_json() const { return payload_json_; }
  // True when the claims set has a member other than the registered claims, i.e. when
  // CallerClaimsJson() is not "{}". Known without re-reading the payload.
  bool has_caller_claims() const { return has_caller_claims_; }
  // The caller claims (every member except the registered ones) as a JSON object: "{}" if none.
  // Computed on each call from payload_json() when there are any; not on the validation hot path.
  std::string CallerClaimsJson() const;

 private:
  friend class TokenVerifier;
  SignedClaims() = default;

  std::string issuer_;
  std::string subject_;
  std::string backend_;
  std::vector<std::string> audiences_;
  absl::Time issued_at_;
  absl::Time not_before_;
  absl::Time expires_at_;
  std::string token_id_;
  std::string key_id_;
  std::string payload_json_;
  bool has_caller_claims_ = false;
};

// Claims that passed every check: made by TokenVerifier::Verify only, for a valid token.
class VerifiedToken : public SignedClaims {
 private:
  friend class TokenVerifier;
  explicit VerifiedToken(SignedClaims claims) : SignedClaims(std::move(claims)) {}
};

struct VerifyResult {
  // Reason::kValid, or the first check that failed.
  Reason reason = Reason::kMalformed;
  // Set exactly when the token is valid.
  std::optional<VerifiedToken> token;

  bool valid() const { return reason == Reason::kValid; }
};

}  // namespace signet

#endif  // SIGNET_VERIFIED_TOKEN_H_
