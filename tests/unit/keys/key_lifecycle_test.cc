// KeyLifecycle's decisions, as pure functions over key records.
#include "server/keys/key_lifecycle.h"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace signet::server {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

class KeyLifecycleTest : public ::testing::Test {
 protected:
  KeyLifecycleTest()
      : lifecycle_(Settings(), [this](Algorithm alg, absl::Time now) -> absl::StatusOr<KeyRecord> {
          KeyRecord r;
          r.kid = "k" + std::to_string(++made_);
          r.algorithm = alg;
          r.state = KeyState::kPending;
          r.created_at = now;
          return r;
        }) {}

  static LifecycleSettings Settings() {
    LifecycleSettings s;
    s.publish_ahead = absl::Minutes(10);
    s.rotation_period = absl::Hours(24);
    s.max_ttl = absl::Hours(24);
    s.leeway = absl::Seconds(30);
    return s;
  }

  // Applies changes to the records the way a store does.
  static std::vector<KeyRecord> Apply(std::vector<KeyRecord> keys, const KeyChanges& changes) {
    for (const std::string& kid : changes.deletes) {
      keys.erase(std::remove_if(keys.begin(), keys.end(),
                                [&](const KeyRecord& k) { return k.kid == kid; }),
                 keys.end());
    }
    for (const KeyRecord& up : changes.upserts) {
      auto it = std::find_if(keys.begin(), keys.end(),
                             [&](const KeyRecord& k) { return k.kid == up.kid; });
      if (it == keys.end()) {
        keys.push_back(up);
      } else {
        *it = up;
      }
    }
    return keys;
  }

  static std::map<KeyState, int> Count(const std::vector<KeyRecord>& keys) {
    std::map<KeyState, int> n;
    for (const KeyRecord& k : keys) ++n[k.state];
    return n;
  }

  static std::string KidIn(const std::vector<KeyRecord>& keys, KeyState state) {
    for (const KeyRecord& k : keys) {
      if (k.state == state) return k.kid;
    }
    return "";
  }

  std::vector<KeyRecord> Started() {
    absl::StatusOr<KeyChanges> c = lifecycle_.Maintain({}, kT0);
    EXPECT_TRUE(c.ok());
    return Apply({}, *c);
  }

  int made_ = 0;
  KeyLifecycle lifecycle_;
};

TEST_F(KeyLifecycleTest, ANewFleetGetsOneActiveAndOnePendingKey) {
  std::vector<KeyRecord> keys = Started();
  EXPECT_EQ(Count(keys)[KeyState::kActive], 1);
  EXPECT_EQ(Count(keys)[KeyState::kPending], 1);
  EXPECT_FALSE(lifecycle_.MaintenanceDue(keys, kT0));
  absl::StatusOr<KeyChanges> again = lifecycle_.Maintain(keys, kT0 + absl::Hours(1));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->upserts.empty());
  EXPECT_TRUE(again->deletes.empty());
}

TEST_F(KeyLifecycleTest, RotationNeedsThePendingKeyPublishedForPublishAhead) {
  std::vector<KeyRecord> keys = Started();
  EXPECT_EQ(lifecycle_.Rotate(keys, kT0 + absl::Minutes(9), false).status().code(),
            absl::StatusCode::kFailedPrecondition);
  absl::StatusOr<KeyChanges> c = lifecycle_.Rotate(keys, kT0 + absl::Minutes(10), false);
  ASSERT_TRUE(c.ok());
  std::string pending = KidIn(keys, KeyState::kPending);
  keys = Apply(keys, *c);
  EXPECT_EQ(KidIn(keys, KeyState::kActive), pending);
  EXPECT_EQ(Count(keys)[KeyState::kRetired], 1);
  EXPECT_EQ(Count(keys)[KeyState::kPending], 1);
}

TEST_F(KeyLifecycleTest, UpsertsDemoteBeforeTheyPromote) {
  std::vector<KeyRecord> keys = Started();
  absl::StatusOr<KeyChanges> c = lifecycle_.Rotate(keys, kT0, true);
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(c->upserts.size(), 3u);
  EXPECT_EQ(c->upserts[0].state, KeyState::kRetired);
  EXPECT_EQ(c->upserts[1].state, KeyState::kActive);
  EXPECT_EQ(c->upserts[2].state, KeyState::kPending);
}

TEST_F(KeyLifecycleTest, TheTimerRotatesOnlyAfterTheRotationPeriod) {
  std::vector<KeyRecord> keys = Started();
  EXPECT_FALSE(lifecycle_.MaintenanceDue(keys, kT0 + absl::Hours(24) - absl::Seconds(1)));
  EXPECT_TRUE(lifecycle_.MaintenanceDue(keys, kT0 + absl::Hours(24)));
  std::string pending = KidIn(keys, KeyState::kPending);
  absl::StatusOr<KeyChanges> c = lifecycle_.Maintain(keys, kT0 + absl::Hours(24));
  ASSERT_TRUE(c.ok());
  keys = Apply(keys, *c);
  EXPECT_EQ(KidIn(keys, KeyState::kActive), pending);
}

