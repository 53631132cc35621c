#include "server/store/key_record_authenticator.h"

#include <functional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "server/store/envelope.h"
#include "tests/unit/store/test_util.h"

namespace signet::server {
namespace {

KeyRecordAuthenticator MakeAuthenticator(char fill) {
  absl::StatusOr<Envelope> envelope = Envelope::Create(std::string(32, fill));
  EXPECT_TRUE(envelope.ok()) << envelope.status();
  absl::StatusOr<KeyRecordAuthenticator> authenticator = KeyRecordAuthenticator::Create(*envelope);
  EXPECT_TRUE(authenticator.ok()) << authenticator.status();
  return *authenticator;
}

KeyRecord SampleRecord() {
  KeyRecord record;
  record.kid = "kid-1";
  record.algorithm = Algorithm::kEdDSA;
  record.state = KeyState::kRetired;
  record.created_at = absl::FromUnixSeconds(1700000000);
  record.activated_at = absl::FromUnixSeconds(1700000100);
  record.retired_at = absl::FromUnixSeconds(1700000200);
  record.revoke_reason = "";
  record.public_jwk = R"({"kty":"OKP"})";
  record.sealed_private = std::string("\x01sealed\0bytes", 13);
  return record;
}

KeyRecord Tagged(const KeyRecordAuthenticator& authenticator, KeyRecord record) {
  absl::StatusOr<std::string> tag = authenticator.Tag(record);
  EXPECT_TRUE(tag.ok()) << tag.status();
  record.mac = *tag;
  return record;
}

TEST(KeyRecordAuthenticator, ATaggedRecordVerifies) {
  KeyRecordAuthenticator authenticator = MakeAuthenticator('a');
  KeyRecord record = Tagged(authenticator, SampleRecord());
  EXPECT_EQ(record.mac.size(), 32u);
  EXPECT_TRUE(authenticator.Verify(record).ok());
}

TEST(KeyRecordAuthenticator, TheTagIgnoresTimeBelowTheMicrosecondAsTheStoresDo) {
  KeyRecordAuthenticator authenticator = MakeAuthenticator('a');
  KeyRecord record = Tagged(authenticator, SampleRecord());
  record.created_at += absl::Nanoseconds(300);
  EXPECT_TRUE(authenticator.Verify(record).ok());
}

TEST(KeyRecordAuthenticator, ChangingAnyCoveredFieldBreaksTheTag) {
  KeyRecordAuthenticator authenticator = MakeAuthenticator('a');
  const KeyRecord tagged = Tagged(authenticator, SampleRecord());
  std::vector<std::pair<const char*, std::function<void(KeyRecord*)>>> changes = {
      {"kid", [](KeyRecord* r) { r->kid = "kid-2"; }},
      {"algorithm", [](KeyRecord* r) { r->algorithm = Algorithm::kES256; }},
      {"public_jwk", [](KeyRecord* r) { r->public_jwk = R"({"kty":"EC"})"; }},
      {"state", [](KeyRecord* r) { r->state = KeyState::kActive; }},
      {"created_at", [](KeyRecord* r) { r->created_at += absl::Microseconds(1); }},
      {"activated_at", [](KeyRecord* r) { r->activated_at = absl::InfinitePast(); }},
      {"retired_at", [](KeyRecord* r) { r->retired_at += absl::Hours(1); }},
      {"revoked_at", [](KeyRecord* r) { r->revoked_at = absl::FromUnixSeconds(1); }},
      {"revoke_reason", [](KeyRecord* r) { r->revoke_reason = "x"; }},
      {"sealed_private", [](KeyRecord* r) { r->sealed_private.back() ^= 1; }},
      {"mac", [](KeyRecord* r) { r->mac[0] ^= 1; }},
      {"truncated mac", [](KeyRecord* r) { r->mac.pop_back(); }},
  };
  for (const auto& [field, change] : changes) {
    KeyRecord changed = tagged;
    change(&changed);
    EXPECT_EQ(authenticator.Verify(changed).code(), absl::StatusCode::kPermissionDenied) << field;
  }
}

TEST(KeyRecordAuthenticator, FieldBoundariesCannotBeShifted) {
  // The same bytes split differently between kid and public_jwk must not share a tag.
  KeyRecordAuthenticator authenticator = MakeAuthenticator('a');
  KeyRecord a = SampleRecord();
  a.kid = "ab";
  a.public_jwk = "c";
  KeyRecord b = SampleRecord();
  b.kid = "a";
  b.public_jwk = "bc";
  EXPECT_NE(*authenticator.Tag(a), *authenticator.Tag(b));
  a.revoke_reason = "x";
  a.sealed_private = "";
  b.revoke_reason = "";
  b.sealed_private = "x";
  EXPECT_NE(*authenticator.Tag(a), *authenticator.Tag(b));
}

TEST(KeyRecordAuthenticator, ATagFromAnotherKekDoesNotVerify) {
  KeyRecord record = Tagged(MakeAuthenticator('a'), SampleRecord());
  EXPECT_EQ(MakeAuthenticator('b').Verify(record).code(), absl::StatusCode::kPermissionDenied);
}

TEST(KeyRecordAuthenticator, ARecordWithoutATagIsALegacyRowNotAMatch) {
  EXPECT_EQ(MakeAuthenticator('a').Verify(SampleRecord()).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(KeyRecordAuthenticator, TheMacKeyIsNeitherTheKekNorAnotherLabelsKey) {
  const std::string kek(32, 'a');
  absl::StatusOr<Envelope> envelope = Envelope::Create(kek);
  ASSERT_TRUE(envelope.ok());
  absl::StatusOr<std::string> one = envelope->DeriveKey("label one");
  absl::StatusOr<std::string> two = envelope->DeriveKey("label two");
  ASSERT_TRUE(one.ok() && two.ok());
  EXPECT_EQ(one->size(), 32u);
  EXPECT_NE(*one, kek);
  EXPECT_NE(*one, *two);
  EXPECT_EQ(*one, *envelope->DeriveKey("label one"));
}

TEST(SealedKeyAssociatedData, DiffersFromTheKidThatEarlierVersionsBound) {
  EXPECT_NE(SealedKeyAssociatedData("kid-1"), "kid-1");
  EXPECT_NE(SealedKeyAssociatedData("kid-1"), SealedKeyAssociatedData("kid-2"));
}

}  // namespace
}  // namespace signet::server
