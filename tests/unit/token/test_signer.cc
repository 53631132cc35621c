#include "tests/unit/token/test_signer.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <sodium.h>

#include <cstdlib>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "signet/base64url.h"

namespace signet::testing {

std::string B64(std::string_view encoded) {
  std::string out;
  EXPECT_TRUE(Base64UrlDecode(encoded, &out)) << encoded;
  return out;
}
namespace {

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

void Check(bool ok, const char* what) {
  if (!ok) {
    std::cerr << "test signer: " << what << " failed\n";
    std::abort();
  }
}

std::string BnToFixed(const BIGNUM* bn) {
  std::string out(32, '\0');
  Check(BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), 32) == 32, "BN_bn2binpad");
  return out;
}

}  // namespace

struct TestSigner::Impl {
  std::string ed25519_secret;  // 64 bytes (seed || public key), libsodium's layout.
  EVP_PKEY* p256 = nullptr;
  std::string hmac_secret;
  ~Impl() { EVP_PKEY_free(p256); }
};

TestSigner::TestSigner(Algorithm algorithm, std::unique_ptr<Impl> impl, std::string public_bytes)
    : algorithm_(algorithm), impl_(std::move(impl)), public_bytes_(std::move(public_bytes)) {}
TestSigner::TestSigner(TestSigner&&) noexcept = default;
TestSigner& TestSigner::operator=(TestSigner&&) noexcept = default;
TestSigner::~TestSigner() = default;

TestSigner TestSigner::Ed25519() {
  Check(sodium_init() >= 0, "sodium_init");
  unsigned char pk[crypto_sign_PUBLICKEYBYTES];
  unsigned char sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_keypair(pk, sk);
  auto impl = std::make_unique<Impl>();
  impl->ed25519_secret.assign(reinterpret_cast<char*>(sk), sizeof(sk));
  return TestSigner(Algorithm::kEdDSA, std::move(impl),
                    std::string(reinterpret_cast<char*>(pk), sizeof(pk)));
}

TestSigner TestSigner::P256() {
  EVP_PKEY* pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  Check(pkey != nullptr, "EVP_PKEY_Q_keygen");
  BIGNUM* x = nullptr;
  BIGNUM* y = nullptr;
  Check(EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x) == 1, "get x");
  Check(EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y) == 1, "get y");
  std::string public_bytes = BnToFixed(x) + BnToFixed(y);
  BN_free(x);
  BN_free(y);
  auto impl = std::make_unique<Impl>();
  impl->p256 = pkey;
  return TestSigner(Algorithm::kES256, std::move(impl), std::move(public_bytes));
}

TestSigner TestSigner::Hmac(std::string secret) {
  auto impl = std::make_unique<Impl>();
  impl->hmac_secret = std::move(secret);
  return TestSigner(Algorithm::kHS256, std::move(impl), std::string());
}

std::string TestSigner::Sign(std::string_view signing_input) const {
  switch (algorithm_) {
    case Algorithm::kEdDSA: {
      unsigned char sig[crypto_sign_BYTES];
      crypto_sign_detached(sig, nullptr, Bytes(signing_input), signing_input.size(),
                           Bytes(impl_->ed25519_secret));
      return std::string(reinterpret_cast<char*>(sig), sizeof(sig));
    }
    case Algorithm::kES256: {
      EVP_MD_CTX* ctx = EVP_MD_CTX_new();
      Check(EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, impl_->p256) == 1, "init");
      size_t der_len = 0;
      Check(EVP_DigestSign(ctx, nullptr, &der_len, Bytes(signing_input), signing_input.size()) == 1,
            "sign size");
      std::string der(der_len, '\0');
      Check(EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(der.data()), &der_len,
                           Bytes(signing_input), signing_input.size()) == 1,
            "sign");
      EVP_MD_CTX_free(ctx);
      const unsigned char* p = Bytes(der);
      ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_len));
      Check(sig != nullptr, "d2i_ECDSA_SIG");
      // Low-s, as verifiers require: s > n/2 becomes n - s.
      EC_GROUP* group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
      Check(group != nullptr, "EC_GROUP_new_by_curve_name");
      BIGNUM* s = BN_dup(ECDSA_SIG_get0_s(sig));
      BIGNUM* half = BN_dup(EC_GROUP_get0_order(group));
      Check(s != nullptr && half != nullptr && BN_rshift1(half, half) == 1, "half order");
      if (BN_cmp(s, half) > 0) Check(BN_sub(s, EC_GROUP_get0_order(group), s) == 1, "n - s");
      std::string raw = BnToFixed(ECDSA_SIG_get0_r(sig)) + BnToFixed(s);
      BN_free(half);
      BN_free(s);
      EC_GROUP_free(group);
      ECDSA_SIG_free(sig);
      return raw;
    }
    case Algorithm::kHS256:
      return HmacSha256(impl_->hmac_secret, signing_input);
  }
  std::abort();
}

std::shared_ptr<const VerifyKey> TestSigner::VerifyKeyFor(std::string kid) const {
  absl::StatusOr<std::shared_ptr<const VerifyKey>> key;
  switch (algorithm_) {
    case Algorithm::kEdDSA:
      key = VerifyKey::Ed25519(std::move(kid), public_bytes_);
      break;
    case Algorithm::kES256:
      key = VerifyKey::P256(std::move(kid), std::string_view(public_bytes_).substr(0, 32),
                            std::string_view(public_bytes_).substr(32));
      break;
    case Algorithm::kHS256:
      key = VerifyKey::HmacSha256(std::move(kid), impl_->hmac_secret);
      break;
  }
  Check(key.ok(), "VerifyKeyFor");
  return *key;
}

std::string TestSigner::Token(std::string_view header_json, std::string_view payload_json) const {
  std::string input = SigningInput(header_json, payload_json);
  return absl::StrCat(input, ".", Base64UrlEncode(Sign(input)));
}

std::string SigningInput(std::string_view header_json, std::string_view payload_json) {
  return absl::StrCat(Base64UrlEncode(header_json), ".", Base64UrlEncode(payload_json));
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, Bytes(key), key.size());
  crypto_auth_hmacsha256_update(&state, Bytes(data), data.size());
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_final(&state, mac);
  return std::string(reinterpret_cast<char*>(mac), sizeof(mac));
}

}  // namespace signet::testing
