#include "internal/hmac_sha256.h"

#include <openssl/crypto.h>
#include <openssl/err.h>

#include <cstring>

#include "internal/crypto_util.h"

namespace signet::internal {
namespace {

constexpr size_t kBlockBytes = 64;  // SHA-256's block size, which RFC 2104 pads the key to.

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// A digest context absorbing one 64-byte block.
template <typename Ptr>
Ptr KeyedState(const unsigned char* block) {
  Ptr ctx(EVP_MD_CTX_new());
  if (ctx == nullptr || EVP_DigestInit_ex2(ctx.get(), Sha256Md(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), block, kBlockBytes) != 1) {
    return nullptr;
  }
  return ctx;
}

// The calling thread's working contexts, made on first use and kept for the thread's life.
struct WorkContexts {
  EvpMdCtxPtr inner{EVP_MD_CTX_new()};
  EvpMdCtxPtr outer{EVP_MD_CTX_new()};
};

WorkContexts& ThreadWork() {
  thread_local WorkContexts work;
  return work;
}

}  // namespace

std::unique_ptr<const HmacSha256> HmacSha256::Create(std::string_view key) {
  if (Sha256Md() == nullptr) return nullptr;
  unsigned char padded[kBlockBytes] = {};
  if (key.size() > kBlockBytes) {
    // Longer keys are hashed first (RFC 2104 section 2).
    unsigned int len = 0;
    if (EVP_Digest(key.data(), key.size(), padded, &len, Sha256Md(), nullptr) != 1) return nullptr;
  } else {
    std::memcpy(padded, key.data(), key.size());
  }
  unsigned char ipad[kBlockBytes];
  unsigned char opad[kBlockBytes];
  for (size_t i = 0; i < kBlockBytes; ++i) {
    ipad[i] = padded[i] ^ 0x36;
    opad[i] = padded[i] ^ 0x5c;
  }
  CtxPtr inner = KeyedState<CtxPtr>(ipad);
  CtxPtr outer = KeyedState<CtxPtr>(opad);
  OPENSSL_cleanse(padded, sizeof(padded));
  OPENSSL_cleanse(ipad, sizeof(ipad));
  OPENSSL_cleanse(opad, sizeof(opad));
  if (inner == nullptr || outer == nullptr) {
    ERR_clear_error();
    return nullptr;
  }
  return std::unique_ptr<const HmacSha256>(new HmacSha256(std::move(inner), std::move(outer)));
}

bool HmacSha256::Compute(std::string_view data, unsigned char out[kBytes]) const {
  WorkContexts& work = ThreadWork();
  unsigned char inner_hash[kBytes];
  unsigned int len = 0;
  const bool ok = work.inner != nullptr && work.outer != nullptr &&
                  EVP_MD_CTX_copy_ex(work.inner.get(), inner_.get()) == 1 &&
                  EVP_DigestUpdate(work.inner.get(), data.data(), data.size()) == 1 &&
                  EVP_DigestFinal_ex(work.inner.get(), inner_hash, &len) == 1 && len == kBytes &&
                  EVP_MD_CTX_copy_ex(work.outer.get(), outer_.get()) == 1 &&
                  EVP_DigestUpdate(work.outer.get(), inner_hash, kBytes) == 1 &&
                  EVP_DigestFinal_ex(work.outer.get(), out, &len) == 1 && len == kBytes;
  if (!ok) ERR_clear_error();
  return ok;
}

bool HmacSha256::Matches(std::string_view data, std::string_view mac) const {
  if (mac.size() != kBytes) return false;
  unsigned char expected[kBytes];
  if (!Compute(data, expected)) return false;
  return CRYPTO_memcmp(expected, Bytes(mac), kBytes) == 0;
}

}  // namespace signet::internal
