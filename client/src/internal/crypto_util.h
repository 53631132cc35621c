// Process-wide crypto set-up and RAII holders for OpenSSL objects.
#ifndef SIGNET_CLIENT_SRC_INTERNAL_CRYPTO_UTIL_H_
#define SIGNET_CLIENT_SRC_INTERNAL_CRYPTO_UTIL_H_

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include <memory>

namespace signet::internal {

// Calls sodium_init() once per process, thread-safely. False if libsodium cannot be used.
bool EnsureSodium();

// The SHA-256 EVP_MD, fetched once per process and never freed.
const EVP_MD* Sha256Md();

struct EvpPkeyDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct EvpPkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct EvpMdCtxDeleter {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct EcdsaSigDeleter {
  void operator()(ECDSA_SIG* p) const { ECDSA_SIG_free(p); }
};
struct BignumDeleter {
  void operator()(BIGNUM* p) const { BN_free(p); }
};

using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyDeleter>;
using EvpPkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, EvpPkeyCtxDeleter>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, EvpMdCtxDeleter>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, EcdsaSigDeleter>;
using BignumPtr = std::unique_ptr<BIGNUM, BignumDeleter>;

}  // namespace signet::internal

#endif  // SIGNET_CLIENT_SRC_INTERNAL_CRYPTO_UTIL_H_
