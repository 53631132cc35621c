#include "token/signing/signing_key.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <sodium.h>

#include <algorithm>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "signet/base64url.h"
#include "signet/jwk.h"
#include "token/signing/ecdsa_signature.h"
#include "token/src/internal/hmac_sha256.h"

namespace signet::server {
namespace {

constexpr size_t kEd25519SeedBytes = crypto_sign_SEEDBYTES;         // 32
constexpr size_t kEd25519SecretBytes = crypto_sign_SECRETKEYBYTES;  // 64: seed || public key
constexpr size_t kEd25519PublicBytes = crypto_sign_PUBLICKEYBYTES;  // 32
constexpr size_t kP256ScalarBytes = 32;
constexpr size_t kP256PointBytes = 1 + 2 * kP256ScalarBytes;  // 0x04 || x || y
constexpr size_t kHmacSecretBytes = 32;
constexpr size_t kHmacKidBytes = 16;

// Fixed-size secret bytes, wiped when they go out of scope.
template <size_t N>
struct SecretBytes {
  SecretBytes() = default;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  ~SecretBytes() { sodium_memzero(bytes, N); }

  unsigned char* data() { return bytes; }
  const unsigned char* data() const { return bytes; }
  static constexpr size_t size() { return N; }
  std::string_view view() const { return {reinterpret_cast<const char*>(bytes), N}; }

  unsigned char bytes[N] = {};
};

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

absl::Status SodiumReady() {
  // sodium_init is idempotent and thread-safe; this runs it once.
  static const bool ready = sodium_init() >= 0;
  if (!ready) return absl::InternalError("libsodium failed to initialise");
  return absl::OkStatus();
}

absl::Status RandomBytes(unsigned char* out, size_t n) {
  if (RAND_bytes(out, static_cast<int>(n)) != 1) {
    return absl::InternalError("the OS random generator failed");
  }
  return absl::OkStatus();
}

// The kid of a public key, checked against the kid the caller expects (when rebuilding a stored
// key). Neither message names private material.
absl::StatusOr<std::string> CheckedThumbprint(Algorithm alg, std::string_view public_bytes,
                                              const std::optional<std::string_view>& expected) {
  absl::StatusOr<std::string> kid = JwkThumbprint(alg, public_bytes);
  if (!kid.ok()) return kid.status();
  if (expected.has_value() && *expected != *kid) {
    return absl::InvalidArgumentError(
        "the private key bytes do not belong to this kid (thumbprint mismatch)");
  }
  return kid;
}

// ---------------------------------------------------------------------------------------------
// EdDSA (libsodium).

class Ed25519SigningKey final : public SigningKey {
 public:
  Ed25519SigningKey(std::shared_ptr<const VerifyKey> verify_key,
                    const SecretBytes<kEd25519SecretBytes>& secret_key)
      : SigningKey(std::move(verify_key)) {
    std::copy(secret_key.bytes, secret_key.bytes + kEd25519SecretBytes, secret_key_.bytes);
  }

  absl::StatusOr<std::string> Sign(std::string_view signing_input) const override {
    std::string signature(crypto_sign_BYTES, '\0');
    if (crypto_sign_detached(reinterpret_cast<unsigned char*>(signature.data()), nullptr,
                             Bytes(signing_input), signing_input.size(), secret_key_.data()) != 0) {
      return absl::InternalError("Ed25519 signing failed");
    }
    return signature;
  }

  std::string PrivateBytes() const override {
    SecretBytes<kEd25519SeedBytes> seed;
    crypto_sign_ed25519_sk_to_seed(seed.data(), secret_key_.data());
    return std::string(seed.view());
  }

