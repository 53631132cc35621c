#include "server/validation_cache.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace signet::server {
namespace {

using Digest = ValidationCache::Digest;

Digest DigestNumber(uint64_t n) {
  Digest d{};
  for (size_t i = 0; i < d.size(); ++i)
    d[i] = static_cast<uint8_t>((n * 0x9E3779B97F4A7C15u) >> (i % 8 * 8)) ^ static_cast<uint8_t>(i);
  return d;
}

std::string Hex(const Digest& d) {
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(d.data()), d.size()));
}

// An entry that names its digest, so that a lookup can tell whose entry it got.
std::shared_ptr<const ValidationCache::Entry> EntryFor(const Digest& d) {
  auto e = std::make_shared<ValidationCache::Entry>();
  e->subject = Hex(d);
  return e;
}

ValidationCache::Options OneShard(size_t entries) {
  ValidationCache::Options options;
  options.max_entries = entries;
  options.shards = 1;
  return options;
}

TEST(ValidationCache, FindsWhatWasInsertedAndNothingElse) {
  ValidationCache cache(ValidationCache::Options{});
  cache.Insert(DigestNumber(1), EntryFor(DigestNumber(1)));
  std::shared_ptr<const ValidationCache::Entry> hit = cache.Find(DigestNumber(1));
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ(hit->subject, Hex(DigestNumber(1)));
  EXPECT_EQ(cache.Find(DigestNumber(2)), nullptr);
  EXPECT_EQ(cache.size(), 1u);
}

TEST(ValidationCache, InsertingTheSameDigestAgainReplacesTheEntry) {
  ValidationCache cache(ValidationCache::Options{});
  auto second = std::make_shared<ValidationCache::Entry>();
  second->subject = "second";
  cache.Insert(DigestNumber(1), EntryFor(DigestNumber(1)));
  cache.Insert(DigestNumber(1), second);
  EXPECT_EQ(cache.Find(DigestNumber(1)), second);
  EXPECT_EQ(cache.size(), 1u);
}

TEST(ValidationCache, EraseRemovesTheEntryAndFreesItsSlotForTheNext) {
  ValidationCache cache(OneShard(2));
  cache.Insert(DigestNumber(1), EntryFor(DigestNumber(1)));
  cache.Insert(DigestNumber(2), EntryFor(DigestNumber(2)));
  cache.Erase(DigestNumber(1));
  EXPECT_EQ(cache.Find(DigestNumber(1)), nullptr);
  cache.Insert(DigestNumber(3), EntryFor(DigestNumber(3)));
  // The freed slot took the new entry: nothing was evicted.
  EXPECT_NE(cache.Find(DigestNumber(2)), nullptr);
  EXPECT_NE(cache.Find(DigestNumber(3)), nullptr);
  EXPECT_EQ(cache.size(), 2u);
  cache.Erase(DigestNumber(99));  // Absent: nothing happens.
  EXPECT_EQ(cache.size(), 2u);
}

TEST(ValidationCache, NeverHoldsMoreThanItsBound) {
  ValidationCache::Options options;
  options.max_entries = 1000;
  options.shards = 16;
  ValidationCache cache(options);
  EXPECT_EQ(cache.max_entries(), 992u);  // 62 per shard.
  for (uint64_t i = 0; i < 20000; ++i) {
    cache.Insert(DigestNumber(i), EntryFor(DigestNumber(i)));
    ASSERT_LE(cache.size(), cache.max_entries());
  }
  EXPECT_EQ(cache.size(), cache.max_entries());
  // The newest entry is always kept.
  EXPECT_NE(cache.Find(DigestNumber(19999)), nullptr);
}

TEST(ValidationCache, ClockEvictionSparesEntriesFoundSinceTheHandPassed) {
  ValidationCache cache(OneShard(4));
  for (uint64_t i = 1; i <= 4; ++i) cache.Insert(DigestNumber(i), EntryFor(DigestNumber(i)));
  ASSERT_NE(cache.Find(DigestNumber(1)), nullptr);  // 1 gets a second chance...
  cache.Insert(DigestNumber(5), EntryFor(DigestNumber(5)));
  EXPECT_NE(cache.Find(DigestNumber(1)), nullptr);
  EXPECT_EQ(cache.Find(DigestNumber(2)), nullptr);  // ...so 2, the oldest not found, goes.
  EXPECT_NE(cache.Find(DigestNumber(3)), nullptr);
  EXPECT_NE(cache.Find(DigestNumber(4)), nullptr);
  EXPECT_NE(cache.Find(DigestNumber(5)), nullptr);
}

TEST(ValidationCache, ZeroEntriesTurnsTheCacheOff) {
  ValidationCache cache(OneShard(0));
  EXPECT_FALSE(cache.enabled());
  cache.Insert(DigestNumber(1), EntryFor(DigestNumber(1)));
  EXPECT_EQ(cache.Find(DigestNumber(1)), nullptr);
  EXPECT_EQ(cache.size(), 0u);
}

TEST(ValidationCache, DigestsAreStablePerCacheAndKeyedPerCache) {
  ValidationCache a(ValidationCache::Options{});
  ValidationCache b(ValidationCache::Options{});
  const std::string token = "header.payload.signature";
  EXPECT_EQ(a.DigestOf(token), a.DigestOf(token));
  EXPECT_NE(a.DigestOf(token), a.DigestOf("header.payload.signaturf"));
  // Another cache has another random key: digests cannot be predicted from outside.
  EXPECT_NE(a.DigestOf(token), b.DigestOf(token));
}

TEST(ValidationCache, ManyThreadsFindInsertAndEraseAtOnce) {
  ValidationCache::Options options;
  options.max_entries = 256;
  options.shards = 8;
  ValidationCache cache(options);
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (uint64_t i = 0; i < 20000; ++i) {
        const Digest d = DigestNumber((i * 7 + t) % 1000);
        switch (i % 4) {
          case 0:
            cache.Insert(d, EntryFor(d));
            break;
          case 3:
            cache.Erase(d);
            break;
          default:
            if (auto hit = cache.Find(d); hit != nullptr && hit->subject != Hex(d)) ++wrong;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_LE(cache.size(), cache.max_entries());
}

}  // namespace
}  // namespace signet::server
