#include "token/signing/delegated_signing_key.h"

#include <utility>

#include "token/signing/ecdsa_signature.h"

namespace signet::server {

std::unique_ptr<SigningKey> DelegatedSigningKey::Create(std::shared_ptr<const VerifyKey> verify_key,
                                                        RawSigner sign) {
  return std::unique_ptr<SigningKey>(
      new DelegatedSigningKey(std::move(verify_key), std::move(sign)));
}

absl::StatusOr<std::string> DelegatedSigningKey::Sign(std::string_view signing_input) const {
  absl::StatusOr<std::string> signature = sign_(signing_input);
  if (!signature.ok() || algorithm() != Algorithm::kES256) return signature;
  if (absl::Status low = ToLowS(&*signature); !low.ok()) return low;
  return signature;
}

}  // namespace signet::server
