#include "server/ring_verifier.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "server/keys/key_ring.h"
#include "server/store/envelope.h"
#include "server/store/store.h"
#include "signet/clock.h"
#include "signet/validation_cache.h"
#include "token/signing/token_signer.h"

namespace signet::server {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1'800'000'000);
constexpr absl::Duration kLeeway = absl::Seconds(30);

class RingVerifierTest : public ::testing::Test {
 protected:
  RingVerifierTest() {
    LifecycleSettings settings;
    settings.algorithm = Algorithm::kHS256;
    settings.leeway = kLeeway;
    ring_ =
        KeyRing::Create(store_.get(), *Envelope::Create(std::string(32, 'k')), settings, &clock_);
    EXPECT_TRUE(ring_->Start().ok());
    ValidationPolicy policy;
    policy.issuer = "signet";
    policy.leeway = kLeeway;
    verifier_ = *TokenVerifier::Create(policy);
  }

  // Answers "<subject>#<n>" for the n-th rendering.
  // `cache_entries` 0: no cache.
  RingVerifier MakeVerifier(size_t cache_entries) {
    return RingVerifier(
        ring_.get(), *verifier_, &clock_, cache_entries,
        [this](const VerifiedToken& t) { return t.subject() + "#" + std::to_string(++renders_); });
  }

  // A token signed now by the active key, valid for `ttl`.
  std::string Token(const std::string& subject = "user-7", absl::Duration ttl = absl::Minutes(10)) {
    TokenClaims claims;
    claims.issuer = "signet";
    claims.subject = subject;
    claims.audiences = {"orders", "billing"};
    claims.issued_at = clock_.Now();
    claims.expires_at = claims.issued_at + ttl;
    claims.token_id = NewTokenId();
    absl::StatusOr<std::string> token = SignToken(*ring_->Current()->active, claims);
    EXPECT_TRUE(token.ok());
    return *token;
  }

  static std::string JtiOf(const RingVerifier& verifier, const std::string& token) {
    return verifier.ReadSigned(token, nullptr)->token_id();
  }