 private:
  SecretBytes<kEd25519SecretBytes> secret_key_;
};

absl::StatusOr<std::unique_ptr<SigningKey>> Ed25519FromSeed(
    const unsigned char* seed, const std::optional<std::string_view>& expected_kid) {
  if (absl::Status s = SodiumReady(); !s.ok()) return s;
  unsigned char public_key[kEd25519PublicBytes];
  SecretBytes<kEd25519SecretBytes> secret_key;
  if (crypto_sign_seed_keypair(public_key, secret_key.data(), seed) != 0) {
    return absl::InternalError("Ed25519 key derivation failed");
  }
  std::string_view public_bytes(reinterpret_cast<const char*>(public_key), sizeof(public_key));
  absl::StatusOr<std::string> kid =
      CheckedThumbprint(Algorithm::kEdDSA, public_bytes, expected_kid);
  if (!kid.ok()) return kid.status();
  absl::StatusOr<std::shared_ptr<const VerifyKey>> verify_key =
      VerifyKey::Ed25519(*std::move(kid), public_bytes);
  if (!verify_key.ok()) return verify_key.status();
  return std::make_unique<Ed25519SigningKey>(*std::move(verify_key), secret_key);
}

// ---------------------------------------------------------------------------------------------
// ES256 (OpenSSL 3 EVP).

class P256SigningKey final : public SigningKey {
 public:
  P256SigningKey(std::shared_ptr<const VerifyKey> verify_key, EvpPkeyPtr pkey, EvpMdPtr sha256)
      : SigningKey(std::move(verify_key)), pkey_(std::move(pkey)), sha256_(std::move(sha256)) {}

  absl::StatusOr<std::string> Sign(std::string_view signing_input) const override {
    // One EVP_MD_CTX per call: the shared EVP_PKEY is only read, so Sign is thread-safe.
    EvpMdCtxPtr ctx(EVP_MD_CTX_new());
    unsigned char der[128];
    size_t der_len = sizeof(der);
    if (ctx == nullptr ||
        EVP_DigestSignInit(ctx.get(), nullptr, sha256_.get(), nullptr, pkey_.get()) != 1 ||
        EVP_DigestSign(ctx.get(), der, &der_len, Bytes(signing_input), signing_input.size()) != 1) {
      return absl::InternalError("ECDSA P-256 signing failed");
    }
    // JWS wants raw r||s (RFC 7518 section 3.4), each left-padded to 32 bytes, not DER.
    const unsigned char* p = der;
    EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_len)));
    if (sig == nullptr) return absl::InternalError("ECDSA P-256 signature is not DER");
    const BIGNUM* r = nullptr;
    const BIGNUM* s = nullptr;
    ECDSA_SIG_get0(sig.get(), &r, &s);
    std::string raw(2 * kP256ScalarBytes, '\0');
    unsigned char* out = reinterpret_cast<unsigned char*>(raw.data());
    if (BN_bn2binpad(r, out, kP256ScalarBytes) != static_cast<int>(kP256ScalarBytes) ||
        BN_bn2binpad(s, out + kP256ScalarBytes, kP256ScalarBytes) !=
            static_cast<int>(kP256ScalarBytes)) {
      return absl::InternalError("ECDSA P-256 signature component out of range");
    }
    // Verifiers (signet's own included) refuse high-s: sign (r, n - s) instead, which is the
    // same signature in its one accepted form.
    if (absl::Status low = ToLowS(&raw); !low.ok()) return low;
    return raw;
  }

  std::string PrivateBytes() const override {
    BIGNUM* raw = nullptr;
    if (EVP_PKEY_get_bn_param(pkey_.get(), OSSL_PKEY_PARAM_PRIV_KEY, &raw) != 1) return {};
    SecretBignumPtr priv(raw);
    SecretBytes<kP256ScalarBytes> scalar;
    if (BN_bn2binpad(priv.get(), scalar.data(), scalar.size()) !=
        static_cast<int>(kP256ScalarBytes)) {
      return {};
    }
    return std::string(scalar.view());
  }

 private:
  const EvpPkeyPtr pkey_;
  // Fetched once: EVP_sha256() would look the implementation up again on every Sign.
  const EvpMdPtr sha256_;
};

