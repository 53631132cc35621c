// JWS algorithms signet signs and verifies.
//
// Example:
//   absl::StatusOr<signet::Algorithm> alg = signet::AlgorithmFromName("EdDSA");
//   if (alg.ok()) std::cout << signet::AlgorithmName(*alg);  // "EdDSA"
#ifndef SIGNET_ALGORITHM_H_
#define SIGNET_ALGORITHM_H_

#include <string_view>

#include "absl/status/statusor.h"

namespace signet {

// Values match signet.v1.Algorithm in the proto.
enum class Algorithm {
  kEdDSA = 1,  // Ed25519 (RFC 8037). The default.
  kES256 = 2,  // ECDSA P-256 + SHA-256, raw r||s signatures (RFC 7518 section 3.4).
  kHS256 = 3,  // HMAC-SHA256; the secret never leaves the server.
};

// The JWS "alg" name: "EdDSA", "ES256", "HS256".
std::string_view AlgorithmName(Algorithm alg);

// Parses a JWS "alg" name (case-sensitive, as RFC 7515 requires). "none" and unknown names are
// InvalidArgument.
absl::StatusOr<Algorithm> AlgorithmFromName(std::string_view name);

}  // namespace signet

#endif  // SIGNET_ALGORITHM_H_
