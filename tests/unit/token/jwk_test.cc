#include "signet/jwk.h"

#include <sodium.h>

#include <string>

#include "gtest/gtest.h"
#include "signet/base64url.h"
#include "tests/unit/token/test_signer.h"

namespace signet {
namespace {

using testing::B64;

// RFC 8037 appendix A.2/A.3: the Ed25519 public key and its RFC 7638 thumbprint.
constexpr char kRfc8037X[] = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
constexpr char kRfc8037Thumbprint[] = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k";
// RFC 7515 appendix A.3: a P-256 public key.
constexpr char kP256X[] = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
constexpr char kP256Y[] = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";

std::string Sha256Base64Url(std::string_view data) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  return Base64UrlEncode(std::string_view(reinterpret_cast<char*>(digest), sizeof(digest)));
}

TEST(JwkThumbprint, MatchesTheRfc8037Ed25519Example) {
  auto thumbprint = JwkThumbprint(Algorithm::kEdDSA, B64(kRfc8037X));
  ASSERT_TRUE(thumbprint.ok()) << thumbprint.status();
  EXPECT_EQ(*thumbprint, kRfc8037Thumbprint);
}

TEST(JwkThumbprint, HashesTheCanonicalEcMembersInLexicographicOrder) {
  auto thumbprint = JwkThumbprint(Algorithm::kES256, B64(kP256X) + B64(kP256Y));
  ASSERT_TRUE(thumbprint.ok()) << thumbprint.status();
  EXPECT_EQ(*thumbprint, Sha256Base64Url(std::string(R"({"crv":"P-256","kty":"EC","x":")") +
                                         kP256X + R"(","y":")" + kP256Y + R"("})"));
}

TEST(JwkThumbprint, RefusesHmacAndWrongSizes) {
  EXPECT_FALSE(JwkThumbprint(Algorithm::kHS256, std::string(32, 'a')).ok());
  EXPECT_FALSE(JwkThumbprint(Algorithm::kEdDSA, std::string(31, 'a')).ok());
  EXPECT_FALSE(JwkThumbprint(Algorithm::kES256, std::string(32, 'a')).ok());
}

TEST(ToJwk, WritesAnEd25519PublicJwk) {
  auto key = VerifyKey::Ed25519("kid-1", B64(kRfc8037X));
  ASSERT_TRUE(key.ok());
  auto jwk = ToJwk(**key);
  ASSERT_TRUE(jwk.ok()) << jwk.status();
  EXPECT_EQ(*jwk, std::string(R"({"kty":"OKP","crv":"Ed25519","x":")") + kRfc8037X +
                      R"(","kid":"kid-1","alg":"EdDSA","use":"sig"})");
}

TEST(ToJwk, WritesAP256PublicJwk) {
  auto key = VerifyKey::P256("kid-2", B64(kP256X), B64(kP256Y));
  ASSERT_TRUE(key.ok());
  auto jwk = ToJwk(**key);
  ASSERT_TRUE(jwk.ok()) << jwk.status();
  EXPECT_EQ(*jwk, std::string(R"({"kty":"EC","crv":"P-256","x":")") + kP256X + R"(","y":")" +
                      kP256Y + R"(","kid":"kid-2","alg":"ES256","use":"sig"})");
}

TEST(ToJwk, NeverExportsAnHmacSecret) {
  auto key = VerifyKey::HmacSha256("kid-3", std::string(32, 's'));
  ASSERT_TRUE(key.ok());
  EXPECT_FALSE(ToJwk(**key).ok());
}

TEST(ToJwks, SkipsHmacKeysAndRoundTripsThroughParseJwks) {
  auto ed = VerifyKey::Ed25519("ed", B64(kRfc8037X));
  auto es = VerifyKey::P256("es", B64(kP256X), B64(kP256Y));
  auto hs = VerifyKey::HmacSha256("hs", std::string(32, 's'));
  ASSERT_TRUE(ed.ok() && es.ok() && hs.ok());
  const std::string jwks = ToJwks({*ed, *hs, *es});
  EXPECT_EQ(jwks, "{\"keys\":[" + *ToJwk(**ed) + "," + *ToJwk(**es) + "]}");

  auto parsed = ParseJwks(jwks);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->size(), 2u);
  EXPECT_EQ((*parsed)[0]->kid(), "ed");
  EXPECT_EQ((*parsed)[0]->algorithm(), Algorithm::kEdDSA);
  EXPECT_EQ((*parsed)[0]->PublicBytes(), B64(kRfc8037X));
  EXPECT_EQ((*parsed)[1]->kid(), "es");
  EXPECT_EQ((*parsed)[1]->algorithm(), Algorithm::kES256);
  EXPECT_EQ((*parsed)[1]->PublicBytes(), B64(kP256X) + B64(kP256Y));
}

TEST(ToJwks, WritesAnEmptySet) { EXPECT_EQ(ToJwks({}), R"({"keys":[]})"); }