TEST_F(KeyLifecycleTest, ARetiredKeyIsDeletedWhenItsLastTokenHasExpired) {
  std::vector<KeyRecord> keys = Apply(Started(), *lifecycle_.Rotate(Started(), kT0, true));
  std::string retired = KidIn(keys, KeyState::kRetired);
  ASSERT_FALSE(retired.empty());
  absl::Time last = kT0 + absl::Hours(24) + absl::Seconds(30);
  absl::StatusOr<KeyChanges> early = lifecycle_.Maintain(keys, last - absl::Seconds(1));
  ASSERT_TRUE(early.ok());
  EXPECT_THAT(early->deletes, ::testing::Not(::testing::Contains(retired)));
  absl::StatusOr<KeyChanges> due = lifecycle_.Maintain(keys, last);
  ASSERT_TRUE(due.ok());
  EXPECT_THAT(due->deletes, ::testing::Contains(retired));
}

TEST_F(KeyLifecycleTest, RevokingTheActiveKeyPromotesThePublishedOneAndPublishesANewOne) {
  std::vector<KeyRecord> keys = Started();
  std::string active = KidIn(keys, KeyState::kActive);
  std::string pending = KidIn(keys, KeyState::kPending);
  absl::StatusOr<KeyChanges> c = lifecycle_.Revoke(keys, active, "leak", kT0 + absl::Minutes(1));
  ASSERT_TRUE(c.ok());
  keys = Apply(keys, *c);
  EXPECT_EQ(KidIn(keys, KeyState::kActive), pending);
  EXPECT_EQ(KidIn(keys, KeyState::kRevoked), active);
  EXPECT_EQ(Count(keys)[KeyState::kPending], 1);
  EXPECT_NE(KidIn(keys, KeyState::kPending), pending);
}

TEST_F(KeyLifecycleTest, ARevocationDoesNotWaitForAKeyThatCannotBeMadeNow) {
  std::vector<KeyRecord> keys = Started();
  const std::string active = KidIn(keys, KeyState::kActive);
  const std::string pending = KidIn(keys, KeyState::kPending);
  // The key store (a PKCS#11 token) out of reach: no new key can be made.
  KeyLifecycle cut_off(Settings(), [](Algorithm, absl::Time) -> absl::StatusOr<KeyRecord> {
    return absl::UnavailableError("PKCS#11 C_OpenSession: CKR_DEVICE_REMOVED");
  });
  absl::StatusOr<KeyChanges> c = cut_off.Revoke(keys, active, "leak", kT0 + absl::Minutes(1));
  ASSERT_TRUE(c.ok()) << c.status();
  keys = Apply(keys, *c);
  EXPECT_EQ(KidIn(keys, KeyState::kRevoked), active);
  EXPECT_EQ(KidIn(keys, KeyState::kActive), pending);
  EXPECT_EQ(Count(keys)[KeyState::kPending], 0);
  // Maintain makes the missing PENDING key once keys can be made again.
  EXPECT_TRUE(lifecycle_.MaintenanceDue(keys, kT0 + absl::Minutes(2)));
  keys = Apply(keys, *lifecycle_.Maintain(keys, kT0 + absl::Minutes(2)));
  EXPECT_EQ(Count(keys)[KeyState::kPending], 1);
  // Other failures still fail the revocation (nothing changes).
  KeyLifecycle broken(Settings(), [](Algorithm, absl::Time) -> absl::StatusOr<KeyRecord> {
    return absl::InternalError("no randomness");
  });
  EXPECT_EQ(broken.Revoke(keys, KidIn(keys, KeyState::kActive), "", kT0).status().code(),
            absl::StatusCode::kInternal);
}

TEST_F(KeyLifecycleTest, RevokingTwiceChangesNothingAndUnknownKeysAreNotFound) {
  std::vector<KeyRecord> keys = Started();
  std::string active = KidIn(keys, KeyState::kActive);
  keys = Apply(keys, *lifecycle_.Revoke(keys, active, "", kT0));
  absl::StatusOr<KeyChanges> again = lifecycle_.Revoke(keys, active, "", kT0);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->upserts.empty());
  EXPECT_EQ(lifecycle_.Revoke(keys, "nope", "", kT0).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(KeyLifecycleTest, AChangedAlgorithmReplacesThePendingKey) {
  std::vector<KeyRecord> keys = Started();
  LifecycleSettings es = Settings();
  es.algorithm = Algorithm::kES256;
  KeyLifecycle es_lifecycle(es, [](Algorithm alg, absl::Time now) -> absl::StatusOr<KeyRecord> {
    KeyRecord r;
    r.kid = "es";
    r.algorithm = alg;
    r.created_at = now;
    return r;
  });
  absl::StatusOr<KeyChanges> c = es_lifecycle.Maintain(keys, kT0);
  ASSERT_TRUE(c.ok());
  keys = Apply(keys, *c);
  EXPECT_EQ(KidIn(keys, KeyState::kPending), "es");
  EXPECT_EQ(Count(keys)[KeyState::kPending], 1);
}

TEST_F(KeyLifecycleTest, TwoActiveKeysInAStoreAreRepaired) {
  std::vector<KeyRecord> keys = Started();
  for (KeyRecord& k : keys) k.state = KeyState::kActive;
  keys[1].activated_at = kT0 + absl::Seconds(1);
  absl::StatusOr<KeyChanges> c = lifecycle_.Maintain(keys, kT0 + absl::Seconds(2));
  ASSERT_TRUE(c.ok());
  keys = Apply(keys, *c);
  EXPECT_EQ(Count(keys)[KeyState::kActive], 1);
  EXPECT_EQ(Count(keys)[KeyState::kPending], 1);
}

}  // namespace
}  // namespace signet::server
