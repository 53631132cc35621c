#include "token/signing/ecdsa_signature.h"

#include <openssl/bn.h>

#include "token/openssl/openssl_ptr.h"
#include "token/src/internal/ecdsa_low_s.h"

namespace signet::server {

absl::Status ToLowS(std::string* r_s) {
  constexpr int kScalarBytes = 32;
  if (r_s->size() != 2 * kScalarBytes) {
    return absl::InvalidArgumentError("an ECDSA P-256 signature is 64 bytes (r||s)");
  }
  unsigned char* s = reinterpret_cast<unsigned char*>(r_s->data()) + kScalarBytes;
  if (!internal::IsHighS(s)) return absl::OkStatus();
  using BignumPtr = OpenSslPtr<BIGNUM, BN_free>;
  BignumPtr order(BN_bin2bn(internal::kP256Order, kScalarBytes, nullptr));
  BignumPtr high(BN_bin2bn(s, kScalarBytes, nullptr));
  BignumPtr low(BN_new());
  if (order == nullptr || high == nullptr || low == nullptr ||
      BN_sub(low.get(), order.get(), high.get()) != 1 ||
      BN_bn2binpad(low.get(), s, kScalarBytes) != kScalarBytes) {
    return absl::InternalError("ECDSA P-256 signature could not be normalized to low-s");
  }
  return absl::OkStatus();
}

}  // namespace signet::server
