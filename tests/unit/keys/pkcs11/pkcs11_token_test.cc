// Pkcs11Token against a real SoftHSM2 token made for each test: keys generated inside the token
// sign what signet's own verifiers accept, never leave it, and the session pool survives the
// token dropping every session.
#include "server/keys/pkcs11/pkcs11_token.h"

#include <dlfcn.h>
#include <p11-kit/pkcs11.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "signet/verify_key.h"
#include "tests/support/softhsm_token.h"
#include "token/signing/delegated_signing_key.h"

namespace signet::server {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class Pkcs11TokenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<testing::SoftHsmToken> hsm =
        testing::SoftHsmToken::CreateTemporary("signet-test");
    ASSERT_TRUE(hsm.ok()) << hsm.status();
    hsm_ = *hsm;
  }
  void TearDown() override { hsm_.RemoveFolder(); }

  Pkcs11Token::Options TokenOptions() const {
    Pkcs11Token::Options options;
    options.module_path = hsm_.module_path;
    options.token_label = hsm_.label;
    options.pin = hsm_.pin;
    return options;
  }

  std::unique_ptr<Pkcs11Token> OpenToken() {
    absl::StatusOr<std::unique_ptr<Pkcs11Token>> token = Pkcs11Token::Open(TokenOptions());
    EXPECT_TRUE(token.ok()) << token.status();
    return token.ok() ? *std::move(token) : nullptr;
  }

  testing::SoftHsmToken hsm_;
};

TEST_F(Pkcs11TokenTest, Ed25519KeySignsWhatTheVerifierAccepts) {
  std::unique_ptr<Pkcs11Token> token = OpenToken();
  ASSERT_NE(token, nullptr);
  absl::StatusOr<std::string> public_key = token->Generate(Algorithm::kEdDSA, "ed-1", "signet");
  ASSERT_TRUE(public_key.ok()) << public_key.status();
  ASSERT_EQ(public_key->size(), 32u);
  absl::StatusOr<std::shared_ptr<const VerifyKey>> verify = VerifyKey::Ed25519("ed-1", *public_key);
  ASSERT_TRUE(verify.ok()) << verify.status();
  absl::StatusOr<std::string> signature = token->Sign(Algorithm::kEdDSA, "ed-1", "header.payload");
  ASSERT_TRUE(signature.ok()) << signature.status();
  EXPECT_TRUE((*verify)->Verify("header.payload", *signature));
  EXPECT_FALSE((*verify)->Verify("header.payloaD", *signature));
}

// The token's ECDSA signatures come with either s; through DelegatedSigningKey every one is in
// the low-s form signet's verifiers (and no others) accept.
TEST_F(Pkcs11TokenTest, P256KeySignsWhatTheVerifierAccepts) {
  std::unique_ptr<Pkcs11Token> token = OpenToken();
  ASSERT_NE(token, nullptr);
  absl::StatusOr<std::string> public_key = token->Generate(Algorithm::kES256, "ec-1", "signet");
  ASSERT_TRUE(public_key.ok()) << public_key.status();
  ASSERT_EQ(public_key->size(), 64u);
  absl::StatusOr<std::shared_ptr<const VerifyKey>> verify =
      VerifyKey::P256("ec-1", public_key->substr(0, 32), public_key->substr(32));
  ASSERT_TRUE(verify.ok()) << verify.status();
  std::unique_ptr<SigningKey> key = DelegatedSigningKey::Create(
      *verify,
      [&token](std::string_view input) { return token->Sign(Algorithm::kES256, "ec-1", input); });
  EXPECT_EQ(key->PrivateBytes(), "");
  int high_s_from_the_token = 0;
  for (int i = 0; i < 20; ++i) {  // ECDSA signatures differ each time; each must verify.
    absl::StatusOr<std::string> raw = token->Sign(Algorithm::kES256, "ec-1", "a.b");
    ASSERT_TRUE(raw.ok()) << raw.status();
    if (!(*verify)->Verify("a.b", *raw)) ++high_s_from_the_token;
    absl::StatusOr<std::string> signature = key->Sign("a.b");
    ASSERT_TRUE(signature.ok()) << signature.status();
    EXPECT_TRUE((*verify)->Verify("a.b", *signature));
  }
  // About half of the token's own signatures are high-s (1 in a million chance of none in 20).
  EXPECT_GT(high_s_from_the_token, 0);
}

TEST_F(Pkcs11TokenTest, HmacSecretSignsAndVerifiesOnlyInsideTheToken) {
  std::unique_ptr<Pkcs11Token> token = OpenToken();
  ASSERT_NE(token, nullptr);
  absl::StatusOr<std::string> none = token->Generate(Algorithm::kHS256, "hs-1", "signet");
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(*none, "");
  absl::StatusOr<std::string> mac = token->Sign(Algorithm::kHS256, "hs-1", "a.b");
  ASSERT_TRUE(mac.ok()) << mac.status();
  ASSERT_EQ(mac->size(), 32u);
  EXPECT_EQ(*token->VerifyHmac("hs-1", "a.b", *mac), true);
  std::string flipped = *mac;
  flipped[0] ^= 1;
  EXPECT_EQ(*token->VerifyHmac("hs-1", "a.b", flipped), false);
  EXPECT_EQ(*token->VerifyHmac("hs-1", "a.c", *mac), false);
  EXPECT_EQ(*token->VerifyHmac("hs-1", "a.b", mac->substr(0, 31)), false);
}

