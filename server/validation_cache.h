// A bounded cache of tokens that ValidateToken found valid, so that the next time the same token
// comes, the signature and the JSON are not checked again.
//
// Example:
//   ValidationCache cache(ValidationCache::Options{});
//   const ValidationCache::Digest digest = cache.DigestOf(token);
//   if (std::shared_ptr<const ValidationCache::Entry> hit = cache.Find(digest)) {
//     // Re-check what may have changed since: time, audience, key state, revocations.
//   } else {
//     cache.Insert(digest, std::make_shared<const ValidationCache::Entry>(...));
//   }
//
// What it guarantees, and what it leaves to its user (TokenValidator):
// - Entries are found by a 128-bit SipHash of the token's bytes under a random key made when the
//   cache is, so nobody outside the process can aim two tokens at one entry; at the sizes used
//   (at most millions of entries), a chance collision is about 2^-80 per lookup. Only tokens whose
//   full verification said valid are inserted: invalid tokens cost no memory, and nobody can fill
//   the cache without holding valid tokens.
// - An Entry keeps what a hit must check again against the state of the moment: the times
//   (exp/nbf/iat with the leeway), the audiences, the key object that verified the signature (to
//   find it in the current key set, and whether it is revoked), the jti and the subject (for
//   the revocation sets). The cache itself never decides validity.
// - Bounded: at most `max_entries` entries in total; each shard evicts with CLOCK (an entry found
//   since the hand last passed it gets a second chance).
// - Sharded by the digest, one mutex per shard held only for a table lookup or update; no
//   allocation or freeing happens under it. Nothing is global on the hit path.
#ifndef SIGNET_SERVER_VALIDATION_CACHE_H_
#define SIGNET_SERVER_VALIDATION_CACHE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "signet/verify_key.h"

namespace signet::server {

// What the owner of a cache makes of a valid token once, to answer every later hit with (e.g. the
// serialized response). Immutable; shared by every thread that answers from it.
class RenderedAnswer {
 public:
  virtual ~RenderedAnswer() = default;
};

// Thread-safe.
class ValidationCache {
 public:
  struct Options {
    // Total entries; 0 turns the cache off (Find finds nothing, Insert keeps nothing).
    size_t max_entries = 100000;
    // Rounded down to a power of two, at most 256 and at most max_entries.
    size_t shards = 64;
  };

  using Digest = std::array<uint8_t, 16>;

  struct Entry {
    std::string subject;
    std::string token_id;  // Empty when the token has no jti.
    std::vector<std::string> audiences;
    absl::Time issued_at;   // absl::InfinitePast() when the token has no iat.
    absl::Time not_before;  // absl::InfinitePast() when the token has no nbf.
    absl::Time expires_at;
    // The key whose check the signature passed: a hit counts only while the key set of the
    // moment maps its kid to this very object.
    std::shared_ptr<const VerifyKey> key;
    std::shared_ptr<const RenderedAnswer> answer;
  };

  explicit ValidationCache(Options options);
  ValidationCache(const ValidationCache&) = delete;
  ValidationCache& operator=(const ValidationCache&) = delete;

  // The keyed 128-bit digest of a token's bytes.
  Digest DigestOf(std::string_view token) const;

  // The entry for `digest`, or null.
  std::shared_ptr<const Entry> Find(const Digest& digest) const;
  // Adds or replaces the entry for `digest`, evicting another when the shard is full.
  void Insert(const Digest& digest, std::shared_ptr<const Entry> entry);
  // Drops the entry for `digest`, if any (e.g. one whose token has expired).
  void Erase(const Digest& digest);

  size_t size() const;
  size_t max_entries() const { return shard_count_ * per_shard_; }
  bool enabled() const { return per_shard_ > 0; }

 private:
  struct DigestHash {
    // The digest is already uniformly distributed: its bytes are the hash.
    size_t operator()(const Digest& d) const {
      size_t h;
      std::memcpy(&h, d.data(), sizeof(h));
      return h;
    }
  };
  struct Slot {
    Digest digest{};
    std::shared_ptr<const Entry> entry;  // Null when the slot is free.
    bool referenced = false;             // Found since the CLOCK hand last passed.
  };
  // alignas keeps each shard's mutex on its own cache lines.
  struct alignas(64) Shard {
    mutable absl::Mutex mu;
    absl::flat_hash_map<Digest, uint32_t, DigestHash> index ABSL_GUARDED_BY(mu);
    mutable std::vector<Slot> slots ABSL_GUARDED_BY(mu);
    std::vector<uint32_t> free ABSL_GUARDED_BY(mu);
    size_t hand ABSL_GUARDED_BY(mu) = 0;
  };

  Shard& ShardOf(const Digest& digest) const {
    // The index uses the first bytes; the shard comes from the last ones.
    return shards_[digest[15] & (shard_count_ - 1)];
  }

  std::array<unsigned char, 16> key_;  // SipHash key, random per cache.
  size_t shard_count_ = 1;             // A power of two, at most 256 (one digest byte picks).
  size_t per_shard_ = 0;
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace signet::server

#endif  // SIGNET_SERVER_VALIDATION_CACHE_H_
