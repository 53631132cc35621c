// LocalValidator against a fake TokenService whose WatchKeys stream the test drives message by
// message.
#include "signet/local_validator.h"

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "signet/channel.h"
#include "signet/jwk.h"
#include "signet/proto_time.h"
#include "tests/unit/client/fake_token_service.h"
#include "tests/unit/client/sample_identity.h"
#include "token/signing/signing_key.h"
#include "token/signing/token_signer.h"

namespace signet {
namespace {

using ::testing::ElementsAre;

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

google::protobuf::Timestamp At(absl::Time t) { return ToProtoTime(t); }

// Polls `done` (the stream works on its own thread) for up to 5 s.
bool Eventually(const std::function<bool()>& done) {
  for (int i = 0; i < 1000; ++i) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return done();
}

std::unique_ptr<server::SigningKey> NewKey(Algorithm alg = Algorithm::kEdDSA) {
  absl::StatusOr<std::unique_ptr<server::SigningKey>> key = server::SigningKey::Generate(alg);
  EXPECT_TRUE(key.ok()) << key.status();
  return *std::move(key);
}

std::string Jwks(const std::vector<const server::SigningKey*>& keys) {
  std::vector<std::shared_ptr<const VerifyKey>> verify;
  for (const server::SigningKey* k : keys) verify.push_back(k->verify_key());
  return ToJwks(verify);
}

v1::Key RevokedKey(const server::SigningKey& key, bool with_public_jwk) {
  v1::Key k;
  k.set_key_id(key.kid());
  k.set_algorithm(std::string(AlgorithmName(key.algorithm())));
  k.set_state(v1::KEY_STATE_REVOKED);
  if (with_public_jwk) k.set_public_jwk(*ToJwk(*key.verify_key()));
  return k;
}

// Answers a fixed reason and counts its calls.
class FixedValidator final : public Validator {
 public:
  explicit FixedValidator(Reason reason) : reason_(reason) {}
  absl::StatusOr<Validation> Validate(std::string_view, Audience) override {
    absl::MutexLock lock(&mu_);
    ++calls_;
    return Validation{reason_, {}};
  }
  int calls() const {
    absl::MutexLock lock(&mu_);
    return calls_;
  }

 private:
  const Reason reason_;
  mutable absl::Mutex mu_;
  int calls_ = 0;
};

class LocalValidatorTest : public ::testing::Test {
 protected:
  LocalValidatorTest() {
    key_a_ = NewKey();
    key_b_ = NewKey();
    service_.SetInitialWatchMessage(Snapshot({key_a_.get()}, 1));
  }

  ~LocalValidatorTest() override { service_.Stop(); }

  v1::WatchKeysResponse Snapshot(const std::vector<const server::SigningKey*>& keys,
                                 uint64_t version) {
    v1::WatchKeysResponse m;
    m.set_snapshot(true);
    m.set_version(version);
    m.set_jwks_json(Jwks(keys));
    return m;
  }

  LocalValidatorOptions Options() {
    LocalValidatorOptions options;
    ChannelOptions channel;
    channel.target = server_.target();
    channel.max_reconnect_backoff = absl::Milliseconds(100);
    options.channel = *MakeChannel(channel);
    options.clock = &clock_;
    options.initial_backoff = absl::Milliseconds(10);
    options.max_backoff = absl::Milliseconds(50);
    return options;
  }

  std::unique_ptr<LocalValidator> NewValidator(LocalValidatorOptions options) {
    absl::StatusOr<std::unique_ptr<LocalValidator>> v = LocalValidator::Create(std::move(options));
    EXPECT_TRUE(v.ok()) << v.status();
    return v.ok() ? *std::move(v) : nullptr;
  }
  std::unique_ptr<LocalValidator> NewValidator() { return NewValidator(Options()); }

  // A change to version 2: key B usable, key A revoked (with or without its public JWK).
  v1::WatchKeysResponse KeyARevoked(bool with_public_jwk) const;

  std::string Sign(const server::SigningKey& key, const std::string& subject = "42",
                   const std::string& jti = "jti-1") {
    server::TokenClaims c;
    c.issuer = "signet";
    c.subject = subject;
    c.backend = "django.contrib.auth.backends.ModelBackend";
    c.audiences = {"orders"};
    c.issued_at = kT0;
    c.expires_at = kT0 + absl::Hours(1);
    c.token_id = jti;
    c.caller_claims_json = R"({"role":"admin"})";
    absl::StatusOr<std::string> t = server::SignToken(key, c);
    EXPECT_TRUE(t.ok()) << t.status();
    return t.ok() ? *t : "";
  }