TEST_F(Pkcs11TokenTest, NoKeyValueLeavesTheToken) {
  std::unique_ptr<Pkcs11Token> token = OpenToken();
  ASSERT_NE(token, nullptr);
  for (auto [alg, id] : {std::pair{Algorithm::kEdDSA, "ed"}, std::pair{Algorithm::kES256, "ec"},
                         std::pair{Algorithm::kHS256, "hs"}}) {
    ASSERT_TRUE(token->Generate(alg, id, "signet").ok());
    absl::Status extract = token->TryExtract(id);
    EXPECT_EQ(extract.code(), absl::StatusCode::kPermissionDenied) << id << ": " << extract;
    EXPECT_THAT(extract.message(), HasSubstr("CKR_ATTRIBUTE_SENSITIVE")) << id;
  }
}

TEST_F(Pkcs11TokenTest, IdsAreUniqueListedAndDestroyed) {
  std::unique_ptr<Pkcs11Token> token = OpenToken();
  ASSERT_NE(token, nullptr);
  ASSERT_TRUE(token->Generate(Algorithm::kEdDSA, "k1", "signet:k1").ok());
  ASSERT_TRUE(token->Generate(Algorithm::kHS256, "k2", "signet:k2").ok());
  EXPECT_EQ(token->Generate(Algorithm::kES256, "k1", "again").status().code(),
            absl::StatusCode::kAlreadyExists);
  absl::StatusOr<std::vector<Pkcs11Token::KeyObject>> keys = token->ListKeys();
  ASSERT_TRUE(keys.ok()) << keys.status();
  std::vector<std::string> listed;
  for (const auto& k : *keys) listed.push_back(k.id + "=" + k.label);
  EXPECT_THAT(listed, ::testing::UnorderedElementsAre("k1=signet:k1", "k2=signet:k2"));

  ASSERT_TRUE(token->Destroy("k1").ok());
  EXPECT_EQ(token->Sign(Algorithm::kEdDSA, "k1", "x").status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(token->Destroy("k1").ok());  // Nothing left: still fine.
  EXPECT_EQ(token->ListKeys()->size(), 1u);
}

TEST_F(Pkcs11TokenTest, BadOptionsAreRefusedClearlyAndThePinNeverShows) {
  Pkcs11Token::Options wrong_pin = TokenOptions();
  wrong_pin.pin = "wrong-pin-987";
  absl::Status pin = Pkcs11Token::Open(wrong_pin).status();
  EXPECT_EQ(pin.code(), absl::StatusCode::kPermissionDenied) << pin;
  EXPECT_THAT(pin.message(), HasSubstr("CKR_PIN_INCORRECT"));
  EXPECT_THAT(pin.message(), Not(HasSubstr("wrong-pin-987")));

  Pkcs11Token::Options no_token = TokenOptions();
  no_token.token_label = "no-such-token";
  absl::Status label = Pkcs11Token::Open(no_token).status();
  EXPECT_EQ(label.code(), absl::StatusCode::kUnavailable) << label;
  EXPECT_THAT(label.message(), HasSubstr("no-such-token"));

  Pkcs11Token::Options no_module = TokenOptions();
  no_module.module_path = hsm_.folder + "/missing.so";
  absl::Status module = Pkcs11Token::Open(no_module).status();
  EXPECT_EQ(module.code(), absl::StatusCode::kInvalidArgument) << module;
  EXPECT_THAT(module.message(), HasSubstr("missing.so"));
}

TEST_F(Pkcs11TokenTest, ManyThreadsShareFewSessions) {
  Pkcs11Token::Options options = TokenOptions();
  options.max_sessions = 2;
  absl::StatusOr<std::unique_ptr<Pkcs11Token>> token = Pkcs11Token::Open(options);
  ASSERT_TRUE(token.ok()) << token.status();
  absl::StatusOr<std::string> public_key = (*token)->Generate(Algorithm::kEdDSA, "k", "signet");
  ASSERT_TRUE(public_key.ok());
  auto verify = VerifyKey::Ed25519("k", *public_key);
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        const std::string input = absl::StrCat("t", t, ".", i);
        absl::StatusOr<std::string> sig = (*token)->Sign(Algorithm::kEdDSA, "k", input);
        if (sig.ok() && (*verify)->Verify(input, *sig)) good.fetch_add(1);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(good.load(), 400);
}

// The token closes every session of the application (as a network HSM does when it restarts):
// the next operation reconnects, logs in again and succeeds.
TEST_F(Pkcs11TokenTest, SurvivesTheTokenDroppingEverySession) {
  std::unique_ptr<Pkcs11Token> token = OpenToken();
  ASSERT_NE(token, nullptr);
  absl::StatusOr<std::string> public_key = token->Generate(Algorithm::kEdDSA, "k", "signet");
  ASSERT_TRUE(public_key.ok());
  ASSERT_TRUE(token->Sign(Algorithm::kEdDSA, "k", "before").ok());

  // The same module, as the process has it loaded: close all sessions on the token's slot.
  void* module = dlopen(hsm_.module_path.c_str(), RTLD_NOW | RTLD_NOLOAD);
  ASSERT_NE(module, nullptr);
  auto get_list = reinterpret_cast<CK_C_GetFunctionList>(dlsym(module, "C_GetFunctionList"));
  CK_FUNCTION_LIST* f = nullptr;
  ASSERT_EQ(get_list(&f), CKR_OK);
  CK_SLOT_ID slots[8];
  CK_ULONG count = 8;
  ASSERT_EQ(f->C_GetSlotList(CK_TRUE, slots, &count), CKR_OK);
  for (CK_ULONG i = 0; i < count; ++i) f->C_CloseAllSessions(slots[i]);
  dlclose(module);

  absl::StatusOr<std::string> after = token->Sign(Algorithm::kEdDSA, "k", "after");
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_TRUE((*VerifyKey::Ed25519("k", *public_key))->Verify("after", *after));
  EXPECT_GE(token->reconnects(), 1);
}

}  // namespace
}  // namespace signet::server
