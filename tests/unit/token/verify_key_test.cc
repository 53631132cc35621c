#include "signet/verify_key.h"

#include <openssl/bn.h>
#include <openssl/evp.h>

#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "internal/ecdsa_low_s.h"
#include "signet/base64url.h"
#include "tests/unit/token/test_signer.h"

namespace signet {
namespace {

using testing::B64;

// RFC 7515 appendix A.1: HS256, the JWK "k" and the complete JWS from the RFC.
constexpr char kRfc7515A1Key[] =
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
constexpr char kRfc7515A1SigningInput[] =
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
    "."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlf"
    "Q";
constexpr char kRfc7515A1Signature[] = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

// RFC 7515 appendix A.3: ES256 with the public key's x and y.
constexpr char kRfc7515A3X[] = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
constexpr char kRfc7515A3Y[] = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
constexpr char kRfc7515A3SigningInput[] =
    "eyJhbGciOiJFUzI1NiJ9"
    "."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlf"
    "Q";
constexpr char kRfc7515A3Signature[] =
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";

// RFC 8037 appendix A.4: Ed25519 over "Example of Ed25519 signing".
constexpr char kRfc8037X[] = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
constexpr char kRfc8037SigningInput[] = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
constexpr char kRfc8037Signature[] =
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

// The order n of the P-256 group, big-endian.
constexpr unsigned char kP256Order[32] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17, 0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x51};

// r || (n - s): the other ECDSA signature of the same message, made without the key.
std::string OtherS(const std::string& signature) {
  BIGNUM* n = BN_bin2bn(kP256Order, 32, nullptr);
  BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(signature.data()) + 32, 32, nullptr);
  EXPECT_EQ(BN_sub(s, n, s), 1);
  std::string out = signature.substr(0, 32) + std::string(32, '\0');
  EXPECT_EQ(BN_bn2binpad(s, reinterpret_cast<unsigned char*>(out.data()) + 32, 32), 32);
  BN_free(s);
  BN_free(n);
  return out;
}

std::shared_ptr<const VerifyKey> Rfc7515A3Key() {
  auto key = VerifyKey::P256("a3", B64(kRfc7515A3X), B64(kRfc7515A3Y));
  EXPECT_TRUE(key.ok()) << key.status();
  return *key;
}

TEST(VerifyKey, VerifiesTheRfc7515A1Hs256Example) {
  auto key = VerifyKey::HmacSha256("a1", B64(kRfc7515A1Key));
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ((*key)->algorithm(), Algorithm::kHS256);
  EXPECT_TRUE((*key)->Verify(kRfc7515A1SigningInput, B64(kRfc7515A1Signature)));
  EXPECT_FALSE((*key)->Verify(std::string(kRfc7515A1SigningInput) + "x", B64(kRfc7515A1Signature)));
  EXPECT_EQ((*key)->PublicBytes(), "");
}

TEST(VerifyKey, VerifiesTheRfc7515A3Es256ExampleInItsLowSFormOnly) {
  auto key = Rfc7515A3Key();
  EXPECT_EQ(key->algorithm(), Algorithm::kES256);
  // The RFC's signature happens to be high-s (s > n/2): refused as printed, its twin verifies.
  const std::string low = OtherS(B64(kRfc7515A3Signature));
  EXPECT_FALSE(key->Verify(kRfc7515A3SigningInput, B64(kRfc7515A3Signature)));
  EXPECT_TRUE(key->Verify(kRfc7515A3SigningInput, low));
  EXPECT_FALSE(key->Verify(std::string(kRfc7515A3SigningInput) + "x", low));
  EXPECT_EQ(key->PublicBytes(), B64(kRfc7515A3X) + B64(kRfc7515A3Y));
}

TEST(VerifyKey, VerifiesTheRfc8037A4Ed25519Example) {
  auto key = VerifyKey::Ed25519("a4", B64(kRfc8037X));
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ((*key)->algorithm(), Algorithm::kEdDSA);
  EXPECT_EQ((*key)->kid(), "a4");
  EXPECT_TRUE((*key)->Verify(kRfc8037SigningInput, B64(kRfc8037Signature)));
  EXPECT_FALSE((*key)->Verify(std::string(kRfc8037SigningInput) + "x", B64(kRfc8037Signature)));
  EXPECT_EQ((*key)->PublicBytes(), B64(kRfc8037X));
}

