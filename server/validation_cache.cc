#include "server/validation_cache.h"

#include <sodium.h>

#include <algorithm>
#include <utility>

namespace signet::server {
namespace {

static_assert(crypto_shorthash_siphashx24_BYTES == sizeof(ValidationCache::Digest));
static_assert(crypto_shorthash_siphashx24_KEYBYTES == 16);

size_t FloorPowerOfTwo(size_t n) {
  size_t p = 1;
  while (p * 2 <= n) p *= 2;
  return p;
}

}  // namespace

ValidationCache::ValidationCache(Options options) {
  // randombytes_buf needs no sodium_init to be safe; calling it first picks the OS source once.
  if (sodium_init() < 0) options.max_entries = 0;  // No key, no cache.
  randombytes_buf(key_.data(), key_.size());
  shard_count_ = FloorPowerOfTwo(std::clamp<size_t>(
      std::min(options.shards, std::max<size_t>(options.max_entries, 1)), 1, 256));
  per_shard_ = options.max_entries / shard_count_;
  shards_ = std::make_unique<Shard[]>(shard_count_);
  for (size_t i = 0; i < shard_count_; ++i) {
    absl::MutexLock lock(&shards_[i].mu);
    shards_[i].index.reserve(per_shard_ + 1);  // +1: Insert adds before it evicts.
    shards_[i].slots.reserve(per_shard_);
  }
}

ValidationCache::Digest ValidationCache::DigestOf(std::string_view token) const {
  Digest digest;
  crypto_shorthash_siphashx24(digest.data(), reinterpret_cast<const unsigned char*>(token.data()),
                              token.size(), key_.data());
  return digest;
}

std::shared_ptr<const ValidationCache::Entry> ValidationCache::Find(const Digest& digest) const {
  if (per_shard_ == 0) return nullptr;
  Shard& shard = ShardOf(digest);
  absl::MutexLock lock(&shard.mu);
  auto it = shard.index.find(digest);
  if (it == shard.index.end()) return nullptr;
  Slot& slot = shard.slots[it->second];
  slot.referenced = true;
  return slot.entry;
}

void ValidationCache::Insert(const Digest& digest, std::shared_ptr<const Entry> entry) {
  if (per_shard_ == 0 || entry == nullptr) return;
  Shard& shard = ShardOf(digest);
  // Whatever this replaces or evicts is freed after the lock is released.
  std::shared_ptr<const Entry> dropped;
  {
    absl::MutexLock lock(&shard.mu);
    auto [it, inserted] = shard.index.try_emplace(digest, 0);
    if (!inserted) {
      Slot& slot = shard.slots[it->second];
      dropped = std::exchange(slot.entry, std::move(entry));
      return;
    }
    uint32_t i;
    if (!shard.free.empty()) {
      i = shard.free.back();
      shard.free.pop_back();
    } else if (shard.slots.size() < per_shard_) {
      i = static_cast<uint32_t>(shard.slots.size());
      shard.slots.emplace_back();
    } else {
      // CLOCK: skip (and clear) entries found since the last pass; evict the first that was not.
      // Terminates within two turns, since every pass clears the bits it skips.
      while (shard.slots[shard.hand].referenced) {
        shard.slots[shard.hand].referenced = false;
        shard.hand = (shard.hand + 1) % shard.slots.size();
      }
      i = static_cast<uint32_t>(shard.hand);
      shard.hand = (shard.hand + 1) % shard.slots.size();
      shard.index.erase(shard.slots[i].digest);
      dropped = std::move(shard.slots[i].entry);
    }
    it = shard.index.find(digest);  // The erase above may have moved it.
    it->second = i;
    Slot& slot = shard.slots[i];
    slot.digest = digest;
    slot.entry = std::move(entry);
    slot.referenced = false;
  }
}

void ValidationCache::Erase(const Digest& digest) {
  if (per_shard_ == 0) return;
  Shard& shard = ShardOf(digest);
  std::shared_ptr<const Entry> dropped;
  absl::MutexLock lock(&shard.mu);
  auto it = shard.index.find(digest);
  if (it == shard.index.end()) return;
  Slot& slot = shard.slots[it->second];
  dropped = std::move(slot.entry);
  slot.referenced = false;
  shard.free.push_back(it->second);
  shard.index.erase(it);
}

size_t ValidationCache::size() const {
  size_t n = 0;
  for (size_t i = 0; i < shard_count_; ++i) {
    absl::MutexLock lock(&shards_[i].mu);
    n += shards_[i].index.size();
  }
  return n;
}

}  // namespace signet::server
