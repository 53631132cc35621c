// Pkcs11KeyBackend against a SoftHSM2 token of each test's own: rows carry only a reference, the
// token's key is proven to be the row's before it signs, spent keys and orphans leave the token,
// and the whole key ring (start, rotate, revoke, spent keys deleted) runs on it.
#include "server/keys/pkcs11/pkcs11_key_backend.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/keys/key_ring.h"
#include "server/store/envelope.h"
#include "signet/clock.h"
#include "signet/jwk.h"
#include "tests/support/softhsm_token.h"

namespace signet::server {
namespace {

using ::testing::HasSubstr;

constexpr absl::Time kStart = absl::FromUnixSeconds(1800000000);

class Pkcs11KeyBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<testing::SoftHsmToken> hsm =
        testing::SoftHsmToken::CreateTemporary("signet-test");
    ASSERT_TRUE(hsm.ok()) << hsm.status();
    hsm_ = *hsm;
    Pkcs11Token::Options options;
    options.module_path = hsm->module_path;
    options.token_label = hsm->label;
    options.pin = hsm->pin;
    absl::StatusOr<std::unique_ptr<Pkcs11Token>> token = Pkcs11Token::Open(options);
    ASSERT_TRUE(token.ok()) << token.status();
    token_ = std::shared_ptr<Pkcs11Token>(*std::move(token));
    backend_ = std::make_shared<Pkcs11KeyBackend>(token_, &envelope_);
  }
  void TearDown() override {
    backend_.reset();
    token_.reset();
    hsm_.RemoveFolder();
  }

  std::vector<std::string> TokenIds() {
    std::vector<std::string> ids;
    absl::StatusOr<std::vector<Pkcs11Token::KeyObject>> keys = token_->ListKeys();
    EXPECT_TRUE(keys.ok()) << keys.status();
    if (keys.ok()) {
      for (const Pkcs11Token::KeyObject& k : *keys) ids.push_back(k.id);
    }
    return ids;
  }

  testing::SoftHsmToken hsm_;
  Envelope envelope_ = *Envelope::Create(std::string(32, 'k'));
  std::shared_ptr<Pkcs11Token> token_;
  std::shared_ptr<Pkcs11KeyBackend> backend_;
};

TEST_F(Pkcs11KeyBackendTest, RowsHoldAReferenceAndTheKidNamesTheTokensKey) {
  for (Algorithm alg : {Algorithm::kEdDSA, Algorithm::kES256, Algorithm::kHS256}) {
    absl::StatusOr<KeyRecord> row = backend_->MakeKey(alg, kStart);
    ASSERT_TRUE(row.ok()) << row.status();
    EXPECT_EQ(row->sealed_private, Pkcs11KeyBackend::kReference);
    EXPECT_EQ(row->state, KeyState::kPending);
    EXPECT_TRUE(CheckPublicKey(*row, nullptr).ok());
    EXPECT_THAT(TokenIds(), ::testing::Contains(row->kid));
    absl::StatusOr<std::unique_ptr<SigningKey>> key = backend_->OpenKey(*row);
    ASSERT_TRUE(key.ok()) << key.status();
    EXPECT_EQ((*key)->PrivateBytes(), "");
    absl::StatusOr<std::string> sig = (*key)->Sign("header.payload");
    ASSERT_TRUE(sig.ok()) << sig.status();
    EXPECT_TRUE((*key)->verify_key()->Verify("header.payload", *sig));
    EXPECT_FALSE((*key)->verify_key()->Verify("header.payloaD", *sig));
    EXPECT_EQ(token_->TryExtract(row->kid).code(), absl::StatusCode::kPermissionDenied);
  }
}

TEST_F(Pkcs11KeyBackendTest, ARowWhoseKeyTheTokenLacksOrDoesNotMatchIsRefused) {
  absl::StatusOr<KeyRecord> a = backend_->MakeKey(Algorithm::kEdDSA, kStart);
  absl::StatusOr<KeyRecord> b = backend_->MakeKey(Algorithm::kEdDSA, kStart);
  ASSERT_TRUE(a.ok() && b.ok());
  // The token's object for a is gone, and b's object now answers to a's kid.
  ASSERT_TRUE(token_->Destroy(a->kid).ok());
  absl::Status missing = backend_->OpenKey(*a).status();
  EXPECT_EQ(missing.code(), absl::StatusCode::kFailedPrecondition) << missing;
  EXPECT_THAT(missing.message(), HasSubstr("missing from the PKCS#11 token"));
  ASSERT_TRUE(token_->Rename(b->kid, a->kid).ok());
  absl::Status swapped = backend_->OpenKey(*a).status();
  EXPECT_EQ(swapped.code(), absl::StatusCode::kInvalidArgument) << swapped;
  EXPECT_THAT(swapped.message(), HasSubstr("does not match the row's public key"));
}

