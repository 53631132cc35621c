// The Ed25519 test key and JWS of RFC 8037 appendix A, shared by the signing tests.
#ifndef SIGNET_TESTS_UNIT_SIGNING_RFC8037_H_
#define SIGNET_TESTS_UNIT_SIGNING_RFC8037_H_

#include <string>
#include <string_view>

#include "signet/base64url.h"

namespace signet::server::rfc8037 {

// A.1: the private key seed "d" and public key "x".
inline constexpr std::string_view kSeedB64 = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
inline constexpr std::string_view kPublicB64 = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
// A.3: the RFC 7638 thumbprint of the A.2 public key.
inline constexpr std::string_view kKid = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k";
// A.4: the signing input ({"alg":"EdDSA"} . "Example of Ed25519 signing") and its signature.
inline constexpr std::string_view kSigningInput =
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
inline constexpr std::string_view kSignatureB64 =
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

// Decodes base64url that the test itself wrote; an empty string if it is not canonical.
inline std::string FromB64(std::string_view encoded) {
  std::string out;
  if (!Base64UrlDecode(encoded, &out)) return {};
  return out;
}

}  // namespace signet::server::rfc8037

#endif  // SIGNET_TESTS_UNIT_SIGNING_RFC8037_H_
