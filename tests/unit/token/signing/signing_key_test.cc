#include "token/signing/signing_key.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>

#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "signet/algorithm.h"
#include "signet/base64url.h"
#include "signet/jwk.h"
#include "signet/key_set.h"
#include "signet/token_verifier.h"
#include "signet/validation_policy.h"
#include "tests/unit/token/signing/rfc8037.h"
#include "tests/unit/token/signing/sample_claims.h"
#include "token/signing/token_signer.h"

namespace signet::server {
namespace {

using ::signet::server::rfc8037::FromB64;
using ::testing::HasSubstr;
using ::testing::Not;

const absl::Time kIssuedAt = absl::FromUnixSeconds(1700000000);

std::string Hex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

std::unique_ptr<SigningKey> MustGenerate(Algorithm alg) {
  absl::StatusOr<std::unique_ptr<SigningKey>> key = SigningKey::Generate(alg);
  EXPECT_TRUE(key.ok()) << key.status();
  return key.ok() ? *std::move(key) : nullptr;
}

TokenClaims Claims() { return testing::SampleClaims(kIssuedAt); }

VerifyResult VerifyWith(const SigningKey& key, std::string_view token) {
  ValidationPolicy policy;
  policy.issuer = "signet";
  absl::StatusOr<TokenVerifier> verifier = TokenVerifier::Create(policy);
  EXPECT_TRUE(verifier.ok()) << verifier.status();
  KeySet keys = KeySet::Builder().Add(key.verify_key()).Build();
  return verifier->Verify(token, keys, nullptr, kIssuedAt + absl::Minutes(1),
                          Audience::Expect("orders"));
}

size_t SignatureSize(Algorithm alg) { return alg == Algorithm::kHS256 ? 32 : 64; }

class EveryAlgorithm : public ::testing::TestWithParam<Algorithm> {};

INSTANTIATE_TEST_SUITE_P(SigningKey, EveryAlgorithm,
                         ::testing::Values(Algorithm::kEdDSA, Algorithm::kES256, Algorithm::kHS256),
                         [](const ::testing::TestParamInfo<Algorithm>& info) {
                           return std::string(AlgorithmName(info.param));
                         });

TEST_P(EveryAlgorithm, GeneratedKeyOwnsItsAlgorithm) {
  std::unique_ptr<SigningKey> key = MustGenerate(GetParam());
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(key->algorithm(), GetParam());
  EXPECT_EQ(key->verify_key()->algorithm(), GetParam());
  EXPECT_EQ(key->verify_key()->kid(), key->kid());
  EXPECT_EQ(key->PrivateBytes().size(), 32u);
}

TEST_P(EveryAlgorithm, SignedTokenPassesTheVerifier) {
  std::unique_ptr<SigningKey> key = MustGenerate(GetParam());
  ASSERT_NE(key, nullptr);
  absl::StatusOr<std::string> token = SignToken(*key, Claims());
  ASSERT_TRUE(token.ok()) << token.status();

  VerifyResult r = VerifyWith(*key, *token);
  EXPECT_EQ(r.reason, Reason::kValid) << ReasonName(r.reason);
  ASSERT_TRUE(r.token.has_value());
  EXPECT_EQ(r.token->subject(), "42");
  EXPECT_EQ(r.token->key_id(), key->kid());
  EXPECT_EQ(r.token->token_id(), "AAECAwQFBgcICQoLDA0ODw");
}

TEST_P(EveryAlgorithm, SignatureHasTheJwsSizeAndVerifies) {
  std::unique_ptr<SigningKey> key = MustGenerate(GetParam());
  ASSERT_NE(key, nullptr);
  absl::StatusOr<std::string> sig = key->Sign("header.payload");
  ASSERT_TRUE(sig.ok()) << sig.status();
  EXPECT_EQ(sig->size(), SignatureSize(GetParam()));
  EXPECT_TRUE(key->verify_key()->Verify("header.payload", *sig));
  EXPECT_FALSE(key->verify_key()->Verify("header.payloaD", *sig));
}

TEST_P(EveryAlgorithm, EveryFlippedSignatureBitFailsToVerify) {
  std::unique_ptr<SigningKey> key = MustGenerate(GetParam());
  ASSERT_NE(key, nullptr);
  absl::StatusOr<std::string> sig = key->Sign("header.payload");
  ASSERT_TRUE(sig.ok()) << sig.status();
  for (size_t bit = 0; bit < sig->size() * 8; ++bit) {
    std::string flipped = *sig;
    flipped[bit / 8] = static_cast<char>(flipped[bit / 8] ^ (1 << (bit % 8)));
    EXPECT_FALSE(key->verify_key()->Verify("header.payload", flipped)) << "bit " << bit;
  }
}

TEST_P(EveryAlgorithm, KeyRebuiltFromItsPrivateBytesIsTheSameKey) {
  std::unique_ptr<SigningKey> key = MustGenerate(GetParam());
  ASSERT_NE(key, nullptr);
  absl::StatusOr<std::unique_ptr<SigningKey>> rebuilt =
      SigningKey::FromPrivateBytes(GetParam(), key->kid(), key->PrivateBytes());
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status();
  EXPECT_EQ((*rebuilt)->kid(), key->kid());
  EXPECT_EQ((*rebuilt)->algorithm(), GetParam());
  EXPECT_EQ((*rebuilt)->PrivateBytes(), key->PrivateBytes());
  EXPECT_EQ((*rebuilt)->verify_key()->PublicBytes(), key->verify_key()->PublicBytes());

  absl::StatusOr<std::string> by_rebuilt = (*rebuilt)->Sign("header.payload");
  absl::StatusOr<std::string> by_original = key->Sign("header.payload");
  ASSERT_TRUE(by_rebuilt.ok() && by_original.ok());
  EXPECT_TRUE(key->verify_key()->Verify("header.payload", *by_rebuilt));
  EXPECT_TRUE((*rebuilt)->verify_key()->Verify("header.payload", *by_original));
  if (GetParam() != Algorithm::kES256) {  // ECDSA signatures are randomised.
    EXPECT_EQ(*by_rebuilt, *by_original);
  }
}

TEST_P(EveryAlgorithm, TwoGeneratedKeysDiffer) {
  std::unique_ptr<SigningKey> a = MustGenerate(GetParam());
  std::unique_ptr<SigningKey> b = MustGenerate(GetParam());
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_NE(a->kid(), b->kid());
  EXPECT_NE(a->PrivateBytes(), b->PrivateBytes());
}

TEST_P(EveryAlgorithm, PrivateBytesOfTheWrongSizeAreRefused) {
  std::unique_ptr<SigningKey> key = MustGenerate(GetParam());
  ASSERT_NE(key, nullptr);
  std::string bytes = key->PrivateBytes();
  for (std::string_view wrong :
       {std::string_view(bytes).substr(0, 31), std::string_view(), std::string_view(bytes + "x")}) {
    absl::StatusOr<std::unique_ptr<SigningKey>> rebuilt =
        SigningKey::FromPrivateBytes(GetParam(), key->kid(), wrong);
    EXPECT_EQ(rebuilt.status().code(), absl::StatusCode::kInvalidArgument) << wrong.size();
  }
}

TEST_P(EveryAlgorithm, SigningFromManyThreadsAtOnceGivesVerifyingSignatures) {
  std::unique_ptr<SigningKey> key = MustGenerate(GetParam());
  ASSERT_NE(key, nullptr);
  constexpr int kThreads = 4;
  constexpr int kSignaturesPerThread = 25;
  std::vector<int> good(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&key, &good, t] {
      for (int i = 0; i < kSignaturesPerThread; ++i) {
        std::string input = "header.payload" + std::to_string(t * 1000 + i);
        absl::StatusOr<std::string> sig = key->Sign(input);
        if (sig.ok() && key->verify_key()->Verify(input, *sig)) ++good[t];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_THAT(good, ::testing::Each(kSignaturesPerThread));
}

TEST(SigningKey, PublicKeyKidIsTheJwkThumbprint) {
  for (Algorithm alg : {Algorithm::kEdDSA, Algorithm::kES256}) {
    std::unique_ptr<SigningKey> key = MustGenerate(alg);
    ASSERT_NE(key, nullptr);
    absl::StatusOr<std::string> thumbprint = JwkThumbprint(alg, key->verify_key()->PublicBytes());
    ASSERT_TRUE(thumbprint.ok()) << thumbprint.status();
    EXPECT_EQ(key->kid(), *thumbprint) << AlgorithmName(alg);
  }
}

TEST(SigningKey, HmacKidIs128RandomBitsInBase64Url) {
  std::unique_ptr<SigningKey> key = MustGenerate(Algorithm::kHS256);
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(key->kid().size(), 22u);
  EXPECT_EQ(FromB64(key->kid()).size(), 16u);
  EXPECT_EQ(key->verify_key()->PublicBytes(), "");
}

TEST(SigningKey, Ed25519SeedOfRfc8037GivesItsPublicKeyKidAndExactSignature) {
  absl::StatusOr<std::unique_ptr<SigningKey>> key =
      SigningKey::FromPrivateBytes(Algorithm::kEdDSA, rfc8037::kKid, FromB64(rfc8037::kSeedB64));
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ((*key)->kid(), rfc8037::kKid);
  EXPECT_EQ((*key)->verify_key()->PublicBytes(), FromB64(rfc8037::kPublicB64));
  EXPECT_EQ((*key)->PrivateBytes(), FromB64(rfc8037::kSeedB64));

  absl::StatusOr<std::string> sig = (*key)->Sign(rfc8037::kSigningInput);
  ASSERT_TRUE(sig.ok()) << sig.status();
  EXPECT_EQ(Base64UrlEncode(*sig), rfc8037::kSignatureB64);
}

TEST(SigningKey, PrivateBytesUnderAnotherKeysKidAreRefused) {
  for (Algorithm alg : {Algorithm::kEdDSA, Algorithm::kES256}) {
    std::unique_ptr<SigningKey> key = MustGenerate(alg);
    std::unique_ptr<SigningKey> other = MustGenerate(alg);
    ASSERT_NE(key, nullptr);
    ASSERT_NE(other, nullptr);
    absl::StatusOr<std::unique_ptr<SigningKey>> rebuilt =
        SigningKey::FromPrivateBytes(alg, other->kid(), key->PrivateBytes());
    EXPECT_EQ(rebuilt.status().code(), absl::StatusCode::kInvalidArgument) << AlgorithmName(alg);
    // The refusal names no secret.
    EXPECT_THAT(std::string(rebuilt.status().message()),
                Not(HasSubstr(Base64UrlEncode(key->PrivateBytes()))));
  }
}

TEST(SigningKey, Ed25519SeedUnderAMadeUpKidIsRefused) {
  absl::StatusOr<std::unique_ptr<SigningKey>> key =
      SigningKey::FromPrivateBytes(Algorithm::kEdDSA, "kid-1", FromB64(rfc8037::kSeedB64));
  EXPECT_EQ(key.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SigningKey, HmacSecretWithoutAKidIsRefused) {
  absl::StatusOr<std::unique_ptr<SigningKey>> key =
      SigningKey::FromPrivateBytes(Algorithm::kHS256, "", std::string(32, 'k'));
  EXPECT_EQ(key.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SigningKey, HmacSecretUnderAnyKidIsAccepted) {
  absl::StatusOr<std::unique_ptr<SigningKey>> key =
      SigningKey::FromPrivateBytes(Algorithm::kHS256, "hmac-1", std::string(32, 'k'));
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ((*key)->kid(), "hmac-1");
  EXPECT_EQ((*key)->PrivateBytes(), std::string(32, 'k'));
}

TEST(SigningKey, HmacSignatureIsOpenSslsHmacSha256OfTheSameBytes) {
  const std::string secret =
      Hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
  absl::StatusOr<std::unique_ptr<SigningKey>> key =
      SigningKey::FromPrivateBytes(Algorithm::kHS256, "hmac-1", secret);
  ASSERT_TRUE(key.ok()) << key.status();
  absl::StatusOr<std::string> mac = (*key)->Sign("header.payload");
  ASSERT_TRUE(mac.ok());

  unsigned char expected[EVP_MAX_MD_SIZE];
  size_t expected_len = 0;
  ASSERT_NE(EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, secret.data(), secret.size(),
                      reinterpret_cast<const unsigned char*>("header.payload"), 14, expected,
                      sizeof(expected), &expected_len),
            nullptr);
  EXPECT_EQ(*mac, std::string(reinterpret_cast<const char*>(expected), expected_len));
}

// P-256 generator G: the public key of the private scalar 1.
constexpr std::string_view kP256GxHex =
    "6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296";
constexpr std::string_view kP256GyHex =
    "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5";
constexpr std::string_view kP256OrderHex =
    "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";

TEST(SigningKey, P256ScalarOneHasTheGeneratorAsPublicKeyAndStaysLeftPadded) {
  const std::string one = std::string(31, '\0') + '\x01';
  const std::string public_bytes = Hex(kP256GxHex) + Hex(kP256GyHex);
  absl::StatusOr<std::string> kid = JwkThumbprint(Algorithm::kES256, public_bytes);
  ASSERT_TRUE(kid.ok()) << kid.status();

  absl::StatusOr<std::unique_ptr<SigningKey>> key =
      SigningKey::FromPrivateBytes(Algorithm::kES256, *kid, one);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ((*key)->verify_key()->PublicBytes(), public_bytes);
  EXPECT_EQ((*key)->PrivateBytes(), one);
}

TEST(SigningKey, P256ScalarsOutsideOneToOrderMinusOneAreRefused) {
  for (const std::string& scalar :
       {std::string(32, '\0'), Hex(kP256OrderHex), std::string(32, '\xff')}) {
    absl::StatusOr<std::unique_ptr<SigningKey>> key =
        SigningKey::FromPrivateBytes(Algorithm::kES256, "any-kid", scalar);
    EXPECT_EQ(key.status().code(), absl::StatusCode::kInvalidArgument);
  }
}

// Verifies an ES256 JWS signature with OpenSSL alone: r||s back to DER, the key from x||y.
bool OpenSslVerifiesEs256(std::string_view public_xy, std::string_view input,
                          std::string_view raw_signature) {
  if (public_xy.size() != 64 || raw_signature.size() != 64) return false;
  const auto* sig = reinterpret_cast<const unsigned char*>(raw_signature.data());
  ECDSA_SIG* ecdsa = ECDSA_SIG_new();
  ECDSA_SIG_set0(ecdsa, BN_bin2bn(sig, 32, nullptr), BN_bin2bn(sig + 32, 32, nullptr));
  unsigned char* der = nullptr;
  int der_len = i2d_ECDSA_SIG(ecdsa, &der);
  ECDSA_SIG_free(ecdsa);

  std::string point = "\x04" + std::string(public_xy);
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
  OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size());
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX* pctx = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
  EVP_PKEY* pkey = nullptr;
  EVP_PKEY_fromdata_init(pctx);
  EVP_PKEY_fromdata(pctx, &pkey, EVP_PKEY_PUBLIC_KEY, params);

  EVP_MD_CTX* md = EVP_MD_CTX_new();
  bool ok = der_len > 0 && pkey != nullptr &&
            EVP_DigestVerifyInit(md, nullptr, EVP_sha256(), nullptr, pkey) == 1 &&
            EVP_DigestVerify(md, der, der_len, reinterpret_cast<const unsigned char*>(input.data()),
                             input.size()) == 1;
  EVP_MD_CTX_free(md);
  EVP_PKEY_free(pkey);
  EVP_PKEY_CTX_free(pctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  OPENSSL_free(der);
  return ok;
}

TEST(SigningKey, Es256SignaturesAreRawRAndSThatOpenSslVerifiesAsDer) {
  std::unique_ptr<SigningKey> key = MustGenerate(Algorithm::kES256);
  ASSERT_NE(key, nullptr);
  // Enough signatures that some r or s has a leading zero byte (probability 1/128 each).
  for (int i = 0; i < 300; ++i) {
    std::string input = "header.payload" + std::to_string(i);
    absl::StatusOr<std::string> sig = key->Sign(input);
    ASSERT_TRUE(sig.ok()) << sig.status();
    ASSERT_EQ(sig->size(), 64u);
    EXPECT_TRUE(OpenSslVerifiesEs256(key->verify_key()->PublicBytes(), input, *sig)) << i;
  }
}

}  // namespace
}  // namespace signet::server