absl::StatusOr<std::unique_ptr<SigningKey>> P256FromScalar(
    const unsigned char* scalar, const std::optional<std::string_view>& expected_kid) {
  EcGroupPtr group(EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1));
  BnCtxPtr bn_ctx(BN_CTX_new());
  SecretBignumPtr priv(BN_secure_new());
  if (group == nullptr || bn_ctx == nullptr || priv == nullptr ||
      BN_bin2bn(scalar, kP256ScalarBytes, priv.get()) == nullptr) {
    return absl::InternalError("OpenSSL allocation failed");
  }
  if (BN_is_zero(priv.get()) || BN_cmp(priv.get(), EC_GROUP_get0_order(group.get())) >= 0) {
    return absl::InvalidArgumentError("P-256 private scalar is out of range");
  }

  // The public point is derived, never taken from storage: it cannot disagree with the scalar.
  EcPointPtr point(EC_POINT_new(group.get()));
  unsigned char encoded[kP256PointBytes];
  if (point == nullptr ||
      EC_POINT_mul(group.get(), point.get(), priv.get(), nullptr, nullptr, bn_ctx.get()) != 1 ||
      EC_POINT_point2oct(group.get(), point.get(), POINT_CONVERSION_UNCOMPRESSED, encoded,
                         sizeof(encoded), bn_ctx.get()) != sizeof(encoded)) {
    return absl::InternalError("P-256 public key derivation failed");
  }
  std::string_view x(reinterpret_cast<const char*>(encoded + 1), kP256ScalarBytes);
  std::string_view y(reinterpret_cast<const char*>(encoded + 1 + kP256ScalarBytes),
                     kP256ScalarBytes);
  std::string public_bytes = std::string(x) + std::string(y);

  absl::StatusOr<std::string> kid =
      CheckedThumbprint(Algorithm::kES256, public_bytes, expected_kid);
  if (!kid.ok()) return kid.status();

  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (bld == nullptr ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, SN_X9_62_prime256v1,
                                      0) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, priv.get()) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, encoded,
                                       sizeof(encoded)) != 1) {
    return absl::InternalError("OpenSSL parameter building failed");
  }
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* raw_pkey = nullptr;
  if (params == nullptr || ctx == nullptr || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw_pkey, EVP_PKEY_KEYPAIR, params.get()) != 1) {
    return absl::InternalError("P-256 key import failed");
  }
  EvpPkeyPtr pkey(raw_pkey);
  EvpMdPtr sha256(EVP_MD_fetch(nullptr, "SHA256", nullptr));
  if (sha256 == nullptr) return absl::InternalError("SHA-256 is unavailable");

  absl::StatusOr<std::shared_ptr<const VerifyKey>> verify_key =
      VerifyKey::P256(*std::move(kid), x, y);
  if (!verify_key.ok()) return verify_key.status();
  return std::make_unique<P256SigningKey>(*std::move(verify_key), std::move(pkey),
                                          std::move(sha256));
}

absl::StatusOr<std::unique_ptr<SigningKey>> GenerateP256() {
  EvpPkeyPtr pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (pkey == nullptr) return absl::InternalError("P-256 key generation failed");
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(pkey.get(), OSSL_PKEY_PARAM_PRIV_KEY, &raw) != 1) {
    return absl::InternalError("P-256 key generation failed");
  }
  SecretBignumPtr priv(raw);
  SecretBytes<kP256ScalarBytes> scalar;
  if (BN_bn2binpad(priv.get(), scalar.data(), scalar.size()) !=
      static_cast<int>(kP256ScalarBytes)) {
    return absl::InternalError("P-256 key generation failed");
  }
  // One path for fresh and stored keys: a generated key is exactly what its bytes rebuild.
  return P256FromScalar(scalar.data(), std::nullopt);
}

// ---------------------------------------------------------------------------------------------
// HS256 (HMAC-SHA256 through OpenSSL, keyed states precomputed).

class HmacSigningKey final : public SigningKey {
 public:
  HmacSigningKey(std::shared_ptr<const VerifyKey> verify_key,
                 const SecretBytes<kHmacSecretBytes>& secret,
                 std::unique_ptr<const signet::internal::HmacSha256> mac)
      : SigningKey(std::move(verify_key)), mac_(std::move(mac)) {
    std::copy(secret.bytes, secret.bytes + kHmacSecretBytes, secret_.bytes);
  }

