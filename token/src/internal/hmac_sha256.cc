#include "internal/hmac_sha256.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

namespace signet::internal {
namespace {

// OpenSSL's HMAC implementation, fetched once per process and never freed.
EVP_MAC* HmacMac() {
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr);
  return mac;
}

}  // namespace

std::unique_ptr<const HmacSha256> HmacSha256::Create(std::string_view key) {
  // Every caller holds a secret of at least 32 bytes; an empty one (which EVP_MAC_init would
  // read as "keep the previous key") is refused.
  if (key.empty() || HmacMac() == nullptr) {
    ERR_clear_error();
    return nullptr;
  }
  EvpMacCtxPtr keyed(EVP_MAC_CTX_new(HmacMac()));
  char digest[] = OSSL_DIGEST_NAME_SHA2_256;
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end(),
  };
  if (keyed == nullptr ||
      EVP_MAC_init(keyed.get(), reinterpret_cast<const unsigned char*>(key.data()), key.size(),
                   params) != 1) {
    ERR_clear_error();
    return nullptr;
  }
  return std::unique_ptr<const HmacSha256>(new HmacSha256(std::move(keyed)));
}

bool HmacSha256::Compute(std::string_view data, unsigned char out[kBytes]) const {
  EvpMacCtxPtr ctx(EVP_MAC_CTX_dup(keyed_.get()));
  size_t len = 0;
  const bool ok = ctx != nullptr &&
                  EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(data.data()),
                                 data.size()) == 1 &&
                  EVP_MAC_final(ctx.get(), out, &len, kBytes) == 1 && len == kBytes;
  if (!ok) ERR_clear_error();
  return ok;
}

bool HmacSha256::Matches(std::string_view data, std::string_view mac) const {
  if (mac.size() != kBytes) return false;
  unsigned char expected[kBytes];
  if (!Compute(data, expected)) return false;
  return CRYPTO_memcmp(expected, mac.data(), kBytes) == 0;
}

}  // namespace signet::internal