TEST_F(Pkcs11KeyBackendTest, SpentKeysAndOldOrphansLeaveTheTokenOthersStay) {
  absl::StatusOr<KeyRecord> kept = backend_->MakeKey(Algorithm::kEdDSA, kStart);
  absl::StatusOr<KeyRecord> spent = backend_->MakeKey(Algorithm::kES256, kStart);
  ASSERT_TRUE(kept.ok() && spent.ok());
  ASSERT_TRUE(backend_->Forget(*spent).ok());
  EXPECT_THAT(TokenIds(), ::testing::UnorderedElementsAre(kept->kid));
  EXPECT_TRUE(backend_->Forget(*spent).ok());  // Idempotent.

  // What a crash between making a key and committing its row leaves: an object no row names.
  absl::StatusOr<KeyRecord> old_orphan = backend_->MakeKey(Algorithm::kHS256, kStart);
  absl::StatusOr<KeyRecord> new_orphan =
      backend_->MakeKey(Algorithm::kEdDSA, kStart + absl::Hours(1));
  ASSERT_TRUE(old_orphan.ok() && new_orphan.ok());
  // Someone else's key on the same token: never touched.
  ASSERT_TRUE(token_->Generate(Algorithm::kEdDSA, "other-app", "another application").ok());
  // Another fleet's key (another KEK) on the same token, as old and unnamed as the orphan: its
  // rows are in another database, so it is not this fleet's to collect.
  Envelope other_kek = *Envelope::Create(std::string(32, 'o'));
  Pkcs11KeyBackend other_fleet(token_, &other_kek);
  absl::StatusOr<KeyRecord> other_fleets = other_fleet.MakeKey(Algorithm::kEdDSA, kStart);
  ASSERT_TRUE(other_fleets.ok());

  absl::StatusOr<int> collected = backend_->CollectOrphans({*kept}, kStart + absl::Minutes(30));
  ASSERT_TRUE(collected.ok()) << collected.status();
  EXPECT_EQ(*collected, 1);
  EXPECT_THAT(TokenIds(), ::testing::UnorderedElementsAre(kept->kid, new_orphan->kid, "other-app",
                                                          other_fleets->kid));
}

// A key is made in three steps: generated under a temporary id, renamed to its kid, its row
// committed. A process killed after each step leaves, respectively: an object under a temporary
// id, an object under a kid no row names, a row and its object. The next start (a store no other
// process uses) destroys the first two and keeps the third; a key ring that never lost a step is
// the control.
TEST_F(Pkcs11KeyBackendTest, AKillAfterAnyStepOfMakingAKeyLeavesNothingPastTheNextStart) {
  FakeClock clock{kStart};
  std::unique_ptr<Store> store = NewMemoryStore();
  LifecycleSettings settings;
  settings.algorithm = Algorithm::kES256;
  {
    std::unique_ptr<KeyRing> ring = KeyRing::Create(
        store.get(), *Envelope::Create(std::string(32, 'k')), settings, &clock, backend_);
    ASSERT_TRUE(ring->Start().ok());  // Step 3 for the first two keys: rows and objects.
  }
  const std::vector<std::string> committed = TokenIds();
  ASSERT_EQ(committed.size(), 2u);
  // Step 1 of a third key: generated under a temporary id, with this fleet's label.
  ASSERT_TRUE(token_
                  ->Generate(Algorithm::kES256, "signet-new-killed-after-generate",
                             absl::StrCat("signet ", envelope_.fingerprint(), " ",
                                          absl::ToUnixSeconds(kStart)))
                  .ok());
  // Step 2 of a fourth: renamed to its kid, the row never committed.
  absl::StatusOr<KeyRecord> uncommitted = backend_->MakeKey(Algorithm::kES256, kStart);
  ASSERT_TRUE(uncommitted.ok());
  EXPECT_EQ(TokenIds().size(), 4u);

  // The restart, moments later.
  clock.Advance(absl::Seconds(5));
  std::unique_ptr<KeyRing> ring = KeyRing::Create(
      store.get(), *Envelope::Create(std::string(32, 'k')), settings, &clock, backend_);
  ASSERT_TRUE(ring->Start().ok());
  EXPECT_THAT(TokenIds(), ::testing::UnorderedElementsAreArray(committed));
  absl::StatusOr<std::string> sig = ring->Current()->active->Sign("h.p");
  ASSERT_TRUE(sig.ok()) << sig.status();
}

