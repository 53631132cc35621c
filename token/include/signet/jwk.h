// Public keys as JSON Web Keys (RFC 7517, RFC 8037 for Ed25519) and JWK Sets, and RFC 7638
// thumbprints (signet's kid for public keys).
//
// Example:
//   absl::StatusOr<std::vector<std::shared_ptr<const signet::VerifyKey>>> keys =
//       signet::ParseJwks(jwks_json);
//   std::string jwks = signet::ToJwks(*keys);
#ifndef SIGNET_JWK_H_
#define SIGNET_JWK_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "signet/algorithm.h"
#include "signet/verify_key.h"

namespace signet {

// RFC 7638 thumbprint (base64url SHA-256 of the canonical JWK members) of a public key:
// Ed25519 32 bytes, or P-256 x||y 64 bytes. InvalidArgument for HS256 or wrong sizes.
absl::StatusOr<std::string> JwkThumbprint(Algorithm alg, std::string_view public_bytes);

// The public JWK JSON object of a key: {"kty","crv","x"[,"y"],"kid","alg","use":"sig"}.
// InvalidArgument for HMAC keys: secrets are never exported.
absl::StatusOr<std::string> ToJwk(const VerifyKey& key);

// A JWK Set {"keys":[...]} of the public keys given; HMAC keys are skipped.
std::string ToJwks(const std::vector<std::shared_ptr<const VerifyKey>>& keys);

// Parses one public JWK (OKP/Ed25519 or EC/P-256). Requires "kid"; "alg", when present, must
// match the key type; private members ("d") and symmetric keys ("oct") are refused.
absl::StatusOr<std::shared_ptr<const VerifyKey>> ParseJwk(std::string_view json);

// Parses a JWK Set. Strict: every key must parse and kids must be unique.
absl::StatusOr<std::vector<std::shared_ptr<const VerifyKey>>> ParseJwks(std::string_view json);

}  // namespace signet

#endif  // SIGNET_JWK_H_
