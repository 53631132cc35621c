// HMAC-SHA256 (RFC 2104) with OpenSSL's EVP_MAC, keyed once per key.
//
// Example:
//   std::unique_ptr<const HmacSha256> mac = HmacSha256::Create(secret);
//   unsigned char out[HmacSha256::kBytes];
//   if (mac == nullptr || !mac->Compute(signing_input, out)) return false;
//
// A keyed EVP_MAC_CTX is mutated by every MAC computed on it, so the keyed context here is only
// ever duplicated (EVP_MAC_CTX_dup): each call works on its own copy, which makes Compute
// thread-safe without locks and keeps the key schedule computed once.
#ifndef SIGNET_TOKEN_SRC_INTERNAL_HMAC_SHA256_H_
#define SIGNET_TOKEN_SRC_INTERNAL_HMAC_SHA256_H_

#include <cstddef>
#include <memory>
#include <string_view>

#include "token/openssl/openssl_ptr.h"

namespace signet::internal {

// Immutable and thread-safe. Also used by the HS256 signing key (one implementation of the MAC for
// signing and verifying).
class HmacSha256 {
 public:
  static constexpr size_t kBytes = 32;

  // nullptr for an empty key, or when OpenSSL cannot set the key up (out of memory, no HMAC or
  // SHA-256 provider).
  static std::unique_ptr<const HmacSha256> Create(std::string_view key);

  // Writes the 32-byte MAC of `data` to `out`. False only on an OpenSSL failure.
  bool Compute(std::string_view data, unsigned char out[kBytes]) const;

  // True when `mac` is the MAC of `data`, compared in constant time.
  bool Matches(std::string_view data, std::string_view mac) const;

 private:
  explicit HmacSha256(EvpMacCtxPtr keyed) : keyed_(std::move(keyed)) {}

  // Holds the key; only ever duplicated, never updated.
  const EvpMacCtxPtr keyed_;
};

}  // namespace signet::internal

#endif  // SIGNET_TOKEN_SRC_INTERNAL_HMAC_SHA256_H_
