#include "server/keys/pkcs11/pkcs11_key_backend.h"

#include <openssl/rand.h>

#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "signet/base64url.h"
#include "signet/jwk.h"
#include "token/signing/delegated_signing_key.h"

namespace signet::server {
namespace {

// Labels of the objects this backend makes: "signet", the fleet's KEK fingerprint (so that fleets
// sharing one token never take each other's keys for orphans), then the Unix time they were made.
constexpr char kLabelPrefix[] = "signet ";
// Ids of objects not yet given their kid.
constexpr char kTemporaryIdPrefix[] = "signet-new-";
constexpr char kProbe[] = "signet key probe";

absl::StatusOr<std::string> RandomBase64Url(size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1) {
    return absl::InternalError("no randomness for a key id");
  }
  return Base64UrlEncode(raw);
}

// An HS256 key whose secret stays in the token: each MAC is checked there. A token that cannot
// answer makes the MAC count as wrong, so the token is never accepted, and marks the thread, so
// that ValidateToken answers UNAVAILABLE instead of BAD_SIGNATURE.
class TokenHmacVerifyKey final : public VerifyKey {
 public:
  TokenHmacVerifyKey(std::string kid, std::shared_ptr<Pkcs11Token> token)
      : VerifyKey(std::move(kid), Algorithm::kHS256), token_(std::move(token)) {}

  bool Verify(std::string_view signing_input, std::string_view signature) const override {
    absl::StatusOr<bool> ok = token_->VerifyHmac(kid(), signing_input, signature);
    if (!ok.ok()) MarkBackendUnavailableOnThisThread();
    return ok.ok() && *ok;
  }
  std::string PublicBytes() const override { return {}; }

 private:
  const std::shared_ptr<Pkcs11Token> token_;
};

}  // namespace

Pkcs11KeyBackend::Pkcs11KeyBackend(std::shared_ptr<Pkcs11Token> token, const Envelope* envelope)
    : token_(std::move(token)),
      local_(envelope),
      label_prefix_(absl::StrCat(kLabelPrefix, envelope->fingerprint(), " ")) {}

absl::StatusOr<KeyRecord> Pkcs11KeyBackend::MakeKey(Algorithm alg, absl::Time now) const {
  absl::StatusOr<std::string> nonce = RandomBase64Url(16);
  if (!nonce.ok()) return nonce.status();
  const std::string temporary = absl::StrCat(kTemporaryIdPrefix, *nonce);
  const std::string label = absl::StrCat(label_prefix_, absl::ToUnixSeconds(now));
  absl::StatusOr<std::string> public_key = token_->Generate(alg, temporary, label);
  if (!public_key.ok()) return public_key.status();

  KeyRecord record;
  record.algorithm = alg;
  record.state = KeyState::kPending;
  record.created_at = now;
  record.sealed_private = kReference;
  absl::Status made = absl::OkStatus();
  if (alg == Algorithm::kHS256) {
    absl::StatusOr<std::string> kid = RandomBase64Url(16);
    if (kid.ok()) record.kid = *kid;
    made = kid.status();
  } else {
    absl::StatusOr<std::string> kid = JwkThumbprint(alg, *public_key);
    absl::StatusOr<std::shared_ptr<const VerifyKey>> verify =
        !kid.ok() ? absl::StatusOr<std::shared_ptr<const VerifyKey>>(kid.status())
        : alg == Algorithm::kEdDSA
            ? VerifyKey::Ed25519(*kid, *public_key)
            : VerifyKey::P256(*kid, public_key->substr(0, 32), public_key->substr(32));
    absl::StatusOr<std::string> jwk =
        verify.ok() ? ToJwk(**verify) : absl::StatusOr<std::string>(verify.status());
    if (jwk.ok()) {
      record.kid = *kid;
      record.public_jwk = *std::move(jwk);
    }
    made = jwk.status();
  }
  if (made.ok()) made = token_->Rename(temporary, record.kid);
  if (!made.ok()) {
    (void)token_->Destroy(temporary);  // Else CollectOrphans will.
    return made;
  }
  return record;
}

absl::StatusOr<std::unique_ptr<SigningKey>> Pkcs11KeyBackend::OpenKey(
    const KeyRecord& record) const {
  if (record.sealed_private != kReference) return local_.OpenKey(record);
  std::shared_ptr<const VerifyKey> verify;
  if (record.algorithm == Algorithm::kHS256) {
    if (absl::Status s = CheckPublicKey(record, nullptr); !s.ok()) return s;
    verify = std::make_shared<TokenHmacVerifyKey>(record.kid, token_);
  } else {
    if (absl::Status s = CheckPublicKey(record, nullptr); !s.ok()) return s;
    absl::StatusOr<std::shared_ptr<const VerifyKey>> parsed = ParseJwk(record.public_jwk);
    if (!parsed.ok()) return parsed.status();
    verify = *std::move(parsed);
  }
  std::unique_ptr<SigningKey> key = DelegatedSigningKey::Create(
      verify,
      [token = token_, alg = record.algorithm,
       kid = record.kid](std::string_view input) -> absl::StatusOr<std::string> {
        absl::StatusOr<std::string> sig = token->Sign(alg, kid, input);
        // A caller's RPC must not read NOT_FOUND for the server's own missing key.
        if (sig.status().code() == absl::StatusCode::kNotFound) {
          return absl::FailedPreconditionError(absl::StrCat(
              "signing key ", kid, " is missing from the PKCS#11 token: ", sig.status().message()));
        }
        return sig;
      });
  absl::StatusOr<std::string> probe = key->Sign(kProbe);
  if (!probe.ok()) {
    return absl::Status(probe.status().code(), absl::StrCat("its key in the token does not sign: ",
                                                            probe.status().message()));
  }
  if (!verify->Verify(kProbe, *probe)) {
    return absl::InvalidArgumentError(
        "the token's key with this kid does not match the row's public key");
  }
  return key;
}

absl::StatusOr<std::shared_ptr<const VerifyKey>> Pkcs11KeyBackend::OpenVerifyKey(
    const KeyRecord& record) const {
  if (record.sealed_private == kReference && record.algorithm == Algorithm::kHS256) {
    return std::make_shared<TokenHmacVerifyKey>(record.kid, token_);
  }
  return KeyBackend::OpenVerifyKey(record);
}

absl::Status Pkcs11KeyBackend::Forget(const KeyRecord& record) const {
  if (record.sealed_private != kReference) return absl::OkStatus();
  return token_->Destroy(record.kid);
}

absl::StatusOr<int> Pkcs11KeyBackend::CollectOrphans(const std::vector<KeyRecord>& stored,
                                                     absl::Time made_before) const {
  absl::StatusOr<std::vector<Pkcs11Token::KeyObject>> objects = token_->ListKeys();
  if (!objects.ok()) return objects.status();
  absl::flat_hash_set<std::string> named;
  for (const KeyRecord& record : stored) named.insert(record.kid);
  int destroyed = 0;
  for (const Pkcs11Token::KeyObject& object : *objects) {
    absl::string_view label = object.label;
    int64_t made = 0;
    // Objects this fleet did not make (other labels) are never touched.
    if (!absl::ConsumePrefix(&label, label_prefix_) || !absl::SimpleAtoi(label, &made)) continue;
    if (named.contains(object.id) || absl::FromUnixSeconds(made) >= made_before) continue;
    if (absl::Status s = token_->Destroy(object.id); !s.ok()) return s;
    ++destroyed;
  }
  return destroyed;
}

}  // namespace signet::server