TEST(VerifyKey, RefusesSignaturesOfTheWrongLength) {
  auto ed = VerifyKey::Ed25519("a4", B64(kRfc8037X));
  ASSERT_TRUE(ed.ok());
  std::string sig = B64(kRfc8037Signature);
  EXPECT_FALSE((*ed)->Verify(kRfc8037SigningInput, sig.substr(0, 63)));
  EXPECT_FALSE((*ed)->Verify(kRfc8037SigningInput, sig + '\0'));
  EXPECT_FALSE((*ed)->Verify(kRfc8037SigningInput, ""));

  auto es = Rfc7515A3Key();
  sig = B64(kRfc7515A3Signature);
  EXPECT_FALSE(es->Verify(kRfc7515A3SigningInput, sig.substr(0, 63)));
  EXPECT_FALSE(es->Verify(kRfc7515A3SigningInput, sig + '\0'));
  EXPECT_FALSE(es->Verify(kRfc7515A3SigningInput, ""));

  auto hs = VerifyKey::HmacSha256("a1", B64(kRfc7515A1Key));
  ASSERT_TRUE(hs.ok());
  sig = B64(kRfc7515A1Signature);
  EXPECT_FALSE((*hs)->Verify(kRfc7515A1SigningInput, sig.substr(0, 16)));
  EXPECT_FALSE((*hs)->Verify(kRfc7515A1SigningInput, sig.substr(0, 31)));
  EXPECT_FALSE((*hs)->Verify(kRfc7515A1SigningInput, sig + '\0'));
  EXPECT_FALSE((*hs)->Verify(kRfc7515A1SigningInput, ""));
}

TEST(VerifyKey, Es256RefusesRAndSOfZeroOrAtLeastTheGroupOrder) {
  auto key = Rfc7515A3Key();
  const std::string good = B64(kRfc7515A3Signature);
  const std::string zero(32, '\0');
  const std::string order(reinterpret_cast<const char*>(kP256Order), 32);
  const std::string all_ones(32, '\xff');
  const std::string r = good.substr(0, 32);
  const std::string s = good.substr(32);
  for (const std::string& bad :
       {zero + s, r + zero, zero + zero, order + s, r + order, all_ones + s, r + all_ones}) {
    EXPECT_FALSE(key->Verify(kRfc7515A3SigningInput, bad));
  }
}

TEST(VerifyKey, Es256RefusesTheHighSTwinOfEveryValidSignature) {
  testing::TestSigner signer = testing::TestSigner::P256();
  auto key = signer.VerifyKeyFor("es");
  for (int i = 0; i < 32; ++i) {
    const std::string input = "header.payload" + std::to_string(i);
    const std::string sig = signer.Sign(input);
    ASSERT_TRUE(key->Verify(input, sig));
    EXPECT_FALSE(key->Verify(input, OtherS(sig))) << i;
  }
}

TEST(VerifyKey, HighSIsExactlyGreaterThanHalfTheOrder) {
  unsigned char s[32];
  std::memcpy(s, internal::kP256HalfOrder, 32);
  EXPECT_FALSE(internal::IsHighS(s));
  s[31] += 1;
  EXPECT_TRUE(internal::IsHighS(s));
  s[31] -= 2;
  EXPECT_FALSE(internal::IsHighS(s));
  EXPECT_TRUE(internal::IsHighS(kP256Order));
  // n/2 really is floor(n / 2): twice it plus one is n.
  BIGNUM* half = BN_bin2bn(internal::kP256HalfOrder, 32, nullptr);
  BIGNUM* n = BN_bin2bn(kP256Order, 32, nullptr);
  ASSERT_EQ(BN_lshift1(half, half), 1);
  ASSERT_EQ(BN_add_word(half, 1), 1);
  EXPECT_EQ(BN_cmp(half, n), 0);
  BN_free(n);
  BN_free(half);
}

TEST(VerifyKey, Es256AcceptsItsOwnSignaturesAndRefusesOthers) {
  testing::TestSigner signer = testing::TestSigner::P256();
  testing::TestSigner other = testing::TestSigner::P256();
  auto key = signer.VerifyKeyFor("es");
  EXPECT_TRUE(key->Verify("header.payload", signer.Sign("header.payload")));
  EXPECT_FALSE(key->Verify("header.payload", other.Sign("header.payload")));
}

TEST(VerifyKey, RefusesMalformedKeys) {
  EXPECT_FALSE(VerifyKey::Ed25519("k", std::string(31, 'a')).ok());
  EXPECT_FALSE(VerifyKey::Ed25519("k", std::string(33, 'a')).ok());
  EXPECT_FALSE(VerifyKey::Ed25519("", B64(kRfc8037X)).ok());
  // The identity point (y = 1): small order, no honest key.
  std::string identity(32, '\0');
  identity[0] = 1;
  EXPECT_FALSE(VerifyKey::Ed25519("k", identity).ok());

  const std::string x = B64(kRfc7515A3X);
  std::string y = B64(kRfc7515A3Y);
  EXPECT_FALSE(VerifyKey::P256("k", x.substr(0, 31), y).ok());
  EXPECT_FALSE(VerifyKey::P256("k", x, y + "a").ok());
  EXPECT_FALSE(VerifyKey::P256("", x, y).ok());
  y[31] ^= 1;  // Off the curve.
  EXPECT_FALSE(VerifyKey::P256("k", x, y).ok());
  EXPECT_FALSE(VerifyKey::P256("k", std::string(32, '\0'), std::string(32, '\0')).ok());

  EXPECT_FALSE(VerifyKey::HmacSha256("k", std::string(31, 's')).ok());
  EXPECT_FALSE(VerifyKey::HmacSha256("", std::string(32, 's')).ok());
  EXPECT_TRUE(VerifyKey::HmacSha256("k", std::string(32, 's')).ok());
}

