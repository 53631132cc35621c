// HMAC-SHA256 (RFC 2104) on OpenSSL 3 EVP digests, with the keyed inner and outer states computed
// once per key.
//
// Example:
//   std::unique_ptr<const HmacSha256> mac = HmacSha256::Create(secret);
//   unsigned char out[HmacSha256::kBytes];
//   if (mac == nullptr || !mac->Compute(signing_input, out)) return false;
//
// Why not EVP_MAC: re-initialising a keyed EVP_MAC_CTX reuses its key but mutates the context (so
// one per thread and key would be needed), and duplicating one per call allocates. Here the keyed
// states are read-only and each call copies them into contexts owned by the calling thread: the
// digest runs in OpenSSL (SHA extensions where the CPU has them), and Compute is thread-safe.
#ifndef SIGNET_CLIENT_SRC_INTERNAL_HMAC_SHA256_H_
#define SIGNET_CLIENT_SRC_INTERNAL_HMAC_SHA256_H_

#include <openssl/evp.h>

#include <cstddef>
#include <memory>
#include <string_view>

namespace signet::internal {

// Immutable and thread-safe. Also used by the server's HS256 signing key (one implementation of the
// MAC for both halves), which is why this header needs nothing else from internal/.
class HmacSha256 {
 public:
  static constexpr size_t kBytes = 32;

  // nullptr when OpenSSL cannot set the key up (out of memory, no SHA-256).
  static std::unique_ptr<const HmacSha256> Create(std::string_view key);

  // Writes the 32-byte MAC of `data` to `out`. False only on an OpenSSL failure.
  bool Compute(std::string_view data, unsigned char out[kBytes]) const;

  // True when `mac` is the MAC of `data`, compared in constant time.
  bool Matches(std::string_view data, std::string_view mac) const;

 private:
  struct CtxFree {
    void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
  };
  using CtxPtr = std::unique_ptr<EVP_MD_CTX, CtxFree>;

  HmacSha256(CtxPtr inner, CtxPtr outer) : inner_(std::move(inner)), outer_(std::move(outer)) {}

  // SHA-256 states after absorbing (key XOR ipad), resp. (key XOR opad). Only ever copied from.
  const CtxPtr inner_;
  const CtxPtr outer_;
};

}  // namespace signet::internal

#endif  // SIGNET_CLIENT_SRC_INTERNAL_HMAC_SHA256_H_