  FakeClock clock_{kStart};
  std::unique_ptr<Store> store_ = NewMemoryStore();
  std::unique_ptr<KeyRing> ring_;
  std::optional<TokenVerifier> verifier_;
  std::atomic<int> renders_{0};
  static constexpr size_t kCacheEntries = 1024;
};

TEST_F(RingVerifierTest, ASecondValidationIsAHitWithTheSameAnswer) {
  RingVerifier verifier = MakeVerifier(kCacheEntries);
  const std::string token = Token();
  RingVerifier::Verdict first = verifier.Verify(token, Audience::Expect("orders"));
  ASSERT_EQ(first.reason, Reason::kValid);
  EXPECT_FALSE(first.cached);
  EXPECT_EQ(first.answer, "user-7#1");
  RingVerifier::Verdict second = verifier.Verify(token, Audience::Expect("orders"));
  EXPECT_EQ(second.reason, Reason::kValid);
  EXPECT_TRUE(second.cached);
  EXPECT_EQ(second.answer, "user-7#1");  // The first rendering, byte for byte.
  EXPECT_EQ(renders_.load(), 1);
  EXPECT_EQ(verifier.cache_size(), 1u);
}

TEST_F(RingVerifierTest, TheAudienceIsCheckedOnEveryHit) {
  RingVerifier verifier = MakeVerifier(kCacheEntries);
  const std::string token = Token();
  ASSERT_EQ(verifier.Verify(token, Audience::Expect("orders")).reason, Reason::kValid);
  RingVerifier::Verdict other = verifier.Verify(token, Audience::Expect("payroll"));
  EXPECT_EQ(other.reason, Reason::kAudienceMismatch);
  EXPECT_TRUE(other.cached);
  EXPECT_TRUE(other.answer.empty());
  EXPECT_EQ(verifier.Verify(token, Audience::Expect("billing")).reason, Reason::kValid);
  EXPECT_EQ(verifier.Verify(token, Audience::Any()).reason, Reason::kValid);
}

TEST_F(RingVerifierTest, ACachedTokenIsNeverValidPastItsExpiryPlusLeeway) {
  RingVerifier verifier = MakeVerifier(kCacheEntries);
  const std::string token = Token("user-7", absl::Minutes(10));
  ASSERT_EQ(verifier.Verify(token, Audience::Any()).reason, Reason::kValid);
  clock_.Set(kStart + absl::Minutes(10) + kLeeway - absl::Seconds(1));
  RingVerifier::Verdict last = verifier.Verify(token, Audience::Any());
  EXPECT_EQ(last.reason, Reason::kValid);
  EXPECT_TRUE(last.cached);
  clock_.Set(kStart + absl::Minutes(10) + kLeeway);
  RingVerifier::Verdict expired = verifier.Verify(token, Audience::Any());
  EXPECT_EQ(expired.reason, Reason::kExpired);
  EXPECT_TRUE(expired.cached);
  // The entry is gone; a full verification says the same.
  EXPECT_EQ(verifier.cache_size(), 0u);
  RingVerifier::Verdict again = verifier.Verify(token, Audience::Any());
  EXPECT_EQ(again.reason, Reason::kExpired);
  EXPECT_FALSE(again.cached);
}

TEST_F(RingVerifierTest, AClockGoingBackBeforeIssueMakesACachedTokenNotYetValid) {
  RingVerifier verifier = MakeVerifier(kCacheEntries);
  const std::string token = Token();
  ASSERT_EQ(verifier.Verify(token, Audience::Any()).reason, Reason::kValid);
  clock_.Set(kStart - kLeeway - absl::Seconds(1));
  RingVerifier::Verdict v = verifier.Verify(token, Audience::Any());
  EXPECT_EQ(v.reason, Reason::kNotYetValid);
  EXPECT_TRUE(v.cached);
}

TEST_F(RingVerifierTest, RevokingTheTokenTakesEffectAtOnceOnACachedToken) {
  RingVerifier verifier = MakeVerifier(kCacheEntries);
  const std::string token = Token();
  const std::string other = Token("user-8");
  ASSERT_EQ(verifier.Verify(token, Audience::Any()).reason, Reason::kValid);
  ASSERT_EQ(verifier.Verify(other, Audience::Any()).reason, Reason::kValid);
  ASSERT_TRUE(ring_->RevokeToken(JtiOf(verifier, token), kStart + absl::Hours(1)).ok());
  RingVerifier::Verdict v = verifier.Verify(token, Audience::Any());
  EXPECT_EQ(v.reason, Reason::kTokenRevoked);
  EXPECT_TRUE(v.cached);
  EXPECT_EQ(verifier.Verify(other, Audience::Any()).reason, Reason::kValid);
}

TEST_F(RingVerifierTest, RevokingTheSubjectTakesEffectAtOnceOnACachedToken) {
  RingVerifier verifier = MakeVerifier(kCacheEntries);
  const std::string token = Token("user-7");
  const std::string other = Token("user-8");
  ASSERT_EQ(verifier.Verify(token, Audience::Any()).reason, Reason::kValid);
  ASSERT_EQ(verifier.Verify(other, Audience::Any()).reason, Reason::kValid);
  clock_.Advance(absl::Seconds(5));
  ASSERT_TRUE(ring_->RevokeSubject("user-7", clock_.Now(), clock_.Now() + absl::Hours(25)).ok());
  RingVerifier::Verdict v = verifier.Verify(token, Audience::Any());
  EXPECT_EQ(v.reason, Reason::kSubjectRevoked);
  EXPECT_TRUE(v.cached);
  EXPECT_EQ(verifier.Verify(other, Audience::Any()).reason, Reason::kValid);
  // A token the subject gets after the revocation is valid.
  clock_.Advance(absl::Seconds(5));
  EXPECT_EQ(verifier.Verify(Token("user-7"), Audience::Any()).reason, Reason::kValid);
}

TEST_F(RingVerifierTest, RevokingTheKeyTakesEffectAtOnceOnACachedToken) {
  RingVerifier verifier = MakeVerifier(kCacheEntries);
  const std::string token = Token();
  ASSERT_EQ(verifier.Verify(token, Audience::Any()).reason, Reason::kValid);
  const std::string kid = ring_->Current()->active->kid();
  ASSERT_TRUE(ring_->RevokeKey(kid, "test").ok());
  RingVerifier::Verdict v = verifier.Verify(token, Audience::Any());
  EXPECT_EQ(v.reason, Reason::kKeyRevoked);
  EXPECT_TRUE(v.cached);
  // Tokens of the new active key are valid.
  EXPECT_EQ(verifier.Verify(Token(), Audience::Any()).reason, Reason::kValid);
}

TEST_F(RingVerifierTest, OnlyValidTokensAreCached) {
  RingVerifier verifier = MakeVerifier(kCacheEntries);
  std::string token = Token();
  // One signature character changed (to another that base64url decodes): never the same token.
  std::string bad_signature = token;
  char& c = bad_signature[bad_signature.size() - 10];
  c = c == 'A' ? 'B' : 'A';
  ASSERT_EQ(verifier.Verify(bad_signature, Audience::Any()).reason, Reason::kBadSignature);
  ASSERT_EQ(verifier.Verify(token, Audience::Expect("payroll")).reason, Reason::kAudienceMismatch);
  ASSERT_EQ(verifier.Verify("not.a.token", Audience::Any()).reason, Reason::kMalformed);
  EXPECT_EQ(verifier.cache_size(), 0u);
  RingVerifier::Verdict again = verifier.Verify(bad_signature, Audience::Any());
  EXPECT_EQ(again.reason, Reason::kBadSignature);
  EXPECT_FALSE(again.cached);
  EXPECT_EQ(renders_.load(), 0);
}

TEST_F(RingVerifierTest, HitsGiveTheReasonsAFullVerificationGives) {
  RingVerifier cached = MakeVerifier(kCacheEntries);
  RingVerifier uncached = MakeVerifier(0);
  std::vector<std::string> tokens;
  for (int i = 0; i < 6; ++i) tokens.push_back(Token("user-" + std::to_string(i % 3)));
  auto expect_same = [&](const std::string& step) {
    for (const std::string& token : tokens) {
      for (const Audience audience :
           {Audience::Any(), Audience::Expect("orders"), Audience::Expect("payroll")}) {
        EXPECT_EQ(cached.Verify(token, audience).reason,
                  uncached.Verify(token, audience).reason)
            << step << " " << audience.name();
      }
    }
  };
  expect_same("fresh");
  expect_same("warm");
  ASSERT_TRUE(ring_->RevokeToken(JtiOf(uncached, tokens[0]), kStart + absl::Hours(1)).ok());
  expect_same("token revoked");
  clock_.Advance(absl::Seconds(1));
  ASSERT_TRUE(ring_->RevokeSubject("user-1", clock_.Now(), clock_.Now() + absl::Hours(25)).ok());
  expect_same("subject revoked");
  clock_.Advance(absl::Minutes(10) + kLeeway - absl::Seconds(1));
  expect_same("about to expire");
  clock_.Advance(absl::Seconds(1));
  expect_same("expired");
}

TEST_F(RingVerifierTest, WithoutACacheEveryValidationIsFull) {
  RingVerifier verifier = MakeVerifier(0);
  const std::string token = Token();
  EXPECT_FALSE(verifier.Verify(token, Audience::Any()).cached);
  EXPECT_FALSE(verifier.Verify(token, Audience::Any()).cached);
  EXPECT_EQ(renders_.load(), 2);
}

TEST_F(RingVerifierTest, ARevocationIsSeenByEveryValidationThatStartsAfterIt) {
  RingVerifier verifier = MakeVerifier(kCacheEntries);
  const std::string token = Token();
  const std::string jti = JtiOf(verifier, token);
  std::atomic<bool> revoked{false};
  std::atomic<bool> stop{false};
  std::atomic<int> late_valid{0};
  std::atomic<int> validations{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      while (!stop.load()) {
        const bool after = revoked.load();
        const Reason r = verifier.Verify(token, Audience::Expect("orders")).reason;
        if (after && r != Reason::kTokenRevoked) ++late_valid;
        ++validations;
      }
    });
  }
  while (validations.load() < 200) std::this_thread::yield();
  ASSERT_TRUE(ring_->RevokeToken(jti, kStart + absl::Hours(1)).ok());
  revoked.store(true);
  const int at_revocation = validations.load();
  while (validations.load() < at_revocation + 200) std::this_thread::yield();
  stop.store(true);
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(late_valid.load(), 0);
}

}  // namespace
}  // namespace signet::server