  absl::StatusOr<std::string> Sign(std::string_view signing_input) const override {
    std::string mac(signet::internal::HmacSha256::kBytes, '\0');
    if (!mac_->Compute(signing_input, reinterpret_cast<unsigned char*>(mac.data()))) {
      return absl::InternalError("HMAC-SHA256 failed");
    }
    return mac;
  }

  std::string PrivateBytes() const override { return std::string(secret_.view()); }

 private:
  SecretBytes<kHmacSecretBytes> secret_;
  // The codec's HMAC (OpenSSL SHA-256 on keyed states made once), as the verifying half uses.
  const std::unique_ptr<const signet::internal::HmacSha256> mac_;
};

absl::StatusOr<std::unique_ptr<SigningKey>> HmacFromSecret(
    std::string kid, const SecretBytes<kHmacSecretBytes>& secret) {
  absl::StatusOr<std::shared_ptr<const VerifyKey>> verify_key =
      VerifyKey::HmacSha256(std::move(kid), secret.view());
  if (!verify_key.ok()) return verify_key.status();
  std::unique_ptr<const signet::internal::HmacSha256> mac =
      signet::internal::HmacSha256::Create(secret.view());
  if (mac == nullptr) return absl::InternalError("HMAC-SHA256 key set-up failed");
  return std::make_unique<HmacSigningKey>(*std::move(verify_key), secret, std::move(mac));
}

}  // namespace

absl::StatusOr<std::unique_ptr<SigningKey>> SigningKey::Generate(Algorithm alg) {
  switch (alg) {
    case Algorithm::kEdDSA: {
      SecretBytes<kEd25519SeedBytes> seed;
      if (absl::Status s = SodiumReady(); !s.ok()) return s;
      randombytes_buf(seed.data(), seed.size());
      return Ed25519FromSeed(seed.data(), std::nullopt);
    }
    case Algorithm::kES256:
      return GenerateP256();
    case Algorithm::kHS256: {
      SecretBytes<kHmacSecretBytes> secret;
      unsigned char kid_bits[kHmacKidBytes];
      if (absl::Status s = RandomBytes(secret.data(), secret.size()); !s.ok()) return s;
      if (absl::Status s = RandomBytes(kid_bits, sizeof(kid_bits)); !s.ok()) return s;
      return HmacFromSecret(
          Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(kid_bits), kHmacKidBytes)),
          secret);
    }
  }
  return absl::InvalidArgumentError("unsupported signing algorithm");
}

absl::StatusOr<std::unique_ptr<SigningKey>> SigningKey::FromPrivateBytes(Algorithm alg,
                                                                         std::string_view kid,
                                                                         std::string_view bytes) {
  // Messages give sizes and reasons only: never the bytes themselves.
  switch (alg) {
    case Algorithm::kEdDSA:
      if (bytes.size() != kEd25519SeedBytes) {
        return absl::InvalidArgumentError("an Ed25519 private key is a 32-byte seed");
      }
      return Ed25519FromSeed(Bytes(bytes), kid);
    case Algorithm::kES256:
      if (bytes.size() != kP256ScalarBytes) {
        return absl::InvalidArgumentError("a P-256 private key is a 32-byte scalar");
      }
      return P256FromScalar(Bytes(bytes), kid);
    case Algorithm::kHS256: {
      if (bytes.size() != kHmacSecretBytes) {
        return absl::InvalidArgumentError("an HS256 key is a 32-byte secret");
      }
      if (kid.empty()) return absl::InvalidArgumentError("an HS256 key needs a kid");
      SecretBytes<kHmacSecretBytes> secret;
      std::copy(bytes.begin(), bytes.end(), secret.bytes);
      return HmacFromSecret(std::string(kid), secret);
    }
  }
  return absl::InvalidArgumentError("unsupported signing algorithm");
}

}  // namespace signet::server
