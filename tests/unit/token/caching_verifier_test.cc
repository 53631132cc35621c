#include "signet/caching_verifier.h"

#include <atomic>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/unit/token/test_signer.h"

namespace signet::internal {
namespace {

using ::signet::testing::TestSigner;

const absl::Time kNow = absl::FromUnixSeconds(1700000000);

TokenVerifier MakeVerifier() {
  ValidationPolicy policy;
  policy.issuer = "signet";
  policy.leeway = absl::Seconds(30);
  absl::StatusOr<TokenVerifier> verifier = TokenVerifier::Create(policy);
  EXPECT_TRUE(verifier.ok()) << verifier.status();
  return *std::move(verifier);
}

class CachingVerifierTest : public ::testing::Test {
 protected:
  CachingVerifierTest() : ed_(TestSigner::Ed25519()) {
    keys_ = KeySet::Builder().Add(ed_.VerifyKeyFor("ed")).Build();
  }

  // A token for `subject` (jti "jti-<subject>"), valid for an hour from kNow, audience "orders".
  std::string Token(const std::string& subject) const {
    const int64_t now = absl::ToUnixSeconds(kNow);
    return ed_.Token(
        R"({"alg":"EdDSA","kid":"ed","typ":"JWT"})",
        absl::StrCat(R"({"iss":"signet","sub":")", subject, R"(","aud":"orders","iat":)", now,
                     R"(,"exp":)", now + 3600, R"(,"jti":"jti-)", subject, R"("})"));
  }

  // Renders "<subject>#<n>" for the n-th rendering; nullopt for subject "uncacheable".
  CachingVerifier::Renderer Counting() {
    return [this](const VerifiedToken& t) -> std::optional<std::string> {
      if (t.subject() == "uncacheable") return std::nullopt;
      return absl::StrCat(t.subject(), "#", ++renders_);
    };
  }

  // Verifies `token` at kNow for "orders" with the fixture's keys and revocations.
  CachingVerifier::Result VerifyNow(const std::string& token) {
    return cached_.Verify(token, keys_, revocations_, kNow, Audience::Expect("orders"));
  }

  TestSigner ed_;
  KeySet keys_;
  RevocationSet revocations_;
  std::atomic<int> renders_{0};
  CachingVerifier cached_{MakeVerifier(), 1024, Counting()};
};

TEST_F(CachingVerifierTest, ASecondVerificationIsAHitAnsweringTheFirstRendering) {
  const std::string token = Token("u1");
  CachingVerifier::Result first = VerifyNow(token);
  ASSERT_TRUE(first.valid());
  EXPECT_FALSE(first.cached);
  ASSERT_NE(first.verified, nullptr);
  EXPECT_EQ(first.verified->token->subject(), "u1");
  EXPECT_EQ(first.answer, "u1#1");
  CachingVerifier::Result second = VerifyNow(token);
  ASSERT_TRUE(second.valid());
  EXPECT_TRUE(second.cached);
  ASSERT_NE(second.entry, nullptr);
  EXPECT_EQ(second.entry->subject, "u1");
  EXPECT_EQ(second.answer, "u1#1");
  EXPECT_EQ(renders_.load(), 1);
  EXPECT_EQ(cached_.cache_size(), 1u);
}

TEST_F(CachingVerifierTest, AHitIsJudgedAgainstTheRevocationsAndAudienceOfTheMoment) {
  const std::string token = Token("u2");
  ASSERT_TRUE(VerifyNow(token).valid());
  CachingVerifier::Result other =
      cached_.Verify(token, keys_, revocations_, kNow, Audience::Expect("payroll"));
  EXPECT_TRUE(other.cached);
  EXPECT_EQ(other.reason, Reason::kAudienceMismatch);
  EXPECT_TRUE(other.answer.empty());
  const RevocationSet revoked = revocations_.WithToken("jti-u2", kNow + absl::Hours(1));
  CachingVerifier::Result r =
      cached_.Verify(token, keys_, revoked, kNow, Audience::Expect("orders"));
  EXPECT_TRUE(r.cached);
  EXPECT_EQ(r.reason, Reason::kTokenRevoked);
}

TEST_F(CachingVerifierTest, AnExpiredHitLeavesTheCache) {
  const std::string token = Token("u3");
  ASSERT_TRUE(VerifyNow(token).valid());
  const absl::Time later = kNow + absl::Hours(1) + absl::Seconds(30);
  CachingVerifier::Result r =
      cached_.Verify(token, keys_, revocations_, later, Audience::Expect("orders"));
  EXPECT_TRUE(r.cached);
  EXPECT_EQ(r.reason, Reason::kExpired);
  EXPECT_EQ(cached_.cache_size(), 0u);
}

TEST_F(CachingVerifierTest, AHitWhoseKeyIsGoneIsVerifiedInFull) {
  const std::string token = Token("u4");
  ASSERT_TRUE(VerifyNow(token).valid());
  // The same kid now names another key: the cached answer no longer stands.
  TestSigner other = TestSigner::Ed25519();
  const KeySet replaced = KeySet::Builder().Add(other.VerifyKeyFor("ed")).Build();
  CachingVerifier::Result r =
      cached_.Verify(token, replaced, revocations_, kNow, Audience::Expect("orders"));
  EXPECT_FALSE(r.cached);
  EXPECT_EQ(r.reason, Reason::kBadSignature);
}

TEST_F(CachingVerifierTest, OnlyWhatTheRendererAcceptsAndOnlyValidTokensAreCached) {
  const std::string uncacheable = Token("uncacheable");
  CachingVerifier::Result r = VerifyNow(uncacheable);
  EXPECT_TRUE(r.valid());
  EXPECT_TRUE(r.answer.empty());
  const std::string token = Token("u5");
  // One signature character changed (to another that base64url decodes): never the same token.
  std::string forged = token;
  char& c = forged[forged.size() - 10];
  c = c == 'A' ? 'B' : 'A';
  EXPECT_EQ(VerifyNow(forged).reason, Reason::kBadSignature);
  EXPECT_EQ(cached_.cache_size(), 0u);
  EXPECT_FALSE(VerifyNow(uncacheable).cached);
}

TEST_F(CachingVerifierTest, WithoutACacheEveryCallIsAFullVerification) {
  CachingVerifier verifier(MakeVerifier(), 0, Counting());
  const std::string token = Token("u6");
  EXPECT_FALSE(
      verifier.Verify(token, keys_, revocations_, kNow, Audience::Expect("orders")).cached);
  CachingVerifier::Result r =
      verifier.Verify(token, keys_, revocations_, kNow, Audience::Expect("orders"));
  EXPECT_FALSE(r.cached);
  EXPECT_EQ(r.answer, "u6#2");
  EXPECT_EQ(verifier.cache_size(), 0u);
}

}  // namespace
}  // namespace signet::internal
