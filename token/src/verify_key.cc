#include "signet/verify_key.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/params.h>
#include <sodium.h>

#include <cstring>

#include "absl/status/status.h"
#include "internal/crypto_util.h"
#include "internal/ecdsa_low_s.h"
#include "internal/hmac_sha256.h"

namespace signet {
namespace {

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

absl::Status CheckKid(const std::string& kid) {
  if (kid.empty()) return absl::InvalidArgumentError("a key needs a non-empty kid");
  return absl::OkStatus();
}

class Ed25519Key final : public VerifyKey {
 public:
  Ed25519Key(std::string kid, std::string_view public_key)
      : VerifyKey(std::move(kid), Algorithm::kEdDSA) {
    std::memcpy(public_key_, public_key.data(), sizeof(public_key_));
  }

  bool Verify(std::string_view signing_input, std::string_view signature) const override {
    if (signature.size() != crypto_sign_BYTES) return false;
    return crypto_sign_verify_detached(Bytes(signature), Bytes(signing_input), signing_input.size(),
                                       public_key_) == 0;
  }

  std::string PublicBytes() const override {
    return std::string(reinterpret_cast<const char*>(public_key_), sizeof(public_key_));
  }

 private:
  unsigned char public_key_[crypto_sign_PUBLICKEYBYTES];
};

class P256Key final : public VerifyKey {
 public:
  P256Key(std::string kid, EvpPkeyPtr pkey, std::string public_bytes)
      : VerifyKey(std::move(kid), Algorithm::kES256),
        pkey_(std::move(pkey)),
        public_bytes_(std::move(public_bytes)) {}

  bool Verify(std::string_view signing_input, std::string_view signature) const override {
    if (signature.size() != 64) return false;
    // (r, n - s) is the same signature rewritten without the key: only low-s is signet's.
    if (internal::IsHighS(Bytes(signature) + 32)) return false;
    const bool ok = VerifyRaw(signing_input, signature);
    // Leave no failure on this thread's OpenSSL error queue for unrelated code to find.
    if (!ok) ERR_clear_error();
    return ok;
  }

  std::string PublicBytes() const override { return public_bytes_; }

 private:
  bool VerifyRaw(std::string_view signing_input, std::string_view signature) const {
    // JWS carries r||s; OpenSSL wants DER. Range checks on r and s (0 < r,s < n) are OpenSSL's.
    BignumPtr r(BN_bin2bn(Bytes(signature), 32, nullptr));
    BignumPtr s(BN_bin2bn(Bytes(signature) + 32, 32, nullptr));
    EcdsaSigPtr sig(ECDSA_SIG_new());
    if (r == nullptr || s == nullptr || sig == nullptr) return false;
    if (ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) return false;
    r.release();  // Owned by sig now.
    s.release();
    // Two 33-byte INTEGERs in a SEQUENCE: at most 72 bytes.
    unsigned char der[80];
    if (i2d_ECDSA_SIG(sig.get(), nullptr) > static_cast<int>(sizeof(der))) return false;
    unsigned char* end = der;
    const int der_len = i2d_ECDSA_SIG(sig.get(), &end);
    if (der_len <= 0) return false;

    EvpMdCtxPtr ctx(EVP_MD_CTX_new());
    if (ctx == nullptr) return false;
    if (EVP_DigestVerifyInit(ctx.get(), nullptr, internal::Sha256Md(), nullptr, pkey_.get()) != 1) {
      return false;
    }
    return EVP_DigestVerify(ctx.get(), der, static_cast<size_t>(der_len), Bytes(signing_input),
                            signing_input.size()) == 1;
  }

  // Read-only after construction, so one EVP_PKEY serves every thread.
  const EvpPkeyPtr pkey_;
  const std::string public_bytes_;
};

class HmacSha256Key final : public VerifyKey {
 public:
  HmacSha256Key(std::string kid, std::unique_ptr<const internal::HmacSha256> mac)
      : VerifyKey(std::move(kid), Algorithm::kHS256), mac_(std::move(mac)) {}

  bool Verify(std::string_view signing_input, std::string_view signature) const override {
    return mac_->Matches(signing_input, signature);
  }

  std::string PublicBytes() const override { return std::string(); }

 private:
  // OpenSSL's SHA-256 (SHA extensions where the CPU has them) on the keyed states made once.
  const std::unique_ptr<const internal::HmacSha256> mac_;
};

}  // namespace

absl::StatusOr<std::shared_ptr<const VerifyKey>> VerifyKey::Ed25519(std::string kid,
                                                                    std::string_view public_key) {
  if (absl::Status s = CheckKid(kid); !s.ok()) return s;
  if (!internal::EnsureSodium()) return absl::InternalError("libsodium failed to initialise");
  if (public_key.size() != crypto_sign_PUBLICKEYBYTES) {
    return absl::InvalidArgumentError("an Ed25519 public key is 32 bytes");
  }
  // Refuses non-canonical encodings and small-order points, which no honest key is.
  if (crypto_core_ed25519_is_valid_point(Bytes(public_key)) != 1) {
    return absl::InvalidArgumentError("not a valid Ed25519 public key");
  }
  return std::make_shared<const Ed25519Key>(std::move(kid), public_key);
}

absl::StatusOr<std::shared_ptr<const VerifyKey>> VerifyKey::P256(std::string kid,
                                                                 std::string_view x,
                                                                 std::string_view y) {
  if (absl::Status s = CheckKid(kid); !s.ok()) return s;
  if (x.size() != 32 || y.size() != 32) {
    return absl::InvalidArgumentError("P-256 coordinates are 32 bytes each");
  }
  unsigned char point[65];
  point[0] = 0x04;  // Uncompressed SEC1 encoding.
  std::memcpy(point + 1, x.data(), 32);
  std::memcpy(point + 33, y.data(), 32);
  char group[] = "prime256v1";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)),
      OSSL_PARAM_construct_end(),
  };
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* raw = nullptr;
  if (ctx == nullptr || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError("not a P-256 public key (the point is not on the curve)");
  }
  EvpPkeyPtr pkey(raw);
  EvpPkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (check == nullptr || EVP_PKEY_public_check(check.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError("not a P-256 public key (the point is not on the curve)");
  }
  if (internal::Sha256Md() == nullptr) return absl::InternalError("SHA-256 is unavailable");
  std::string public_bytes;
  public_bytes.reserve(64);
  public_bytes.append(x).append(y);
  return std::make_shared<const P256Key>(std::move(kid), std::move(pkey), std::move(public_bytes));
}

absl::StatusOr<std::shared_ptr<const VerifyKey>> VerifyKey::HmacSha256(std::string kid,
                                                                       std::string_view secret) {
  if (absl::Status s = CheckKid(kid); !s.ok()) return s;
  if (secret.size() < 32) {
    return absl::InvalidArgumentError("an HMAC-SHA256 secret is at least 32 bytes");
  }
  std::unique_ptr<const internal::HmacSha256> mac = internal::HmacSha256::Create(secret);
  if (mac == nullptr) return absl::InternalError("HMAC-SHA256 key set-up failed");
  return std::make_shared<const HmacSha256Key>(std::move(kid), std::move(mac));
}

}  // namespace signet