  Reason ReasonOf(LocalValidator& v, const std::string& token) {
    absl::StatusOr<Validation> r = v.Validate(token, Audience::Any());
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->reason : Reason::kMalformed;
  }

  FakeClock clock_{kT0 + absl::Minutes(1)};
  std::unique_ptr<server::SigningKey> key_a_;
  std::unique_ptr<server::SigningKey> key_b_;
  testing::FakeTokenService service_;
  testing::FakeServer server_{&service_};
};

TEST_F(LocalValidatorTest, ValidatesOfflineWithTheStreamedKeys) {
  std::unique_ptr<LocalValidator> v = NewValidator();
  ASSERT_NE(v, nullptr);
  absl::StatusOr<Validation> r = v->Validate(Sign(*key_a_), Audience::Expect("orders"));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->valid()) << ReasonName(r->reason);
  testing::ExpectSampleIdentity(r->identity, kT0, key_a_->kid());
  EXPECT_EQ(service_.calls("ValidateToken"), 0);
  EXPECT_EQ(service_.calls("GetJwks"), 0);
  LocalValidator::Stats stats = v->stats();
  EXPECT_EQ(stats.stream_connects, 1u);
  EXPECT_EQ(stats.snapshots, 1u);
  EXPECT_EQ(stats.deltas, 0u);
  EXPECT_TRUE(stats.stream_up);
  EXPECT_EQ(stats.version, 1u);
}

TEST_F(LocalValidatorTest, JudgesAudienceAndIssuerLikeTheServer) {
  std::unique_ptr<LocalValidator> v = NewValidator();
  EXPECT_EQ(v->Validate(Sign(*key_a_), Audience::Expect("billing"))->reason,
            Reason::kAudienceMismatch);
  LocalValidatorOptions options = Options();
  options.issuer = "someone-else";
  std::unique_ptr<LocalValidator> other = NewValidator(std::move(options));
  EXPECT_EQ(ReasonOf(*other, Sign(*key_a_)), Reason::kIssuerMismatch);
}

TEST_F(LocalValidatorTest, CreateRefusesBadOptions) {
  EXPECT_EQ(LocalValidator::Create(LocalValidatorOptions{}).status().code(),
            absl::StatusCode::kInvalidArgument);
  LocalValidatorOptions no_issuer = Options();
  no_issuer.issuer = "";
  EXPECT_EQ(LocalValidator::Create(no_issuer).status().code(), absl::StatusCode::kInvalidArgument);
  LocalValidatorOptions no_fallback = Options();
  no_fallback.fallback_when_stale = true;
  EXPECT_EQ(LocalValidator::Create(no_fallback).status().code(),
            absl::StatusCode::kInvalidArgument);
  LocalValidatorOptions not_stale = Options();
  not_stale.stale_after = absl::ZeroDuration();
  EXPECT_EQ(LocalValidator::Create(not_stale).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(LocalValidatorTest, CreateFailsWhenTheStreamStartsWithAChange) {
  service_.SetInitialWatchMessage(v1::WatchKeysResponse());  // A delta: not a full state.
  LocalValidatorOptions options = Options();
  options.initial_timeout = absl::Milliseconds(300);
  absl::StatusOr<std::unique_ptr<LocalValidator>> v = LocalValidator::Create(options);
  EXPECT_EQ(v.status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(LocalValidatorTest, CreateTimesOutOnASilentStream) {
  testing::FakeTokenService silent;
  testing::FakeServer server(&silent);
  LocalValidatorOptions options = Options();
  ChannelOptions channel;
  channel.target = server.target();
  options.channel = *MakeChannel(channel);
  options.initial_timeout = absl::Milliseconds(300);
  absl::StatusOr<std::unique_ptr<LocalValidator>> v = LocalValidator::Create(options);
  EXPECT_EQ(v.status().code(), absl::StatusCode::kDeadlineExceeded);
  silent.Stop();
}

TEST_F(LocalValidatorTest, CreateReturnsARefusalAtOnce) {
  service_.RefuseWatchStreams(
      grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "caller lacks the validator role"));
  absl::StatusOr<std::unique_ptr<LocalValidator>> v = LocalValidator::Create(Options());
  EXPECT_EQ(v.status(), absl::PermissionDeniedError("caller lacks the validator role"));
}

TEST_F(LocalValidatorTest, CreateFailsOnAJwkSetThatDoesNotParse) {
  v1::WatchKeysResponse bad;
  bad.set_snapshot(true);
  bad.set_version(1);
  bad.set_jwks_json("{\"keys\":[{}]}");
  service_.SetInitialWatchMessage(bad);
  EXPECT_EQ(LocalValidator::Create(Options()).status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(LocalValidatorTest, CreateFailsWithTheStreamErrorWhenNothingListens) {
  LocalValidatorOptions options = Options();
  server_.Shutdown();
  options.initial_timeout = absl::Milliseconds(300);
  absl::StatusOr<std::unique_ptr<LocalValidator>> v = LocalValidator::Create(options);
  EXPECT_EQ(v.status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(LocalValidatorTest, AppliesANewKeyFromAChange) {
  std::unique_ptr<LocalValidator> v = NewValidator();
  EXPECT_EQ(ReasonOf(*v, Sign(*key_b_)), Reason::kUnknownKey);
  v1::WatchKeysResponse change;
  change.set_version(2);
  change.set_jwks_json(Jwks({key_a_.get(), key_b_.get()}));
  service_.PushWatchMessage(change);
  ASSERT_TRUE(v->WaitForVersion(2, absl::Seconds(5)));
  EXPECT_EQ(ReasonOf(*v, Sign(*key_b_)), Reason::kValid);
  EXPECT_EQ(v->stats().deltas, 1u);
}

v1::WatchKeysResponse LocalValidatorTest::KeyARevoked(bool with_public_jwk) const {
  v1::WatchKeysResponse change;
  change.set_version(2);
  change.set_jwks_json(Jwks({key_b_.get()}));
  *change.add_keys() = RevokedKey(*key_a_, with_public_jwk);
  return change;
}

TEST_F(LocalValidatorTest, AppliesARevokedKey) {
  std::unique_ptr<LocalValidator> v = NewValidator();
  service_.PushWatchMessage(KeyARevoked(/*with_public_jwk=*/true));
  ASSERT_TRUE(v->WaitForVersion(2, absl::Seconds(5)));
  EXPECT_EQ(ReasonOf(*v, Sign(*key_a_)), Reason::kKeyRevoked);
  EXPECT_EQ(ReasonOf(*v, Sign(*key_b_)), Reason::kValid);
}

TEST_F(LocalValidatorTest, RefusesARevokedKidEvenWithoutItsPublicKeyAndFetchesNothing) {
  std::unique_ptr<LocalValidator> v = NewValidator();
  service_.PushWatchMessage(KeyARevoked(/*with_public_jwk=*/false));
  ASSERT_TRUE(v->WaitForVersion(2, absl::Seconds(5)));
  EXPECT_EQ(ReasonOf(*v, Sign(*key_a_)), Reason::kKeyRevoked);
  EXPECT_EQ(v->stats().refetches, 0u);
}

// A change revoking the token `jti` (for two hours) and the tokens of `subject` issued before
// kT0 + 1 s (for 25 hours).
v1::WatchKeysResponse RevocationChange(uint64_t version, const std::string& jti,
                                       const std::string& subject) {
  v1::WatchKeysResponse change;
  change.set_version(version);
  v1::TokenRevocation* t = change.add_token_revocations();
  t->set_token_id(jti);
  *t->mutable_expires_at() = At(kT0 + absl::Hours(2));
  v1::SubjectRevocation* s = change.add_subject_revocations();
  s->set_subject(subject);
  *s->mutable_not_before() = At(kT0 + absl::Seconds(1));
  *s->mutable_expires_at() = At(kT0 + absl::Hours(25));
  return change;
}

TEST_F(LocalValidatorTest, AppliesTokenAndSubjectRevocations) {
  std::unique_ptr<LocalValidator> v = NewValidator();
  service_.PushWatchMessage(RevocationChange(/*version=*/2, "jti-revoked", "7"));
  ASSERT_TRUE(v->WaitForVersion(2, absl::Seconds(5)));
  EXPECT_EQ(ReasonOf(*v, Sign(*key_a_, "42", "jti-revoked")), Reason::kTokenRevoked);
  EXPECT_EQ(ReasonOf(*v, Sign(*key_a_, "7", "jti-other")), Reason::kSubjectRevoked);
  EXPECT_EQ(ReasonOf(*v, Sign(*key_a_, "42", "jti-other")), Reason::kValid);
}

TEST_F(LocalValidatorTest, CachedTokensAreJudgedAgainstTheStateOfTheMoment) {
  LocalValidatorOptions options = Options();
  options.stale_after = absl::Hours(2);  // The clock jumps an hour below; staleness is not tested.
  std::unique_ptr<LocalValidator> v = NewValidator(std::move(options));
  ASSERT_NE(v, nullptr);
  const std::string plain = Sign(*key_a_, "42", "jti-1");
  const std::string of_seven = Sign(*key_a_, "7", "jti-2");
  const std::string revoked_later = Sign(*key_a_, "42", "jti-3");
  // The first answer comes from a full verification, the second from the cache: the same.
  absl::StatusOr<Validation> full = v->Validate(plain, Audience::Expect("orders"));
  ASSERT_TRUE(full.ok() && full->valid());
  EXPECT_EQ(v->stats().cache_hits, 0u);
  absl::StatusOr<Validation> cached = v->Validate(plain, Audience::Expect("orders"));
  ASSERT_TRUE(cached.ok() && cached->valid());
  EXPECT_EQ(v->stats().cache_hits, 1u);
  EXPECT_EQ(cached->identity.subject, full->identity.subject);
  EXPECT_EQ(cached->identity.backend, full->identity.backend);
  EXPECT_EQ(cached->identity.audiences, full->identity.audiences);
  EXPECT_EQ(cached->identity.issued_at, full->identity.issued_at);
  EXPECT_EQ(cached->identity.expires_at, full->identity.expires_at);
  EXPECT_EQ(cached->identity.token_id, full->identity.token_id);
  EXPECT_EQ(cached->identity.key_id, full->identity.key_id);
  EXPECT_EQ(cached->identity.claims_json, full->identity.claims_json);
  // The audience asked for is checked on every hit.
  ASSERT_TRUE(v->Validate(plain, Audience::Expect("billing")).ok());
  EXPECT_EQ(v->Validate(plain, Audience::Expect("billing"))->reason, Reason::kAudienceMismatch);
  EXPECT_EQ(v->stats().cache_hits, 3u);
  EXPECT_EQ(ReasonOf(*v, of_seven), Reason::kValid);
  EXPECT_EQ(ReasonOf(*v, revoked_later), Reason::kValid);

  // Revocations apply to cached tokens at once.
  service_.PushWatchMessage(RevocationChange(/*version=*/2, "jti-3", "7"));
  ASSERT_TRUE(v->WaitForVersion(2, absl::Seconds(5)));
  const uint64_t hits = v->stats().cache_hits;
  EXPECT_EQ(ReasonOf(*v, revoked_later), Reason::kTokenRevoked);
  EXPECT_EQ(ReasonOf(*v, of_seven), Reason::kSubjectRevoked);
  EXPECT_EQ(ReasonOf(*v, plain), Reason::kValid);
  EXPECT_EQ(v->stats().cache_hits, hits + 3);

  // Time: past exp plus the leeway, a cached token is expired.
  clock_.Set(kT0 + absl::Hours(1) + absl::Seconds(31));
  EXPECT_EQ(ReasonOf(*v, plain), Reason::kExpired);
  clock_.Set(kT0 + absl::Minutes(1));
  EXPECT_EQ(ReasonOf(*v, plain), Reason::kValid);  // Verified again: the expired entry was dropped.

  // A revoked key: its cached tokens are refused at once.
  v1::WatchKeysResponse key_change;
  key_change.set_version(3);
  key_change.set_jwks_json(Jwks({key_b_.get()}));
  *key_change.add_keys() = RevokedKey(*key_a_, /*with_public_jwk=*/true);
  service_.PushWatchMessage(key_change);
  ASSERT_TRUE(v->WaitForVersion(3, absl::Seconds(5)));
  EXPECT_EQ(ReasonOf(*v, plain), Reason::kKeyRevoked);
}

TEST_F(LocalValidatorTest, ACacheOfZeroEntriesChecksEverySignature) {
  LocalValidatorOptions options = Options();
  options.cache_entries = 0;
  std::unique_ptr<LocalValidator> v = NewValidator(std::move(options));
  ASSERT_NE(v, nullptr);
  const std::string token = Sign(*key_a_);
  EXPECT_EQ(ReasonOf(*v, token), Reason::kValid);
  EXPECT_EQ(ReasonOf(*v, token), Reason::kValid);
  EXPECT_EQ(v->stats().cache_hits, 0u);
}

TEST_F(LocalValidatorTest, AFullStateReplacesEverythingKnown) {
  std::unique_ptr<LocalValidator> v = NewValidator();
  v1::WatchKeysResponse change;
  change.set_version(2);
  v1::TokenRevocation* t = change.add_token_revocations();
  t->set_token_id("jti-1");
  *t->mutable_expires_at() = At(kT0 + absl::Hours(2));
  service_.PushWatchMessage(change);
  ASSERT_TRUE(v->WaitForVersion(2, absl::Seconds(5)));
  ASSERT_EQ(ReasonOf(*v, Sign(*key_a_)), Reason::kTokenRevoked);

  service_.PushWatchMessage(Snapshot({key_b_.get()}, 3));
  ASSERT_TRUE(v->WaitForVersion(3, absl::Seconds(5)));
  EXPECT_EQ(ReasonOf(*v, Sign(*key_b_)), Reason::kValid);  // jti-1 no longer revoked
  EXPECT_EQ(v->stats().snapshots, 2u);
}

TEST_F(LocalValidatorTest, AnUnknownKidCausesOneRefetchAndIsJudgedAgain) {
  service_.get_jwks = [this](const v1::GetJwksRequest&, v1::GetJwksResponse* resp) {
    resp->set_jwks_json(Jwks({key_a_.get(), key_b_.get()}));
    return grpc::Status::OK;
  };
  std::unique_ptr<LocalValidator> v = NewValidator();
  EXPECT_EQ(ReasonOf(*v, Sign(*key_b_)), Reason::kValid);
  EXPECT_EQ(v->stats().refetches, 1u);
  EXPECT_EQ(ReasonOf(*v, Sign(*key_b_)), Reason::kValid);
  EXPECT_EQ(service_.calls("GetJwks"), 1);
}

TEST_F(LocalValidatorTest, RefetchesAtMostOncePerInterval) {
  std::unique_ptr<server::SigningKey> stranger = NewKey();
  std::unique_ptr<LocalValidator> v = NewValidator();
  EXPECT_EQ(ReasonOf(*v, Sign(*stranger)), Reason::kUnknownKey);
  EXPECT_EQ(ReasonOf(*v, Sign(*stranger)), Reason::kUnknownKey);
  clock_.Advance(absl::Milliseconds(999));
  EXPECT_EQ(ReasonOf(*v, Sign(*stranger)), Reason::kUnknownKey);
  EXPECT_EQ(v->stats().refetches, 1u);
  clock_.Advance(absl::Milliseconds(1));
  EXPECT_EQ(ReasonOf(*v, Sign(*stranger)), Reason::kUnknownKey);
  EXPECT_EQ(v->stats().refetches, 2u);
  EXPECT_EQ(service_.calls("GetJwks"), 2);
}

TEST_F(LocalValidatorTest, RefusesHs256TokensWithoutAFallback) {
  std::unique_ptr<server::SigningKey> hmac = NewKey(Algorithm::kHS256);
  std::unique_ptr<LocalValidator> v = NewValidator();
  EXPECT_EQ(v->Validate(Sign(*hmac), Audience::Any()).status(),
            absl::FailedPreconditionError("HS256 tokens need a remote validator"));
  EXPECT_EQ(v->stats().refetches, 0u);
}

TEST_F(LocalValidatorTest, SendsHs256TokensToTheFallback) {
  std::unique_ptr<server::SigningKey> hmac = NewKey(Algorithm::kHS256);
  auto fallback = std::make_shared<FixedValidator>(Reason::kTokenRevoked);
  LocalValidatorOptions options = Options();
  options.fallback = fallback;
  std::unique_ptr<LocalValidator> v = NewValidator(std::move(options));
  EXPECT_EQ(ReasonOf(*v, Sign(*hmac)), Reason::kTokenRevoked);
  EXPECT_EQ(ReasonOf(*v, Sign(*key_a_)), Reason::kValid);
  EXPECT_EQ(fallback->calls(), 1);
}

TEST_F(LocalValidatorTest, FailsClosedOnceTheStreamHasBeenDownPastTheBound) {
  std::unique_ptr<LocalValidator> v = NewValidator();
  service_.RefuseWatchStreams(grpc::Status(grpc::StatusCode::UNAVAILABLE, "down"));
  service_.EndWatchStreams(grpc::Status(grpc::StatusCode::UNAVAILABLE, "down"));
  ASSERT_TRUE(Eventually([&] { return !v->stats().stream_up; }));
  EXPECT_EQ(ReasonOf(*v, Sign(*key_a_)), Reason::kValid);
  clock_.Advance(absl::Seconds(15));  // stale_after, counted from the last message heard
  EXPECT_EQ(ReasonOf(*v, Sign(*key_a_)), Reason::kValid);
  clock_.Advance(absl::Seconds(1));
  absl::StatusOr<Validation> r = v->Validate(Sign(*key_a_), Audience::Any());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_GE(v->stats().stream_failures, 1u);
}

TEST_F(LocalValidatorTest, HeartbeatsKeepAnIdleStreamFresh) {
  std::unique_ptr<LocalValidator> v = NewValidator();
  ASSERT_NE(v, nullptr);
  clock_.Advance(absl::Seconds(10));
  v1::WatchKeysResponse beat;
  beat.set_heartbeat(true);
  beat.set_version(1);
  beat.mutable_heartbeat_interval()->set_seconds(5);
  service_.PushWatchMessage(beat);
  ASSERT_TRUE(Eventually([&] { return v->stats().heartbeats == 1; }));
  EXPECT_EQ(v->stats().last_heard, clock_.Now());
  EXPECT_EQ(v->stats().server_heartbeat_interval, absl::Seconds(5));
  EXPECT_EQ(v->stats().version, 1u);
  // 20 s after the full state but 10 s after the heartbeat: fresh.
  clock_.Advance(absl::Seconds(10));
  EXPECT_EQ(ReasonOf(*v, Sign(*key_a_)), Reason::kValid);
  // Nothing more is heard (and no new stream may help): 16 s after the heartbeat, fail closed.
  service_.RefuseWatchStreams(grpc::Status(grpc::StatusCode::UNAVAILABLE, "partitioned"));
  clock_.Advance(absl::Seconds(6));
  EXPECT_EQ(v->Validate(Sign(*key_a_), Audience::Any()).status().code(),
            absl::StatusCode::kUnavailable);
}

TEST_F(LocalValidatorTest, TearsDownAStreamThatWentSilentAndReopensIt) {
  std::unique_ptr<LocalValidator> v = NewValidator();
  ASSERT_NE(v, nullptr);
  // The stream stays open but nothing comes, as behind a proxy that stopped forwarding.
  clock_.Advance(absl::Seconds(16));
  EXPECT_EQ(v->Validate(Sign(*key_a_), Audience::Any()).status().code(),
            absl::StatusCode::kUnavailable);
  ASSERT_TRUE(Eventually([&] { return v->stats().stream_connects >= 2; }));
  EXPECT_GE(v->stats().silent_resets, 1u);
  // The new stream's full state counts as heard.
  ASSERT_TRUE(Eventually([&] { return v->Validate(Sign(*key_a_), Audience::Any()).ok(); }));
  EXPECT_EQ(ReasonOf(*v, Sign(*key_a_)), Reason::kValid);
}

TEST_F(LocalValidatorTest, CreateRefusesAServerWhoseHeartbeatsAreNotShorterThanStaleAfter) {
  v1::WatchKeysResponse initial = Snapshot({key_a_.get()}, 1);
  initial.mutable_heartbeat_interval()->set_seconds(15);
  service_.SetInitialWatchMessage(initial);
  absl::StatusOr<std::unique_ptr<LocalValidator>> v = LocalValidator::Create(Options());
  EXPECT_EQ(v.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(v.status().message(), ::testing::HasSubstr("stale_after"));
}

TEST_F(LocalValidatorTest, AHeartbeatBeforeTheFullStateIsDataLoss) {
  v1::WatchKeysResponse beat;
  beat.set_heartbeat(true);
  service_.SetInitialWatchMessage(beat);
  LocalValidatorOptions options = Options();
  options.initial_timeout = absl::Milliseconds(300);
  EXPECT_EQ(LocalValidator::Create(options).status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(LocalValidatorTest, AsksTheFallbackWhenStaleIfToldTo) {
  auto fallback = std::make_shared<FixedValidator>(Reason::kExpired);
  LocalValidatorOptions options = Options();
  options.fallback = fallback;
  options.fallback_when_stale = true;
  std::unique_ptr<LocalValidator> v = NewValidator(std::move(options));
  service_.RefuseWatchStreams(grpc::Status(grpc::StatusCode::UNAVAILABLE, "down"));
  service_.EndWatchStreams(grpc::Status(grpc::StatusCode::UNAVAILABLE, "down"));
  ASSERT_TRUE(Eventually([&] { return !v->stats().stream_up; }));
  clock_.Advance(absl::Seconds(61));
  EXPECT_EQ(ReasonOf(*v, Sign(*key_a_)), Reason::kExpired);
  EXPECT_EQ(fallback->calls(), 1);
}

TEST_F(LocalValidatorTest, ReconnectsAndTakesTheNewFullState) {
  std::unique_ptr<LocalValidator> v = NewValidator();
  v1::WatchKeysResponse fresh = Snapshot({key_b_.get()}, 7);
  v1::TokenRevocation* t = fresh.add_token_revocations();
  t->set_token_id("jti-1");
  *t->mutable_expires_at() = At(kT0 + absl::Hours(2));
  service_.SetInitialWatchMessage(fresh);
  service_.EndWatchStreams(grpc::Status(grpc::StatusCode::UNAVAILABLE, "restarting"));
  ASSERT_TRUE(v->WaitForVersion(7, absl::Seconds(5)));
  EXPECT_EQ(ReasonOf(*v, Sign(*key_b_, "42", "jti-1")), Reason::kTokenRevoked);
  EXPECT_EQ(ReasonOf(*v, Sign(*key_b_, "42", "jti-2")), Reason::kValid);
  EXPECT_EQ(ReasonOf(*v, Sign(*key_a_, "42", "jti-2")), Reason::kUnknownKey);
  LocalValidator::Stats stats = v->stats();
  EXPECT_EQ(stats.stream_connects, 2u);
  EXPECT_EQ(stats.snapshots, 2u);
  EXPECT_EQ(stats.stream_failures, 1u);
  EXPECT_TRUE(stats.stream_up);
  // Up again: staleness counts from the new stream's full state.
  clock_.Advance(absl::Seconds(15));
  EXPECT_EQ(ReasonOf(*v, Sign(*key_b_, "42", "jti-2")), Reason::kValid);
}

TEST_F(LocalValidatorTest, ValidatesOnManyThreadsWhileChangesArrive) {
  std::unique_ptr<LocalValidator> v = NewValidator();
  std::string token = Sign(*key_a_);
  std::atomic<int> valid{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        absl::StatusOr<Validation> r = v->Validate(token, Audience::Any());
        if (r.ok() && r->valid()) valid.fetch_add(1);
      }
    });
  }
  for (uint64_t version = 2; version <= 21; ++version) {
    v1::WatchKeysResponse change;
    change.set_version(version);
    change.set_jwks_json(Jwks({key_a_.get(), key_b_.get()}));
    v1::TokenRevocation* t = change.add_token_revocations();
    t->set_token_id("other-" + std::to_string(version));
    *t->mutable_expires_at() = At(kT0 + absl::Hours(2));
    service_.PushWatchMessage(change);
  }
  for (std::thread& t : workers) t.join();
  ASSERT_TRUE(v->WaitForVersion(21, absl::Seconds(5)));
  EXPECT_EQ(valid.load(), 800);
  EXPECT_EQ(v->stats().deltas, 20u);
}

TEST_F(LocalValidatorTest, WaitForVersionGivesUpAfterItsTimeout) {
  std::unique_ptr<LocalValidator> v = NewValidator();
  EXPECT_TRUE(v->WaitForVersion(1, absl::ZeroDuration()));
  EXPECT_FALSE(v->WaitForVersion(2, absl::Milliseconds(50)));
}

}  // namespace
}  // namespace signet
