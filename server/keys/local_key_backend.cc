#include "server/keys/local_key_backend.h"

#include <openssl/crypto.h>

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/store/key_record_authenticator.h"
#include "signet/jwk.h"

namespace signet::server {

absl::StatusOr<KeyRecord> LocalKeyBackend::MakeKey(Algorithm alg, absl::Time now) const {
  absl::StatusOr<std::unique_ptr<SigningKey>> key = SigningKey::Generate(alg);
  if (!key.ok()) return key.status();
  KeyRecord record;
  record.kid = (*key)->kid();
  record.algorithm = alg;
  record.state = KeyState::kPending;
  record.created_at = now;
  if (alg != Algorithm::kHS256) {
    absl::StatusOr<std::string> jwk = ToJwk(*(*key)->verify_key());
    if (!jwk.ok()) return jwk.status();
    record.public_jwk = *std::move(jwk);
  }
  std::string secret = (*key)->PrivateBytes();
  absl::StatusOr<std::string> sealed = envelope_.Seal(secret, SealedKeyAssociatedData(record.kid));
  OPENSSL_cleanse(secret.data(), secret.size());
  if (!sealed.ok()) return sealed.status();
  record.sealed_private = *std::move(sealed);
  return record;
}

absl::StatusOr<std::unique_ptr<SigningKey>> LocalKeyBackend::OpenKey(
    const KeyRecord& record) const {
  absl::StatusOr<std::string> secret =
      envelope_.Open(record.sealed_private, SealedKeyAssociatedData(record.kid));
  if (!secret.ok()) {
    return absl::Status(secret.status().code(),
                        absl::StrCat("its private key does not open: ", secret.status().message()));
  }
  absl::StatusOr<std::unique_ptr<SigningKey>> parsed =
      SigningKey::FromPrivateBytes(record.algorithm, record.kid, *secret);
  OPENSSL_cleanse(secret->data(), secret->size());
  if (!parsed.ok()) {
    return absl::DataLossError(
        absl::StrCat("its private key is invalid: ", parsed.status().message()));
  }
  if (absl::Status s = CheckPublicKey(record, (*parsed)->verify_key().get()); !s.ok()) return s;
  return parsed;
}

}  // namespace signet::server