TEST(ParseJwk, AcceptsAPublicJwkWithoutAlgOrUse) {
  auto key = ParseJwk(std::string(R"({"kty":"OKP","crv":"Ed25519","kid":"k","x":")") + kRfc8037X +
                      R"("})");
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ((*key)->kid(), "k");
}

TEST(ParseJwk, ParsedKeysVerify) {
  testing::TestSigner signer = testing::TestSigner::P256();
  auto jwk = ToJwk(*signer.VerifyKeyFor("p"));
  ASSERT_TRUE(jwk.ok());
  auto key = ParseJwk(*jwk);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_TRUE((*key)->Verify("a.b", signer.Sign("a.b")));
}

// Found by tests/fuzz/jwk_fuzzer (docs/RELIABILITY.md).
TEST(ParseJwk, RefusesAKidThatIsNotUtf8OnceUnescaped) {
  auto jwk = [](const std::string& kid) {
    return std::string(R"({"kty":"OKP","crv":"Ed25519","kid":")") + kid + R"(","x":")" + kRfc8037X +
           "\"}";
  };
  EXPECT_EQ(ParseJwk(jwk("\\udc00")).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ParseJwk(jwk("\\u00e9\\ud83d\\ude00")).ok());
}

TEST(ParseJwk, RefusesAJwkEndingInATruncatedUtf8Sequence) {
  EXPECT_FALSE(ParseJwk("{\"kid\":\"k\xf0}").ok());
  EXPECT_FALSE(ParseJwks("{\"keys\":[]}\xe2").ok());
}

TEST(ParseJwk, RefusesWhatIsNotAStrictPublicSigningJwk) {
  const std::string x = kRfc8037X;
  const std::string ex = kP256X;
  const std::string ey = kP256Y;
  const std::vector<std::string> bad = {
      "",
      "[]",
      "{",
      R"({"kty":"OKP","crv":"Ed25519","kid":"k","x":")" + x + R"("} trailing)",
      // Private material, symmetric keys, unknown types.
      R"({"kty":"OKP","crv":"Ed25519","kid":"k","x":")" + x +
          R"(","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"})",
      R"({"kty":"oct","kid":"k","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ"})",
      R"({"kty":"RSA","kid":"k","n":"AQAB","e":"AQAB"})",
      // Missing or empty kid.
      R"({"kty":"OKP","crv":"Ed25519","x":")" + x + R"("})",
      R"({"kty":"OKP","crv":"Ed25519","kid":"","x":")" + x + R"("})",
      R"({"kty":"OKP","crv":"Ed25519","kid":7,"x":")" + x + R"("})",
      // alg that does not match the key, use other than sig.
      R"({"kty":"OKP","crv":"Ed25519","kid":"k","alg":"ES256","x":")" + x + R"("})",
      R"({"kty":"OKP","crv":"Ed25519","kid":"k","use":"enc","x":")" + x + R"("})",
      R"({"kty":"EC","crv":"P-256","kid":"k","alg":"EdDSA","x":")" + ex + R"(","y":")" + ey +
          R"("})",
      // Wrong curves and coordinates.
      R"({"kty":"OKP","crv":"X25519","kid":"k","x":")" + x + R"("})",
      R"({"kty":"EC","crv":"P-384","kid":"k","x":")" + ex + R"(","y":")" + ey + R"("})",
      R"({"kty":"EC","crv":"P-256","kid":"k","x":")" + ex + R"("})",
      R"({"kty":"EC","crv":"P-256","kid":"k","x":")" + ex + R"(","y":")" + ex + R"("})",
      R"({"kty":"OKP","crv":"Ed25519","kid":"k","x":")" + x.substr(0, 42) + R"("})",
      R"({"kty":"OKP","crv":"Ed25519","kid":"k","x":")" + x + R"(="})",
      // Duplicate members.
      R"({"kty":"OKP","crv":"Ed25519","kid":"k","kid":"j","x":")" + x + R"("})",
  };
  for (const std::string& json : bad) {
    EXPECT_FALSE(ParseJwk(json).ok()) << json;
  }
}

TEST(ParseJwks, RefusesDuplicateKidsAndBadEntries) {
  auto ed = VerifyKey::Ed25519("same", B64(kRfc8037X));
  auto es = VerifyKey::P256("same", B64(kP256X), B64(kP256Y));
  ASSERT_TRUE(ed.ok() && es.ok());
  EXPECT_FALSE(ParseJwks(ToJwks({*ed, *es})).ok());
  EXPECT_FALSE(ParseJwks(R"({"keys":[{"kty":"oct","kid":"k","k":"AAAA"}]})").ok());
  EXPECT_FALSE(ParseJwks(R"({"keys":{}})").ok());
  EXPECT_FALSE(ParseJwks(R"({})").ok());
  EXPECT_FALSE(ParseJwks(R"([])").ok());
  EXPECT_FALSE(ParseJwks(R"({"keys":[],"keys":[]})").ok());
}

}  // namespace
}  // namespace signet
