#include "internal/hash_trie.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace signet::internal {
namespace {

struct Item {
  uint64_t key;
  int value;
};

// The key is its own hash: tests choose which keys share hash bits.
struct IdentityTraits {
  using Entry = Item;
  using Key = uint64_t;
  static Key KeyOf(const Entry& e) { return e.key; }
  static size_t Hash(Key k) { return static_cast<size_t>(k); }
  static bool Equal(Key a, Key b) { return a == b; }
  static void Merge(Entry* kept, Entry&& added) {
    kept->value = std::max(kept->value, added.value);
  }
};

// Every key collides: the trie has to go all the way down and keep a long leaf there.
struct CollidingTraits : IdentityTraits {
  static size_t Hash(Key) { return 0x5a5a5a5a5a5a5a5au; }
};

template <typename Traits>
HashTrie<Traits> With(HashTrie<Traits> trie, const std::vector<Item>& items) {
  typename HashTrie<Traits>::Editor editor(&trie);
  for (const Item& item : items) editor.Insert(item);
  return trie;
}

TEST(HashTrie, FindsWhatWasInsertedAndMergesRepeats) {
  std::vector<Item> items;
  for (uint64_t k = 0; k < 5000; ++k) items.push_back({k * 0x9E3779B97F4A7C15u, 1});
  HashTrie<IdentityTraits> trie = With(HashTrie<IdentityTraits>(), items);
  ASSERT_EQ(trie.size(), 5000u);
  for (const Item& item : items) {
    const Item* found = trie.Find(item.key);
    ASSERT_NE(found, nullptr);
    EXPECT_EQ(found->value, 1);
  }
  EXPECT_EQ(trie.Find(12345), nullptr);
  HashTrie<IdentityTraits> again = With(trie, {{items[7].key, 5}, {items[8].key, 0}});
  EXPECT_EQ(again.size(), 5000u);
  EXPECT_EQ(again.Find(items[7].key)->value, 5);
  EXPECT_EQ(again.Find(items[8].key)->value, 1);
  EXPECT_EQ(trie.Find(items[7].key)->value, 1);  // The original is untouched.
}

TEST(HashTrie, KeysSharingLowBitsSplitDeeper) {
  // Keys equal in their low 30 bits share the first six levels.
  std::vector<Item> items;
  for (uint64_t k = 0; k < 1000; ++k)
    items.push_back({(k << 30) | 0x2aaaaaaau, static_cast<int>(k)});
  HashTrie<IdentityTraits> trie;
  for (const Item& item : items) trie = With(trie, {item});  // One editor per entry.
  ASSERT_EQ(trie.size(), 1000u);
  for (const Item& item : items) {
    const Item* found = trie.Find(item.key);
    ASSERT_NE(found, nullptr);
    EXPECT_EQ(found->value, item.value);
  }
  EXPECT_EQ(trie.Find(0x2aaaaaaau | (uint64_t{5000} << 30)), nullptr);
}

TEST(HashTrie, FullCollisionsStayFindable) {
  std::vector<Item> items;
  for (uint64_t k = 0; k < 300; ++k) items.push_back({k, static_cast<int>(k)});
  HashTrie<CollidingTraits> trie = With(HashTrie<CollidingTraits>(), items);
  ASSERT_EQ(trie.size(), 300u);
  for (const Item& item : items) {
    const Item* found = trie.Find(item.key);
    ASSERT_NE(found, nullptr);
    EXPECT_EQ(found->value, item.value);
  }
  HashTrie<CollidingTraits> odd = trie.Without([](const Item& i) { return i.key % 2 == 0; });
  EXPECT_EQ(odd.size(), 150u);
  EXPECT_EQ(odd.Find(4), nullptr);
  EXPECT_NE(odd.Find(5), nullptr);
  EXPECT_NE(trie.Find(4), nullptr);
}

TEST(HashTrie, WithoutEverythingIsEmptyAndWithoutNothingShares) {
  std::vector<Item> items;
  for (uint64_t k = 0; k < 2000; ++k) items.push_back({k * 0x9E3779B97F4A7C15u, 0});
  HashTrie<IdentityTraits> trie = With(HashTrie<IdentityTraits>(), items);
  HashTrie<IdentityTraits> none = trie.Without([](const Item&) { return true; });
  EXPECT_EQ(none.size(), 0u);
  EXPECT_EQ(none.Find(items[0].key), nullptr);
  size_t seen = 0;
  none.ForEach([&seen](const Item&) { ++seen; });
  EXPECT_EQ(seen, 0u);
  HashTrie<IdentityTraits> all = trie.Without([](const Item&) { return false; });
  EXPECT_EQ(all.size(), 2000u);
  all.ForEach([&seen](const Item&) { ++seen; });
  EXPECT_EQ(seen, 2000u);
  // Entries go into an emptied trie again.
  HashTrie<IdentityTraits> refilled = With(none, {items[3]});
  EXPECT_EQ(refilled.size(), 1u);
  EXPECT_NE(refilled.Find(items[3].key), nullptr);
}

}  // namespace
}  // namespace signet::internal
