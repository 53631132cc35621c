#include "internal/identity_table.h"

#include <utility>

#include "absl/hash/hash.h"

namespace signet::internal {

IdentityTable& IdentityTable::Global() {
  static IdentityTable* const table = new IdentityTable();
  return *table;
}

IdentityTable::Shard& IdentityTable::ShardFor(const void* call) const {
  return shards_[absl::HashOf(call) % kShards];
}

void IdentityTable::Put(const void* call, const void* owner,
                        std::shared_ptr<const CallState> state) {
  Shard& shard = ShardFor(call);
  absl::MutexLock lock(&shard.mu);
  shard.entries.insert_or_assign(call, Entry{owner, std::move(state)});
}

std::shared_ptr<const CallState> IdentityTable::Get(const void* call) const {
  Shard& shard = ShardFor(call);
  absl::MutexLock lock(&shard.mu);
  auto it = shard.entries.find(call);
  if (it == shard.entries.end()) return nullptr;
  return it->second.state;
}

void IdentityTable::Erase(const void* call, const void* owner) {
  std::shared_ptr<const CallState> released;  // Freed outside the lock.
  Shard& shard = ShardFor(call);
  absl::MutexLock lock(&shard.mu);
  auto it = shard.entries.find(call);
  if (it == shard.entries.end() || it->second.owner != owner) return;
  released = std::move(it->second.state);
  shard.entries.erase(it);
}

size_t IdentityTable::size() const {
  size_t n = 0;
  for (const Shard& shard : shards_) {
    absl::MutexLock lock(&shard.mu);
    n += shard.entries.size();
  }
  return n;
}

}  // namespace signet::internal
