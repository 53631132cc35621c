#include "internal/crypto_util.h"

#include <sodium.h>

namespace signet::internal {

bool EnsureSodium() {
  // A function-local static is initialised exactly once even under concurrent first calls.
  static const bool ok = sodium_init() >= 0;
  return ok;
}

const EVP_MD* Sha256Md() {
  static const EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

}  // namespace signet::internal
