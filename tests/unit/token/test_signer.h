// Test-only signing for the token library's tests: the signing half of signet is written
// separately, so these tests make their own tokens with libsodium and OpenSSL directly.
#ifndef SIGNET_TESTS_UNIT_TOKEN_TEST_SIGNER_H_
#define SIGNET_TESTS_UNIT_TOKEN_TEST_SIGNER_H_

#include <memory>
#include <string>
#include <string_view>

#include "signet/algorithm.h"
#include "signet/verify_key.h"

namespace signet::testing {

// The bytes `encoded` (base64url) stands for; fails the test when it does not decode.
std::string B64(std::string_view encoded);

class TestSigner {
 public:
  // A fresh random key of each kind.
  static TestSigner Ed25519();
  static TestSigner P256();
  static TestSigner Hmac(std::string secret);

  TestSigner(TestSigner&&) noexcept;
  TestSigner& operator=(TestSigner&&) noexcept;
  ~TestSigner();

  Algorithm algorithm() const { return algorithm_; }
  // Ed25519: 32 bytes; P-256: x||y; HMAC: empty.
  const std::string& public_bytes() const { return public_bytes_; }

  // Raw JWS signature bytes over `signing_input` (64-byte Ed25519, 64-byte r||s, 32-byte MAC).
  std::string Sign(std::string_view signing_input) const;

  // The verifying key for this signer under `kid`.
  std::shared_ptr<const VerifyKey> VerifyKeyFor(std::string kid) const;

  // base64url(header_json) "." base64url(payload_json) "." base64url(signature).
  std::string Token(std::string_view header_json, std::string_view payload_json) const;

 private:
  struct Impl;
  TestSigner(Algorithm algorithm, std::unique_ptr<Impl> impl, std::string public_bytes);

  Algorithm algorithm_;
  std::unique_ptr<Impl> impl_;
  std::string public_bytes_;
};

// base64url(header_json) "." base64url(payload_json): the JWS signing input.
std::string SigningInput(std::string_view header_json, std::string_view payload_json);

// Raw HMAC-SHA256 of `data` under `key` (any length).
std::string HmacSha256(std::string_view key, std::string_view data);

}  // namespace signet::testing

#endif  // SIGNET_TESTS_UNIT_TOKEN_TEST_SIGNER_H_
