#include "signet/revocation_set.h"

#include <malloc.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "signet/base64url.h"

namespace signet {
namespace {

using ::testing::UnorderedElementsAre;

const absl::Time kNow = absl::FromUnixSeconds(1700000000);

// A signet-style jti: 16 bytes in canonical base64url (22 characters).
std::string Jti(uint64_t n) {
  std::string bytes(16, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>(n >> (8 * i));
  bytes[15] = static_cast<char>(n * 7);
  return Base64UrlEncode(bytes);
}

std::vector<std::string> TokenIds(const RevocationSet& set) {
  std::vector<std::string> ids;
  for (const auto& e : set.TokenEntries()) ids.push_back(e.token_id);
  return ids;
}

TEST(RevocationSet, StartsEmpty) {
  RevocationSet set;
  EXPECT_EQ(set.token_count(), 0u);
  EXPECT_EQ(set.subject_count(), 0u);
  EXPECT_FALSE(set.IsTokenRevoked(Jti(1), kNow));
  EXPECT_FALSE(set.IsTokenRevoked("other", kNow));
  EXPECT_FALSE(set.IsSubjectRevoked("user", absl::InfinitePast(), kNow));
  EXPECT_TRUE(set.TokenEntries().empty());
  EXPECT_TRUE(set.SubjectEntries().empty());
}

TEST(RevocationSet, AddingMakesANewSetAndLeavesTheOldOneAlone) {
  const RevocationSet empty;
  const RevocationSet one = empty.WithToken(Jti(1), kNow + absl::Hours(1));
  const RevocationSet two = one.WithToken("not-a-jti", kNow + absl::Hours(1));
  const RevocationSet three = two.WithSubject("user-7", kNow, kNow + absl::Hours(1));

  EXPECT_EQ(empty.token_count(), 0u);
  EXPECT_EQ(one.token_count(), 1u);
  EXPECT_EQ(two.token_count(), 2u);
  EXPECT_EQ(three.token_count(), 2u);
  EXPECT_EQ(two.subject_count(), 0u);
  EXPECT_EQ(three.subject_count(), 1u);

  EXPECT_FALSE(empty.IsTokenRevoked(Jti(1), kNow));
  EXPECT_TRUE(one.IsTokenRevoked(Jti(1), kNow));
  EXPECT_FALSE(one.IsTokenRevoked("not-a-jti", kNow));
  EXPECT_TRUE(two.IsTokenRevoked("not-a-jti", kNow));
  EXPECT_TRUE(three.IsTokenRevoked(Jti(1), kNow));
  EXPECT_FALSE(two.IsSubjectRevoked("user-7", kNow - absl::Seconds(1), kNow));
  EXPECT_TRUE(three.IsSubjectRevoked("user-7", kNow - absl::Seconds(1), kNow));
}

TEST(RevocationSet, CopiesShareAndStayIndependent) {
  RevocationSet a;
  for (int i = 0; i < 1000; ++i) a = a.WithToken(Jti(i), kNow + absl::Hours(1));
  RevocationSet b = a;  // Shares every shard.
  b = b.WithToken(Jti(5000), kNow + absl::Hours(1));
  EXPECT_EQ(a.token_count(), 1000u);
  EXPECT_EQ(b.token_count(), 1001u);
  EXPECT_FALSE(a.IsTokenRevoked(Jti(5000), kNow));
  EXPECT_TRUE(b.IsTokenRevoked(Jti(5000), kNow));
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(a.IsTokenRevoked(Jti(i), kNow));
    ASSERT_TRUE(b.IsTokenRevoked(Jti(i), kNow));
  }
}

TEST(RevocationSet, CompactJtisAndOtherIdsRoundTripExactly) {
  const std::string compact = Jti(42);
  ASSERT_EQ(compact.size(), 22u);
  // 22 characters but not canonical (non-zero unused bits): kept as a string, not confused with
  // the canonical id that decodes to the same bytes.
  std::string non_canonical = compact;
  non_canonical.back() += 1;  // A->B, Q->R, g->h, w->x: sets an unused bit.
  const std::string twenty_three = compact + "A";
  RevocationSet set = RevocationSet().WithEntries({{compact, kNow + absl::Hours(1)},
                                                   {"opaque id", kNow + absl::Hours(1)},
                                                   {twenty_three, kNow + absl::Hours(1)},
                                                   {"", kNow + absl::Hours(1)}},
                                                  {});
  EXPECT_THAT(TokenIds(set), UnorderedElementsAre(compact, "opaque id", twenty_three, ""));
  EXPECT_TRUE(set.IsTokenRevoked(compact, kNow));
  EXPECT_TRUE(set.IsTokenRevoked("opaque id", kNow));
  EXPECT_TRUE(set.IsTokenRevoked(twenty_three, kNow));
  EXPECT_TRUE(set.IsTokenRevoked("", kNow));
  EXPECT_FALSE(set.IsTokenRevoked(non_canonical, kNow));
  EXPECT_FALSE(set.IsTokenRevoked(compact.substr(0, 21), kNow));
  for (const auto& e : set.TokenEntries()) EXPECT_EQ(e.expires_at, kNow + absl::Hours(1));
}

TEST(RevocationSet, ATokenIsRevokedOnlyUntilItsEntryExpires) {
  for (const std::string& id : {Jti(1), std::string("opaque")}) {
    RevocationSet set = RevocationSet().WithToken(id, kNow);
    EXPECT_TRUE(set.IsTokenRevoked(id, kNow - absl::Nanoseconds(1)));
    EXPECT_FALSE(set.IsTokenRevoked(id, kNow));
    EXPECT_FALSE(set.IsTokenRevoked(id, kNow + absl::Seconds(1)));
  }
}

TEST(RevocationSet, AddingAnIdAgainKeepsTheLaterExpiry) {
  for (const std::string& id : {Jti(1), std::string("opaque")}) {
    RevocationSet set =
        RevocationSet().WithToken(id, kNow + absl::Hours(2)).WithToken(id, kNow + absl::Hours(1));
    EXPECT_EQ(set.token_count(), 1u);
    ASSERT_EQ(set.TokenEntries().size(), 1u);
    EXPECT_EQ(set.TokenEntries()[0].expires_at, kNow + absl::Hours(2));
    set = set.WithToken(id, kNow + absl::Hours(3));
    EXPECT_EQ(set.TokenEntries()[0].expires_at, kNow + absl::Hours(3));
  }
}

TEST(RevocationSet, KeepsSubMicrosecondAndInfiniteExpiries) {
  RevocationSet set = RevocationSet()
                          .WithToken(Jti(1), kNow + absl::Nanoseconds(1))
                          .WithToken(Jti(2), absl::InfiniteFuture());
  EXPECT_TRUE(set.IsTokenRevoked(Jti(1), kNow));
  EXPECT_FALSE(set.IsTokenRevoked(Jti(1), kNow + absl::Nanoseconds(1)));
  EXPECT_TRUE(set.IsTokenRevoked(Jti(2), absl::FromUnixSeconds(int64_t{1} << 40)));
}

TEST(RevocationSet, ASubjectIsRevokedForTokensIssuedBeforeNotBefore) {
  RevocationSet set = RevocationSet().WithSubject("user-7", kNow, kNow + absl::Hours(1));
  EXPECT_TRUE(set.IsSubjectRevoked("user-7", kNow - absl::Seconds(1), kNow));
  EXPECT_TRUE(set.IsSubjectRevoked("user-7", absl::InfinitePast(), kNow));
  EXPECT_FALSE(set.IsSubjectRevoked("user-7", kNow, kNow));
  EXPECT_FALSE(set.IsSubjectRevoked("user-7", kNow + absl::Seconds(1), kNow));
  EXPECT_FALSE(set.IsSubjectRevoked("user-8", kNow - absl::Seconds(1), kNow));
  // After expires_at no such token can be live, so the entry no longer applies.
  EXPECT_FALSE(set.IsSubjectRevoked("user-7", kNow - absl::Seconds(1), kNow + absl::Hours(1)));
}

TEST(RevocationSet, AddingASubjectAgainKeepsTheLaterTimes) {
  RevocationSet set = RevocationSet()
                          .WithSubject("u", kNow, kNow + absl::Hours(1))
                          .WithSubject("u", kNow - absl::Hours(1), kNow + absl::Hours(2));
  ASSERT_EQ(set.SubjectEntries().size(), 1u);
  EXPECT_EQ(set.SubjectEntries()[0].subject, "u");
  EXPECT_EQ(set.SubjectEntries()[0].not_before, kNow);
  EXPECT_EQ(set.SubjectEntries()[0].expires_at, kNow + absl::Hours(2));
}

TEST(RevocationSet, PrunedDropsExpiredEntriesOnly) {
  RevocationSet set;
  std::vector<RevocationSet::TokenEntry> tokens;
  for (int i = 0; i < 600; ++i) {
    tokens.push_back({Jti(i), kNow + absl::Seconds(i % 2 == 0 ? -1 : 60)});
  }
  tokens.push_back({"opaque-old", kNow});
  tokens.push_back({"opaque-new", kNow + absl::Seconds(1)});
  set = set.WithEntries(tokens, {{"old", kNow, kNow}, {"new", kNow, kNow + absl::Seconds(1)}});
  ASSERT_EQ(set.token_count(), 602u);
  ASSERT_EQ(set.subject_count(), 2u);

  const RevocationSet pruned = set.Pruned(kNow);
  EXPECT_EQ(pruned.token_count(), 301u);
  EXPECT_EQ(pruned.subject_count(), 1u);
  EXPECT_EQ(set.token_count(), 602u);  // The original is untouched.
  for (int i = 0; i < 600; ++i) {
    ASSERT_EQ(pruned.IsTokenRevoked(Jti(i), kNow - absl::Seconds(10)), i % 2 == 1) << i;
  }
  EXPECT_FALSE(pruned.IsTokenRevoked("opaque-old", kNow - absl::Seconds(10)));
  EXPECT_TRUE(pruned.IsTokenRevoked("opaque-new", kNow));
  ASSERT_EQ(pruned.SubjectEntries().size(), 1u);
  EXPECT_EQ(pruned.SubjectEntries()[0].subject, "new");

  const RevocationSet all_gone = set.Pruned(kNow + absl::Hours(1));
  EXPECT_EQ(all_gone.token_count(), 0u);
  EXPECT_EQ(all_gone.subject_count(), 0u);
}

TEST(RevocationSet, HoldsAMillionJtisInUnderOneHundredMegabytes) {
  std::vector<RevocationSet::TokenEntry> tokens;
  tokens.reserve(1000000);
  for (uint64_t i = 0; i < 1000000; ++i) tokens.push_back({Jti(i), kNow + absl::Hours(1)});
  auto allocated = [] {
    const struct mallinfo2 info = mallinfo2();
    return info.uordblks + info.hblkhd;  // Heap in use plus mmap-ed blocks.
  };
  const size_t before = allocated();
  RevocationSet set = RevocationSet().WithEntries(tokens, {});
  const size_t after = allocated();
  tokens.clear();
  tokens.shrink_to_fit();
  EXPECT_EQ(set.token_count(), 1000000u);
  EXPECT_LT(after - before, size_t{100} << 20);
  EXPECT_TRUE(set.IsTokenRevoked(Jti(0), kNow));
  EXPECT_TRUE(set.IsTokenRevoked(Jti(999999), kNow));
  EXPECT_FALSE(set.IsTokenRevoked(Jti(1000000), kNow));
}

// One more entry in a large set copies a bounded amount, not a share of the set: a set of 300,000
// entries of each kind and the same set plus one differ by a few kilobytes of new memory.
TEST(RevocationSet, AddingOneEntryToALargeSetCopiesLittle) {
  std::vector<RevocationSet::TokenEntry> tokens;
  std::vector<RevocationSet::SubjectEntry> subjects;
  for (uint64_t i = 0; i < 300000; ++i) {
    tokens.push_back({Jti(i), kNow + absl::Hours(1)});
    subjects.push_back({absl::StrCat("user-", i), kNow, kNow + absl::Hours(1)});
  }
  const RevocationSet large = RevocationSet().WithEntries(tokens, subjects);
  auto allocated = [] {
    const struct mallinfo2 info = mallinfo2();
    return info.uordblks + info.hblkhd;
  };
  const size_t before_token = allocated();
  const RevocationSet one_more_token = large.WithToken(Jti(300000), kNow + absl::Hours(1));
  const size_t after_token = allocated();
  const RevocationSet one_more_subject =
      large.WithSubject("user-300000", kNow, kNow + absl::Hours(1));
  const size_t after_subject = allocated();
  EXPECT_LT(after_token - before_token, size_t{16} << 10);
  EXPECT_LT(after_subject - after_token, size_t{16} << 10);
  EXPECT_EQ(one_more_token.token_count(), 300001u);
  EXPECT_EQ(one_more_subject.subject_count(), 300001u);
  EXPECT_TRUE(one_more_token.IsTokenRevoked(Jti(300000), kNow));
  EXPECT_FALSE(large.IsTokenRevoked(Jti(300000), kNow));
  EXPECT_TRUE(one_more_subject.IsSubjectRevoked("user-300000", kNow - absl::Seconds(1), kNow));
  EXPECT_FALSE(large.IsSubjectRevoked("user-300000", kNow - absl::Seconds(1), kNow));
}

// Sets grown one entry at a time (every change copies the path it touches) stay independent of
// each other and agree with a set built in one call.
TEST(RevocationSet, EveryVersionKeepsItsOwnEntries) {
  std::vector<RevocationSet> versions(1);
  std::vector<RevocationSet::TokenEntry> tokens;
  for (uint64_t i = 0; i < 20000; ++i) {
    const std::string id = i % 10 == 0 ? absl::StrCat("opaque-", i) : Jti(i);
    tokens.push_back({id, kNow + absl::Seconds(static_cast<int64_t>(i))});
    RevocationSet next = versions.back().WithToken(id, tokens.back().expires_at);
    if (i % 997 == 0)
      next = next.WithSubject(absl::StrCat("user-", i), kNow, kNow + absl::Hours(1));
    if (i % 2000 == 0) versions.push_back(next);
    versions.back() = std::move(next);
  }
  const RevocationSet bulk = RevocationSet().WithEntries(tokens, {});
  EXPECT_EQ(versions.back().token_count(), 20000u);
  EXPECT_EQ(bulk.token_count(), 20000u);
  std::vector<std::string> ids = TokenIds(bulk);
  std::vector<std::string> grown = TokenIds(versions.back());
  std::sort(ids.begin(), ids.end());
  std::sort(grown.begin(), grown.end());
  EXPECT_EQ(ids, grown);
  // Version v (v >= 1, but the last) was left behind holding entries 0 .. 2000 v - 1.
  ASSERT_EQ(versions.size(), 11u);
  EXPECT_EQ(versions[0].token_count(), 0u);
  for (size_t v = 1; v + 1 < versions.size(); ++v) {
    const uint64_t last = 2000 * v - 1;
    EXPECT_EQ(versions[v].token_count(), last + 1) << v;
    EXPECT_TRUE(versions[v].IsTokenRevoked(tokens[last].token_id, kNow)) << v;
    EXPECT_FALSE(versions[v].IsTokenRevoked(tokens[last + 1].token_id, kNow)) << v;
  }
  // Pruning half of a large set keeps exactly the other half.
  const RevocationSet pruned = bulk.Pruned(kNow + absl::Seconds(10000));
  EXPECT_EQ(pruned.token_count(), 9999u);
  for (uint64_t i = 0; i < 20000; i += 7) {
    ASSERT_EQ(pruned.IsTokenRevoked(tokens[i].token_id, kNow), i > 10000) << i;
  }
}

}  // namespace
}  // namespace signet
