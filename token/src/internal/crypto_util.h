// Process-wide crypto set-up. OpenSSL objects are held by token/openssl/openssl_ptr.h.
#ifndef SIGNET_TOKEN_SRC_INTERNAL_CRYPTO_UTIL_H_
#define SIGNET_TOKEN_SRC_INTERNAL_CRYPTO_UTIL_H_

#include <openssl/evp.h>

#include "token/openssl/openssl_ptr.h"

namespace signet::internal {

// Calls sodium_init() once per process, thread-safely. False if libsodium cannot be used.
bool EnsureSodium();

// The SHA-256 EVP_MD, fetched once per process and never freed.
const EVP_MD* Sha256Md();

}  // namespace signet::internal

#endif  // SIGNET_TOKEN_SRC_INTERNAL_CRYPTO_UTIL_H_
