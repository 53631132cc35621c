// Writes and signs JWS compact JWTs.
//
// Example:
//   signet::server::TokenClaims c;
//   c.issuer = "signet"; c.subject = "42"; c.backend = "django.contrib.auth.backends.ModelBackend";
//   c.issued_at = now; c.expires_at = now + absl::Hours(1); c.token_id = NewTokenId();
//   absl::StatusOr<std::string> token = signet::server::SignToken(key, c);
#ifndef SIGNET_TOKEN_SIGNING_TOKEN_SIGNER_H_
#define SIGNET_TOKEN_SIGNING_TOKEN_SIGNER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "token/signing/signing_key.h"

namespace signet::server {

struct TokenClaims {
  std::string issuer;
  std::string subject;
  std::string backend;                 // Omitted from the token when empty.
  std::vector<std::string> audiences;  // No aud when empty; a string when one; else an array.
  absl::Time issued_at;                // iat and nbf (whole seconds, floored).
  absl::Time expires_at;               // exp (whole seconds, floored).
  std::string token_id;                // jti.
  // Caller claims as a JSON object text, or empty for none. Registered names are refused.
  std::string caller_claims_json;
};

// Header {"alg","kid","typ":"JWT"}, then the claims (registered first, then caller claims), signed
// with `key`. InvalidArgument when caller_claims_json is not a JSON object, uses a registered name,
// or repeats a member.
absl::StatusOr<std::string> SignToken(const SigningKey& key, const TokenClaims& claims);

// 128 random bits, base64url (22 characters): a fresh jti.
std::string NewTokenId();

}  // namespace signet::server

#endif  // SIGNET_TOKEN_SIGNING_TOKEN_SIGNER_H_
