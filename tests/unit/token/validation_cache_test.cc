#include "signet/validation_cache.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace signet::internal {
namespace {

using Digest = ValidationCache::Digest;

Digest DigestNumber(uint64_t n) {
  Digest d{};
  const uint64_t mixed = n * 0x9E3779B97F4A7C15u;
  for (size_t i = 0; i < d.size(); ++i) {
    d[i] = static_cast<uint8_t>(mixed >> (i % 8 * 8)) ^ static_cast<uint8_t>(i * 31 + (n >> 7));
  }
  return d;
}

ValidationCache::Options Entries(size_t n) {
  ValidationCache::Options options;
  options.max_entries = n;
  return options;
}

// An entry whose every field names `n`, so that a lookup can tell whose entry it got.
struct TestEntry {
  explicit TestEntry(uint64_t n)
      : subject("user-" + std::to_string(n)),
        token_id("jti-" + std::to_string(n)),
        kid("kid-" + std::to_string(n % 3)),
        answer("answer-" + std::to_string(n)) {
    ValidationCache::AppendAudience("orders", &audiences);
    ValidationCache::AppendAudience("aud-" + std::to_string(n), &audiences);
    view.issued_at = absl::FromUnixSeconds(1'800'000'000 + static_cast<int64_t>(n));
    view.not_before = absl::InfinitePast();
    view.expires_at = view.issued_at + absl::Hours(1);
    view.key = reinterpret_cast<const VerifyKey*>(uintptr_t{0x1000} + n % 3);
    view.kid = kid;
    view.subject = subject;
    view.token_id = token_id;
    view.audiences = audiences;
    view.answer = answer;
  }
  std::string subject, token_id, kid, answer, audiences;
  ValidationCache::EntryView view;
};

// True when `found` is exactly TestEntry(n).
::testing::AssertionResult Is(const ValidationCache::Found& found, uint64_t n) {
  TestEntry want(n);
  if (found.subject != want.subject || found.token_id != want.token_id || found.kid != want.kid ||
      found.answer != want.answer || found.audiences != want.audiences ||
      found.issued_at != want.view.issued_at || found.not_before != want.view.not_before ||
      found.expires_at != want.view.expires_at || found.key != want.view.key) {
    return ::testing::AssertionFailure()
           << "not entry " << n << " (subject " << found.subject << ")";
  }
  return ::testing::AssertionSuccess();
}

TEST(ValidationCache, FindsWhatWasInsertedWithEveryFieldAndNothingElse) {
  ValidationCache cache(Entries(1024));
  ASSERT_TRUE(cache.Insert(DigestNumber(1), TestEntry(1).view));
  ValidationCache::Found found;
  ASSERT_TRUE(cache.Find(DigestNumber(1), &found));
  EXPECT_TRUE(Is(found, 1));
  EXPECT_TRUE(found.HasAudience("orders"));
  EXPECT_TRUE(found.HasAudience("aud-1"));
  EXPECT_FALSE(found.HasAudience("aud-2"));
  EXPECT_FALSE(found.HasAudience(""));
  EXPECT_FALSE(cache.Find(DigestNumber(2), &found));
  EXPECT_EQ(cache.size(), 1u);
}

TEST(ValidationCache, InsertingTheSameDigestAgainReplacesTheEntry) {
  ValidationCache cache(Entries(1024));
  ASSERT_TRUE(cache.Insert(DigestNumber(1), TestEntry(1).view));
  ASSERT_TRUE(cache.Insert(DigestNumber(1), TestEntry(7).view));
  ValidationCache::Found found;
  ASSERT_TRUE(cache.Find(DigestNumber(1), &found));
  EXPECT_TRUE(Is(found, 7));
  EXPECT_EQ(cache.size(), 1u);
}

TEST(ValidationCache, EraseRemovesOnlyThatEntry) {
  ValidationCache cache(Entries(1024));
  ASSERT_TRUE(cache.Insert(DigestNumber(1), TestEntry(1).view));
  ASSERT_TRUE(cache.Insert(DigestNumber(2), TestEntry(2).view));
  cache.Erase(DigestNumber(1));
  ValidationCache::Found found;
  EXPECT_FALSE(cache.Find(DigestNumber(1), &found));
  ASSERT_TRUE(cache.Find(DigestNumber(2), &found));
  EXPECT_TRUE(Is(found, 2));
  cache.Erase(DigestNumber(99));  // Absent: nothing happens.
  EXPECT_EQ(cache.size(), 1u);
}

TEST(ValidationCache, EntriesTooLargeForASlotAreNotKept) {
  ValidationCache cache(Entries(1024));
  TestEntry big(1);
  const std::string answer(ValidationCache::kSlotBytes, 'x');
  big.view.answer = answer;
  EXPECT_FALSE(cache.Insert(DigestNumber(1), big.view));
  ValidationCache::Found found;
  EXPECT_FALSE(cache.Find(DigestNumber(1), &found));
  EXPECT_EQ(cache.size(), 0u);
}

TEST(ValidationCache, NeverHoldsMoreThanItsBound) {
  ValidationCache cache(Entries(1000));
  EXPECT_EQ(cache.max_entries(), 1000u / ValidationCache::kWays * ValidationCache::kWays);
  for (uint64_t i = 0; i < 20000; ++i) {
    cache.Insert(DigestNumber(i), TestEntry(i).view);
    if (i % 1000 == 0) {
      ASSERT_LE(cache.size(), cache.max_entries());
    }
  }
  EXPECT_LE(cache.size(), cache.max_entries());
  EXPECT_GT(cache.size(), cache.max_entries() * 9 / 10);
  // The newest entry is always kept.
  ValidationCache::Found found;
  ASSERT_TRUE(cache.Find(DigestNumber(19999), &found));
  EXPECT_TRUE(Is(found, 19999));
}

TEST(ValidationCache, ClockEvictionSparesEntriesFoundSinceTheHandPassed) {
  // One set: kWays slots for every digest.
  ValidationCache cache(Entries(ValidationCache::kWays));
  for (uint64_t i = 0; i < ValidationCache::kWays; ++i) {
    ASSERT_TRUE(cache.Insert(DigestNumber(i), TestEntry(i).view));
  }
  ValidationCache::Found found;
  for (uint64_t i = 0; i < ValidationCache::kWays; ++i) {
    if (i != 5) {
      ASSERT_TRUE(cache.Find(DigestNumber(i), &found));
    }
  }
  // Every entry but 5 was found since it was written: 5 is the one to go.
  ASSERT_TRUE(cache.Insert(DigestNumber(100), TestEntry(100).view));
  EXPECT_FALSE(cache.Find(DigestNumber(5), &found));
  for (uint64_t i = 0; i < ValidationCache::kWays; ++i) {
    if (i != 5) {
      EXPECT_TRUE(cache.Find(DigestNumber(i), &found)) << i;
    }
  }
  EXPECT_TRUE(cache.Find(DigestNumber(100), &found));
}

TEST(ValidationCache, ZeroEntriesTurnsTheCacheOff) {
  ValidationCache cache(Entries(0));
  EXPECT_FALSE(cache.enabled());
  EXPECT_FALSE(cache.Insert(DigestNumber(1), TestEntry(1).view));
  ValidationCache::Found found;
  EXPECT_FALSE(cache.Find(DigestNumber(1), &found));
  EXPECT_EQ(cache.size(), 0u);
}

TEST(ValidationCache, DigestsAreStablePerCacheAndKeyedPerCache) {
  ValidationCache a(Entries(8));
  ValidationCache b(Entries(8));
  const std::string token = "header.payload.signature";
  EXPECT_EQ(a.DigestOf(token), a.DigestOf(token));
  EXPECT_NE(a.DigestOf(token), a.DigestOf("header.payload.signaturf"));
  // Another cache has another random key: digests cannot be predicted from outside.
  EXPECT_NE(a.DigestOf(token), b.DigestOf(token));
}

TEST(ValidationCache, ReadersNeverSeeAHalfWrittenEntryWhileWritersRace) {
  // Few sets and few digests, so that readers and writers meet on the same slots all the time.
  ValidationCache cache(Entries(4 * ValidationCache::kWays));
  std::atomic<bool> stop{false};
  std::atomic<int> torn{0};
  std::atomic<uint64_t> hits{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      for (uint64_t i = 0; !stop.load(); ++i) {
        const uint64_t n = (i * 7 + t) % 64;
        if (i % 5 == 4) {
          cache.Erase(DigestNumber(n));
        } else {
          cache.Insert(DigestNumber(n), TestEntry(n).view);
        }
      }
    });
  }
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      ValidationCache::Found found;
      for (uint64_t i = 0; i < 200000; ++i) {
        const uint64_t n = (i * 13 + t) % 64;
        if (cache.Find(DigestNumber(n), &found)) {
          ++hits;
          if (!Is(found, n)) ++torn;
        }
      }
    });
  }
  for (size_t i = 2; i < threads.size(); ++i) threads[i].join();
  stop.store(true);
  threads[0].join();
  threads[1].join();
  EXPECT_EQ(torn.load(), 0);
  EXPECT_GT(hits.load(), 0u);
  EXPECT_LE(cache.size(), cache.max_entries());
}

}  // namespace
}  // namespace signet::internal