TEST(VerifyKey, VerifiesConcurrentlyFromManyThreads) {
  const std::string input = "header.payload";
  std::vector<testing::TestSigner> signers;
  signers.push_back(testing::TestSigner::Ed25519());
  signers.push_back(testing::TestSigner::P256());
  signers.push_back(testing::TestSigner::Hmac(std::string(32, 'h')));
  for (const testing::TestSigner& signer : signers) {
    auto key = signer.VerifyKeyFor("k");
    const std::string sig = signer.Sign(input);
    std::string bad = sig;
    bad[0] ^= 1;
    std::vector<std::thread> threads;
    std::vector<int> failures(4, 0);
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 50; ++i) {
          if (!key->Verify(input, sig)) ++failures[t];
          if (key->Verify(input, bad)) ++failures[t];
        }
      });
    }
    for (std::thread& t : threads) t.join();
    EXPECT_EQ(failures, std::vector<int>(4, 0));
  }
}

std::string FromHex(std::string_view hex) {
  return absl::HexStringToBytes(absl::string_view(hex.data(), hex.size()));
}

// OpenSSL's own one-shot HMAC, the reference for the codec's.
std::string OpenSslHmac(std::string_view key, std::string_view data) {
  unsigned char out[32];
  size_t len = 0;
  EXPECT_NE(EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(),
                      reinterpret_cast<const unsigned char*>(data.data()), data.size(), out,
                      sizeof(out), &len),
            nullptr);
  return std::string(reinterpret_cast<const char*>(out), len);
}

TEST(VerifyKey, HmacSha256VerifiesTheRfc4231KeysLongerThanABlock) {
  // RFC 4231 test cases 6 and 7: a 131-byte key, which HMAC hashes first.
  const std::string key(131, '\xaa');
  auto verify_key = VerifyKey::HmacSha256("k", key);
  ASSERT_TRUE(verify_key.ok());
  EXPECT_TRUE((*verify_key)
                  ->Verify("Test Using Larger Than Block-Size Key - Hash Key First",
                           FromHex("60e431591ee0b67f0d8a26aacbf5b77f"
                                   "8e0bc6213728c5140546040f0ee37f54")));
  EXPECT_TRUE((*verify_key)
                  ->Verify("This is a test using a larger than block-size key and a larger than "
                           "block-size data. The key needs to be hashed before being used by the "
                           "HMAC algorithm.",
                           FromHex("9b09ffa71b942fcb27635fbcd5b0e944"
                                   "bfdc63644f0713938a7f51535c3a35e2")));
}

TEST(VerifyKey, HmacSha256AgreesWithOpenSslForKeyAndMessageLengthsAroundTheBlockSize) {
  for (size_t key_size : {32, 63, 64, 65, 100}) {
    std::string key(key_size, '\0');
    for (size_t i = 0; i < key_size; ++i) key[i] = static_cast<char>(i * 37 + key_size);
    auto verify_key = VerifyKey::HmacSha256("k", key);
    ASSERT_TRUE(verify_key.ok());
    std::string data;
    for (size_t n = 0; n <= 300; ++n) {
      const std::string mac = OpenSslHmac(key, data);
      ASSERT_EQ(mac.size(), 32u);
      EXPECT_TRUE((*verify_key)->Verify(data, mac)) << key_size << " " << n;
      std::string flipped = mac;
      flipped[n % 32] ^= 0x10;
      EXPECT_FALSE((*verify_key)->Verify(data, flipped)) << key_size << " " << n;
      data.push_back(static_cast<char>(n));
    }
  }
}

TEST(VerifyKey, HmacSha256KeysOnManyThreadsEachCheckTheirOwnSecret) {
  // Every thread works the same keys in turn: per-thread working state must never mix keys.
  std::vector<std::shared_ptr<const VerifyKey>> keys;
  std::vector<std::string> macs;
  const std::string input = "header.payload";
  for (int k = 0; k < 3; ++k) {
    const std::string secret(32, static_cast<char>('a' + k));
    keys.push_back(*VerifyKey::HmacSha256("k" + std::to_string(k), secret));
    macs.push_back(OpenSslHmac(secret, input));
  }
  std::vector<int> failures(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 300; ++i) {
        const size_t k = (i + t) % keys.size();
        if (!keys[k]->Verify(input, macs[k])) ++failures[t];
        if (keys[k]->Verify(input, macs[(k + 1) % keys.size()])) ++failures[t];
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures, std::vector<int>(4, 0));
}

}  // namespace
}  // namespace signet
