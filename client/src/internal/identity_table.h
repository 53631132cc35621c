// The hand-off of each call's authentication from its interceptor to its handler: a side table
// keyed by the call's ServerContextBase*. The interceptor (one per call) puts the entry when the
// client's metadata arrives and erases it when gRPC destroys it at the end of the call, so an
// entry lives exactly as long as its call. An entry is erased only by the interceptor that put it,
// so a context address reused by a later call can never see or lose another call's entry.
//
// Not AuthContext::AddProperty: that context belongs to the connection, shared by every call on it.
#ifndef SIGNET_CLIENT_INTERNAL_IDENTITY_TABLE_H_
#define SIGNET_CLIENT_INTERNAL_IDENTITY_TABLE_H_

#include <array>
#include <cstddef>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "internal/call_state.h"

namespace signet::internal {

// Thread-safe; sharded so concurrent calls rarely share a lock.
class IdentityTable {
 public:
  // The process-wide table IdentityOf() reads.
  static IdentityTable& Global();

  void Put(const void* call, const void* owner, std::shared_ptr<const CallState> state);
  // Null when no entry.
  std::shared_ptr<const CallState> Get(const void* call) const;
  // Erases the entry of `call` if `owner` put it.
  void Erase(const void* call, const void* owner);
  // Entries held (for tests: zero once every call has ended).
  size_t size() const;

 private:
  struct Entry {
    const void* owner;
    std::shared_ptr<const CallState> state;
  };
  struct Shard {
    mutable absl::Mutex mu;
    absl::flat_hash_map<const void*, Entry> entries ABSL_GUARDED_BY(mu);
  };
  static constexpr size_t kShards = 16;

  Shard& ShardFor(const void* call) const;

  mutable std::array<Shard, kShards> shards_;
};

}  // namespace signet::internal

#endif  // SIGNET_CLIENT_INTERNAL_IDENTITY_TABLE_H_
