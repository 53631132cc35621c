#include "server/store/key_record_authenticator.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <cstdint>
#include <memory>
#include <utility>

#include "server/store/internal/store_rules.h"
#include "token/openssl/openssl_ptr.h"

namespace signet::server {
namespace {

constexpr char kMacKeyLabel[] = "signet key-record mac v1";
constexpr char kDomainLabel[] = "signet key record v1";
constexpr size_t kTagSize = 32;

void AppendU64(uint64_t value, std::string* out) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((value >> shift) & 0xff));
  }
}

void AppendField(std::string_view field, std::string* out) {
  AppendU64(field.size(), out);
  out->append(field.data(), field.size());
}

void AppendTime(absl::Time t, std::string* out) {
  AppendU64(static_cast<uint64_t>(internal::ToStoredMicros(t)), out);
}

// The covered bytes, as the header comment lays them out. Holds the sealed (never the opened)
// private key, so it is not secret.
std::string Encode(const KeyRecord& record) {
  std::string out(kDomainLabel);
  AppendField(record.kid, &out);
  AppendU64(static_cast<uint64_t>(record.algorithm), &out);
  AppendField(record.public_jwk, &out);
  AppendU64(static_cast<uint64_t>(record.state), &out);
  AppendTime(record.created_at, &out);
  AppendTime(record.activated_at, &out);
  AppendTime(record.retired_at, &out);
  AppendTime(record.revoked_at, &out);
  AppendField(record.revoke_reason, &out);
  AppendField(record.sealed_private, &out);
  return out;
}

}  // namespace

std::string SealedKeyAssociatedData(std::string_view kid) {
  // The label ends in a NUL byte, which no kid starts with after it: label and kid cannot blur.
  std::string associated("signet sealed key v2", 20);
  associated.push_back('\0');
  associated.append(kid.data(), kid.size());
  return associated;
}

absl::StatusOr<KeyRecordAuthenticator> KeyRecordAuthenticator::Create(const Envelope& envelope) {
  absl::StatusOr<std::string> key = envelope.DeriveKey(kMacKeyLabel);
  if (!key.ok()) return key.status();
  absl::StatusOr<GuardedSecret> guarded = GuardedSecret::Copy(*key);
  OPENSSL_cleanse(key->data(), key->size());
  if (!guarded.ok()) return guarded.status();
  return KeyRecordAuthenticator(*std::move(guarded));
}

absl::StatusOr<std::string> KeyRecordAuthenticator::Tag(const KeyRecord& record) const {
  EvpMacPtr mac(EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr));
  if (mac == nullptr) return absl::InternalError("HMAC is not available in OpenSSL");
  EvpMacCtxPtr ctx(EVP_MAC_CTX_new(mac.get()));
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  const std::string message = Encode(record);
  std::string tag(kTagSize, '\0');
  size_t size = 0;
  if (ctx == nullptr ||
      EVP_MAC_init(ctx.get(), reinterpret_cast<const unsigned char*>(key_.view().data()),
                   key_.view().size(), params) != 1 ||
      EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(message.data()),
                     message.size()) != 1 ||
      EVP_MAC_final(ctx.get(), reinterpret_cast<unsigned char*>(tag.data()), &size, tag.size()) !=
          1 ||
      size != kTagSize) {
    return absl::InternalError("HMAC-SHA256 of a key record failed");
  }
  return tag;
}

absl::Status KeyRecordAuthenticator::Verify(const KeyRecord& record) const {
  if (record.mac.empty()) {
    return absl::FailedPreconditionError("the key record carries no authentication tag");
  }
  absl::StatusOr<std::string> expected = Tag(record);
  if (!expected.ok()) return expected.status();
  if (record.mac.size() != expected->size() ||
      CRYPTO_memcmp(record.mac.data(), expected->data(), expected->size()) != 0) {
    return absl::PermissionDeniedError(
        "the key record's authentication tag does not match: it was written or changed without "
        "this key-encryption key");
  }
  return absl::OkStatus();
}

}  // namespace signet::server
