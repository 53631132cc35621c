// A bounded cache of tokens a verifier found valid, so that the next time the same token comes, its
// signature and JSON are not checked again. Lookups and updates take no lock. Used by
// signet-server's ValidateToken (server/ring_verifier.cc) and by LocalValidator.
//
// Example:
//   ValidationCache cache(ValidationCache::Options{});
//   const ValidationCache::Digest digest = cache.DigestOf(token);
//   ValidationCache::Found hit;
//   if (cache.Find(digest, &hit)) {
//     // Re-check what may have changed since: time, audience, key state, revocations.
//   } else {
//     cache.Insert(digest, entry);  // after a full verification said valid
//   }
//
// What it guarantees, and what it leaves to its user (RecheckCachedEntry, below):
// - Entries are found by a 128-bit SipHash of the token's bytes under a random key made when the
//   cache is, so nobody outside the process can aim two tokens at one entry; at the sizes used (at
//   most millions of entries), a chance collision is about 2^-80 per lookup. Only tokens whose full
//   verification said valid are inserted: invalid tokens cost no memory, and nobody can fill the
//   cache without holding valid tokens.
// - An entry keeps what a hit must check again against the state of the moment: the times
//   (exp/nbf/iat, to which the user applies its leeway), the audiences, the key that verified the
//   signature (its kid, to find it in the current key set and see whether it is revoked, and its
//   address, to see that it is still the same key), the jti and the subject (for the revocation
//   sets). The cache itself never decides validity.
// - Bounded: a fixed array of fixed-size slots (max_entries of them, 512 bytes each), set
//   associative (a digest may live in one of 16 slots, found through two cache lines of tags); a
//   full set evicts with CLOCK (a slot found
//   since the hand last passed gets a second chance). An entry too large for a slot (very long
//   subjects or caller claims) is not kept.
// - Lock-free: each slot is a seqlock. A reader copies the slot out and checks that no writer
//   touched it meanwhile (a slot being written reads as a miss); a writer claims a slot with one
//   compare-and-swap and gives up the insert if another writer holds it. No reader ever waits.
#ifndef SIGNET_INTERNAL_VALIDATION_CACHE_H_
#define SIGNET_INTERNAL_VALIDATION_CACHE_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "signet/audience.h"
#include "signet/key_set.h"
#include "signet/reason.h"
#include "signet/revocation_set.h"
#include "signet/verified_token.h"
#include "signet/verify_key.h"

namespace signet::internal {

// Thread-safe, lock-free.
class ValidationCache {
 public:
  struct Options {
    // Slots in total (rounded down to a multiple of the set size); 0 turns the cache off (Find
    // finds nothing, Insert keeps nothing). Memory: 512 bytes per slot, allocated up front.
    size_t max_entries = 65536;
  };

  using Digest = std::array<uint8_t, 16>;

  // One entry, as inserted and as found. The views of a found entry point into the Found's own
  // buffer.
  struct EntryView {
    absl::Time issued_at;   // absl::InfinitePast() when the token has no iat.
    absl::Time not_before;  // absl::InfinitePast() when the token has no nbf.
    absl::Time expires_at;
    // The key whose check the signature passed; compared by address, never dereferenced by the
    // cache. The user must keep the kid-to-key mapping honest: a hit counts only while the key
    // set of the moment maps `kid` to this very object.
    const VerifyKey* key = nullptr;
    std::string_view kid;
    std::string_view subject;
    std::string_view token_id;  // Empty when the token has no jti.
    // The audiences, each as a 2-byte little-endian length and its bytes (see AppendAudience).
    std::string_view audiences;
    // What the user answers with (e.g. the serialized response).
    std::string_view answer;

    // True when `audience` is one of `audiences`.
    bool HasAudience(std::string_view audience) const;
    // The audiences, decoded.
    std::vector<std::string> AudienceList() const;
  };

  struct Found : EntryView {
    std::array<uint64_t, 62> buffer;  // The slot's payload, copied out.
  };

  // Adds one audience to an EntryView::audiences encoding. False when it is too long (64 KiB).
  static bool AppendAudience(std::string_view audience, std::string* encoded);

  explicit ValidationCache(Options options);
  ~ValidationCache();
  ValidationCache(const ValidationCache&) = delete;
  ValidationCache& operator=(const ValidationCache&) = delete;

  // The keyed 128-bit digest of a token's bytes.
  Digest DigestOf(std::string_view token) const;

  // Copies the entry for `digest` into *out; false when there is none (or it is being written).
  bool Find(const Digest& digest, Found* out) const;
  // Adds or replaces the entry for `digest`, evicting another of its set when the set is full.
  // False when it was not kept: too large for a slot, or another writer held the slot.
  bool Insert(const Digest& digest, const EntryView& entry);
  // Drops the entry for `digest`, if any (e.g. one whose token has expired).
  void Erase(const Digest& digest);

  // Entries held now (a scan of every slot: for tests and metrics, not the hot path).
  size_t size() const;
  size_t max_entries() const { return slot_count_; }
  bool enabled() const { return slot_count_ > 0; }

  static constexpr size_t kWays = 16;
  static constexpr size_t kSlotBytes = 512;

 private:
  struct Slot;
  struct Tags;

  size_t SetOf(const Digest& digest) const;
  // The way of set `set` holding `digest`, or -1.
  int WayOf(size_t set, const Digest& digest) const;

  std::array<unsigned char, 16> key_;  // SipHash key, random per cache.
  size_t slot_count_ = 0;
  size_t set_count_ = 0;
  std::unique_ptr<Slot[]> slots_;
  // Per set, two cache lines: a hint of which digest each way holds (0: free), so that a lookup
  // reads them, then only the slot they name.
  std::unique_ptr<Tags[]> tags_;
};

// Fills *entry from a token a full verification found valid with `key` (the KeySet entry's key
// object), encoding its audiences into *audiences (which the entry then points into); the caller
// sets entry->answer. False when the token cannot be cached (an audience over 64 KiB).
bool EntryFromToken(const VerifiedToken& token, const VerifyKey* key, std::string* audiences,
                    ValidationCache::EntryView* entry);

// The checks of TokenVerifier::Verify that come after the signature and depend on more than the
// token's bytes, in the verifier's order, for a cached token that passed all of them before,
// against the key set and revocations of the moment. nullopt when the key that verified it is no
// longer the one its kid names (dropped, or replaced): only a full verification can say what such
// a token is. The issuer is not checked again: a cache belongs to one verifier, whose policy is
// fixed.
//
// The key is compared by address. A key object freed and another made at the same address under
// the same kid would pass: for public keys the kid is the key's thumbprint (the same key), for
// HMAC keys 128 random bits (no two keys share one).
std::optional<Reason> RecheckCachedEntry(const ValidationCache::EntryView& entry,
                                         const KeySet& keys, const RevocationSet& revocations,
                                         absl::Duration leeway, absl::Time now, Audience audience);

}  // namespace signet::internal

#endif  // SIGNET_INTERNAL_VALIDATION_CACHE_H_
