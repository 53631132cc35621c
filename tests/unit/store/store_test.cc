// Behaviour every Store must share (store_test.h says where it runs).
#include "tests/unit/store/store_test.h"

#include <atomic>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace signet::server::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

absl::Time At(int64_t seconds) { return absl::FromUnixSeconds(1'700'000'000 + seconds); }

KeyRecord Key(const std::string& kid, KeyState state = KeyState::kPending) {
  KeyRecord record;
  record.kid = kid;
  record.algorithm = Algorithm::kEdDSA;
  record.state = state;
  record.created_at = At(0);
  record.public_jwk = absl::StrCat(R"({"kty":"OKP","crv":"Ed25519","kid":")", kid, R"("})");
  record.sealed_private = std::string("\x01sealed\0\xff", 9) + kid;
  record.mac = std::string("\0tag\xff", 5) + kid;
  return record;
}

KeyChanges Upsert(std::vector<KeyRecord> records) {
  KeyChanges changes;
  changes.upserts = std::move(records);
  return changes;
}

Store::KeyDecision Always(KeyChanges changes) {
  return [changes](const std::vector<KeyRecord>&) -> absl::StatusOr<KeyChanges> { return changes; };
}

Store::KeyDecision Write(std::vector<KeyRecord> upserts, std::vector<std::string> deletes = {}) {
  KeyChanges changes = Upsert(std::move(upserts));
  changes.deletes = std::move(deletes);
  return Always(std::move(changes));
}

}  // namespace

void StoreTest::SetUp() {
  if (std::string why = GetParam().unavailable(); !why.empty()) GTEST_SKIP() << why;
  absl::StatusOr<std::unique_ptr<Store>> store = GetParam().open(folder_.path(), &resources_);
  ASSERT_TRUE(store.ok()) << store.status();
  store_ = *std::move(store);
}

void StoreTest::TearDown() {
  store_.reset();
  resources_.reset();
}

std::vector<KeyRecord> StoreTest::Update(const KeyChanges& changes) {
  absl::StatusOr<std::vector<KeyRecord>> keys = store_->UpdateKeys(Always(changes));
  EXPECT_TRUE(keys.ok()) << keys.status();
  return keys.ok() ? *keys : std::vector<KeyRecord>();
}

std::vector<KeyRecord> StoreTest::Keys() {
  absl::StatusOr<std::vector<KeyRecord>> keys = store_->LoadKeys();
  EXPECT_TRUE(keys.ok()) << keys.status();
  return keys.ok() ? *keys : std::vector<KeyRecord>();
}

StoreSnapshot StoreTest::Snapshot() {
  absl::StatusOr<StoreSnapshot> snapshot = store_->Load();
  EXPECT_TRUE(snapshot.ok()) << snapshot.status();
  return snapshot.ok() ? *snapshot : StoreSnapshot();
}

namespace {

TEST_P(StoreTest, NewStoreLoadsEmpty) {
  StoreSnapshot snapshot = Snapshot();
  EXPECT_THAT(snapshot.keys, IsEmpty());
  EXPECT_THAT(snapshot.token_revocations, IsEmpty());
  EXPECT_THAT(snapshot.subject_revocations, IsEmpty());
  EXPECT_THAT(Keys(), IsEmpty());
}

TEST_P(StoreTest, UpdateKeysUpsertsDeletesAndReturnsEveryKeyOrderedByKid) {
  EXPECT_THAT(Update(Upsert({Key("c"), Key("a"), Key("b")})),
              ElementsAre(Key("a"), Key("b"), Key("c")));

  KeyRecord b_active = Key("b", KeyState::kActive);
  b_active.activated_at = At(60);
  std::vector<KeyRecord> seen;
  absl::StatusOr<std::vector<KeyRecord>> after =
      store_->UpdateKeys([&](const std::vector<KeyRecord>& current) -> absl::StatusOr<KeyChanges> {
        seen = current;
        KeyChanges changes = Upsert({b_active, Key("d")});
        changes.deletes = {"a", "never-existed"};
        return changes;
      });
  ASSERT_TRUE(after.ok()) << after.status();

  EXPECT_THAT(seen, ElementsAre(Key("a"), Key("b"), Key("c")));
  EXPECT_THAT(*after, ElementsAre(b_active, Key("c"), Key("d")));
  EXPECT_THAT(Keys(), ElementsAre(b_active, Key("c"), Key("d")));
  EXPECT_THAT(Snapshot().keys, ElementsAre(b_active, Key("c"), Key("d")));
}

TEST_P(StoreTest, UpdateKeysWhoseDecisionFailsWritesNothingAndReturnsTheDecisionsError) {
  Update(Upsert({Key("a")}));

  absl::StatusOr<std::vector<KeyRecord>> after =
      store_->UpdateKeys([](const std::vector<KeyRecord>&) -> absl::StatusOr<KeyChanges> {
        return absl::FailedPreconditionError("no active key to retire");
      });

  EXPECT_EQ(after.status(), absl::FailedPreconditionError("no active key to retire"));
  EXPECT_THAT(Keys(), ElementsAre(Key("a")));
}

TEST_P(StoreTest, UpdateKeysRefusesAKidBothUpsertedAndDeletedAndWritesNothing) {
  Update(Upsert({Key("a")}));
  KeyChanges changes = Upsert({Key("b"), Key("a", KeyState::kActive)});
  changes.deletes = {"a"};

  absl::StatusOr<std::vector<KeyRecord>> after = store_->UpdateKeys(Always(changes));

  EXPECT_EQ(after.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Keys(), ElementsAre(Key("a")));
}

TEST_P(StoreTest, UpdateKeysRefusesAKidUpsertedTwiceOrEmpty) {
  EXPECT_EQ(store_->UpdateKeys(Always(Upsert({Key("a"), Key("a")}))).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->UpdateKeys(Always(Upsert({Key("")}))).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Keys(), IsEmpty());
}

TEST_P(StoreTest, KeyRecordKeepsEveryField) {
  KeyRecord record;
  record.kid = "kid-\xe2\x9c\x93";
  record.algorithm = Algorithm::kES256;
  record.state = KeyState::kRevoked;
  record.created_at = At(1) + absl::Microseconds(1);
  record.activated_at = At(2);
  record.retired_at = absl::InfinitePast();
  record.revoked_at = At(3) + absl::Microseconds(999'999);
  record.revoke_reason = "leaked in a log";
  record.public_jwk = R"({"kty":"EC"})";
  record.sealed_private = std::string("\0\x01\x02\xfe\xff", 5);

  EXPECT_THAT(Update(Upsert({record})), ElementsAre(record));
  EXPECT_THAT(Keys(), ElementsAre(record));
}

TEST_P(StoreTest, HmacKeyWithoutPublicJwkAndNeverTimesRoundTrips) {
  KeyRecord record;
  record.kid = "hmac";
  record.algorithm = Algorithm::kHS256;

  EXPECT_THAT(Update(Upsert({record})), ElementsAre(record));
}

TEST_P(StoreTest, TimesAreKeptToTheMicrosecondRoundedDown) {
  KeyRecord record = Key("a");
  record.created_at = At(5) + absl::Nanoseconds(1'999);

  std::vector<KeyRecord> keys = Update(Upsert({record}));

  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].created_at, At(5) + absl::Microseconds(1));
}

TEST_P(StoreTest, TokenRevocationUpsertKeepsTheLaterExpiry) {
  ASSERT_TRUE(store_->AddTokenRevocation({"jti-1", At(100)}).ok());
  ASSERT_TRUE(store_->AddTokenRevocation({"jti-1", At(50)}).ok());
  EXPECT_THAT(Snapshot().token_revocations, ElementsAre(TokenRevocationRecord{"jti-1", At(100)}));

  ASSERT_TRUE(store_->AddTokenRevocation({"jti-1", At(200)}).ok());
  ASSERT_TRUE(store_->AddTokenRevocation({"jti-0", At(10)}).ok());
  EXPECT_THAT(Snapshot().token_revocations, ElementsAre(TokenRevocationRecord{"jti-0", At(10)},
                                                        TokenRevocationRecord{"jti-1", At(200)}));
}

TEST_P(StoreTest, SubjectRevocationUpsertKeepsTheLaterNotBeforeAndTheLaterExpiry) {
  ASSERT_TRUE(store_->AddSubjectRevocation({"alice", At(10), At(100)}).ok());
  ASSERT_TRUE(store_->AddSubjectRevocation({"alice", At(5), At(200)}).ok());
  EXPECT_THAT(Snapshot().subject_revocations,
              ElementsAre(SubjectRevocationRecord{"alice", At(10), At(200)}));

  ASSERT_TRUE(store_->AddSubjectRevocation({"alice", At(20), At(150)}).ok());
  EXPECT_THAT(Snapshot().subject_revocations,
              ElementsAre(SubjectRevocationRecord{"alice", At(20), At(200)}));
}

TEST_P(StoreTest, RevocationsWithoutIdOrSubjectAreRefused) {
  EXPECT_EQ(store_->AddTokenRevocation({"", At(1)}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->AddSubjectRevocation({"", At(1), At(2)}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Snapshot().token_revocations, IsEmpty());
  EXPECT_THAT(Snapshot().subject_revocations, IsEmpty());
}

TEST_P(StoreTest, PruneDeletesRevocationsThatExpireAtOrBeforeNowAndKeepsKeys) {
  Update(Upsert({Key("a")}));
  ASSERT_TRUE(store_->AddTokenRevocation({"t100", At(100)}).ok());
  ASSERT_TRUE(store_->AddTokenRevocation({"t200", At(200)}).ok());
  ASSERT_TRUE(store_->AddTokenRevocation({"t300", At(300)}).ok());
  ASSERT_TRUE(store_->AddSubjectRevocation({"s100", At(0), At(100)}).ok());
  ASSERT_TRUE(store_->AddSubjectRevocation({"s201", At(0), At(200) + absl::Microseconds(1)}).ok());

  ASSERT_TRUE(store_->PruneRevocations(At(200)).ok());

  StoreSnapshot snapshot = Snapshot();
  EXPECT_THAT(snapshot.token_revocations, ElementsAre(TokenRevocationRecord{"t300", At(300)}));
  EXPECT_THAT(snapshot.subject_revocations,
              ElementsAre(SubjectRevocationRecord{"s201", At(0), At(200) + absl::Microseconds(1)}));
  EXPECT_THAT(snapshot.keys, ElementsAre(Key("a")));
}

TEST_P(StoreTest, InfiniteRevocationTimesRoundTripAndNeverPrune) {
  ASSERT_TRUE(store_->AddTokenRevocation({"forever", absl::InfiniteFuture()}).ok());
  ASSERT_TRUE(
      store_->AddSubjectRevocation({"bob", absl::InfinitePast(), absl::InfiniteFuture()}).ok());

  ASSERT_TRUE(store_->PruneRevocations(At(1'000'000'000)).ok());

  StoreSnapshot snapshot = Snapshot();
  EXPECT_THAT(snapshot.token_revocations,
              ElementsAre(TokenRevocationRecord{"forever", absl::InfiniteFuture()}));
  EXPECT_THAT(
      snapshot.subject_revocations,
      ElementsAre(SubjectRevocationRecord{"bob", absl::InfinitePast(), absl::InfiniteFuture()}));
}

TEST_P(StoreTest, EmptyDecisionLeavesTheKeysAsTheyAre) {
  Update(Upsert({Key("a", KeyState::kActive)}));
  absl::StatusOr<std::vector<KeyRecord>> after = store_->UpdateKeys(Write({}));
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_THAT(*after, ElementsAre(Key("a", KeyState::kActive)));
  EXPECT_THAT(Keys(), ElementsAre(Key("a", KeyState::kActive)));
}

TEST_P(StoreTest, LoadReturnsKeysAndRevocationsSorted) {
  Update(Upsert({Key("b"), Key("a", KeyState::kActive)}));
  ASSERT_TRUE(store_->AddTokenRevocation({"t2", At(20)}).ok());
  ASSERT_TRUE(store_->AddTokenRevocation({"t1", At(10)}).ok());
  ASSERT_TRUE(store_->AddSubjectRevocation({"s2", At(1), At(20)}).ok());
  ASSERT_TRUE(store_->AddSubjectRevocation({"s1", At(2), At(10)}).ok());

  StoreSnapshot snapshot = Snapshot();
  EXPECT_THAT(snapshot.keys, ElementsAre(Key("a", KeyState::kActive), Key("b")));
  EXPECT_THAT(snapshot.token_revocations, ElementsAre(TokenRevocationRecord{"t1", At(10)},
                                                      TokenRevocationRecord{"t2", At(20)}));
  EXPECT_THAT(snapshot.subject_revocations,
              ElementsAre(SubjectRevocationRecord{"s1", At(2), At(10)},
                          SubjectRevocationRecord{"s2", At(1), At(20)}));
}

// Each decision reads a counter kept in a key record and writes it plus one: a lost update would
// leave the counter short.
Store::KeyDecision IncrementCounter() {
  return [](const std::vector<KeyRecord>& current) -> absl::StatusOr<KeyChanges> {
    KeyRecord counter = Key("counter");
    int value = 0;
    for (const KeyRecord& record : current) {
      if (record.kid == "counter" && !absl::SimpleAtoi(record.revoke_reason, &value)) {
        return absl::InternalError("counter is not a number");
      }
    }
    counter.revoke_reason = absl::StrCat(value + 1);
    return Upsert({counter});
  };
}

int CounterValue(const std::vector<KeyRecord>& keys) {
  int value = -1;
  for (const KeyRecord& record : keys) {
    if (record.kid == "counter") {
      EXPECT_TRUE(absl::SimpleAtoi(record.revoke_reason, &value));
    }
  }
  return value;
}

TEST_P(StoreTest, UpdateKeysFromEightThreadsAtOnceLosesNoUpdate) {
  constexpr int kThreads = 8;
  constexpr int kIncrementsPerThread = 20;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIncrementsPerThread; ++i) {
        if (!store_->UpdateKeys(IncrementCounter()).ok()) ++failures;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(CounterValue(Keys()), kThreads * kIncrementsPerThread);
}

}  // namespace
}  // namespace signet::server::testing