TEST_F(Pkcs11KeyBackendTest, RowsOfTheLocalBackendStillOpenAfterTheSwitch) {
  LocalKeyBackend local(&envelope_);
  absl::StatusOr<KeyRecord> before = local.MakeKey(Algorithm::kEdDSA, kStart);
  ASSERT_TRUE(before.ok());
  absl::StatusOr<std::unique_ptr<SigningKey>> key = backend_->OpenKey(*before);
  ASSERT_TRUE(key.ok()) << key.status();
  absl::StatusOr<std::string> sig = (*key)->Sign("x.y");
  ASSERT_TRUE(sig.ok());
  EXPECT_TRUE((*key)->verify_key()->Verify("x.y", *sig));
  EXPECT_TRUE(backend_->Forget(*before).ok());  // Nothing in the token to destroy.
}

// The key ring unchanged on the token: the first keys, signing, rotation, revocation, and spent
// keys deleted from the store and destroyed in the token.
TEST_F(Pkcs11KeyBackendTest, TheKeyRingRunsItsWholeLifecycleOnTheToken) {
  FakeClock clock{kStart};
  std::unique_ptr<Store> store = NewMemoryStore();
  LifecycleSettings settings;
  settings.algorithm = Algorithm::kES256;
  settings.max_ttl = absl::Hours(1);
  settings.rotation_period = absl::Hours(2);
  std::unique_ptr<KeyRing> ring = KeyRing::Create(
      store.get(), *Envelope::Create(std::string(32, 'k')), settings, &clock, backend_);
  ASSERT_TRUE(ring->Start().ok());
  std::shared_ptr<const StateSnapshot> first = ring->Current();
  ASSERT_NE(first->active, nullptr);
  const std::string first_kid = first->active->kid();
  EXPECT_EQ(TokenIds().size(), 2u);  // ACTIVE and PENDING.
  absl::StatusOr<std::string> sig = first->active->Sign("h.p");
  ASSERT_TRUE(sig.ok()) << sig.status();
  EXPECT_TRUE(first->active->verify_key()->Verify("h.p", *sig));

  clock.Advance(settings.publish_ahead + absl::Minutes(1));
  absl::StatusOr<KeyRing::RotateResult> rotated = ring->Rotate(/*immediate=*/false);
  ASSERT_TRUE(rotated.ok()) << rotated.status();
  EXPECT_EQ(rotated->retired.kid, first_kid);
  EXPECT_EQ(TokenIds().size(), 3u);  // RETIRED, ACTIVE, new PENDING.

  absl::StatusOr<KeyRing::RevokeKeyResult> revoked = ring->RevokeKey(rotated->active.kid, "test");
  ASSERT_TRUE(revoked.ok()) << revoked.status();
  ASSERT_NE(ring->Current()->active, nullptr);
  EXPECT_NE(ring->Current()->active->kid(), rotated->active.kid);

  // Past every token's expiry: the RETIRED and REVOKED keys are spent, deleted and destroyed.
  clock.Advance(settings.max_ttl + settings.leeway + absl::Minutes(1));
  ASSERT_TRUE(ring->Maintain().ok());
  std::vector<std::string> stored;
  for (const KeyRecord& r : ring->Current()->key_records) stored.push_back(r.kid);
  EXPECT_THAT(TokenIds(), ::testing::UnorderedElementsAreArray(stored));
  EXPECT_THAT(stored, ::testing::Not(::testing::Contains(first_kid)));
}

}  // namespace
}  // namespace signet::server
