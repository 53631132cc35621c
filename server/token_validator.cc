#include "server/token_validator.h"

#include <utility>

#include "server/metrics/server_metrics.h"

namespace signet::server {
namespace {

// Per-thread storage for what Validate returns and for building cache entries.
struct Scratch {
  ValidationCache::Found found;
  std::string answer;
  std::string audiences;
};

Scratch& ThreadScratch() {
  thread_local Scratch scratch;
  return scratch;
}

}  // namespace

const StateSnapshot& TokenValidator::Snapshot() const {
  struct Kept {
    uint64_t publication = 0;
    std::shared_ptr<const StateSnapshot> snapshot;
  };
  // One per thread, shared by every validator: publication numbers are unique in the process, so
  // a snapshot is never taken for another ring's.
  thread_local Kept kept;
  const uint64_t publication = ring_->publication();
  if (publication != kept.publication || kept.snapshot == nullptr) {
    // Current() is at least as new as `publication` (published first), so nothing is missed.
    kept.snapshot = ring_->Current();
    kept.publication = publication;
  }
  return *kept.snapshot;
}

TokenValidator::Validation TokenValidator::Validate(std::string_view token,
                                                    std::string_view audience) const {
  const StateSnapshot& snap = Snapshot();
  const absl::Time now = clock_->Now();
  Scratch& scratch = ThreadScratch();
  Validation v;
  ValidationCache::Digest digest;
  // Oversized tokens are malformed whatever they hold: not worth hashing.
  const bool cacheable = cache_ != nullptr && token.size() <= verifier_.policy().max_token_bytes;
  if (cacheable) {
    digest = cache_->DigestOf(token);
    if (cache_->Find(digest, &scratch.found)) {
      if (std::optional<Reason> reason =
              internal::RecheckCachedEntry(scratch.found, snap.keys, snap.revocations,
                                           verifier_.policy().leeway, now, audience)) {
        v.reason = *reason;
        v.cached = true;
        if (v.valid()) v.answer = scratch.found.answer;
        // An expired token never becomes valid again: free its slot.
        if (*reason == Reason::kExpired) cache_->Erase(digest);
        ServerMetrics::Global().RecordValidation(v.reason);
        return v;
      }
    }
  }

  VerifyResult result = verifier_.Verify(token, snap.keys, &snap.revocations, now, audience);
  v.reason = result.reason;
  if (result.valid()) {
    const VerifiedToken& t = *result.token;
    scratch.answer = renderer_ ? renderer_(t) : std::string();
    v.answer = scratch.answer;
    const KeySet::Entry* key = snap.keys.Find(t.key_id());
    if (cacheable && key != nullptr && key->key != nullptr) {
      ValidationCache::EntryView entry;
      const bool encodable =
          internal::EntryFromToken(t, key->key.get(), &scratch.audiences, &entry);
      entry.answer = scratch.answer;
      if (encodable) cache_->Insert(digest, entry);
    }
  }
  ServerMetrics::Global().RecordValidation(v.reason);
  return v;
}

VerifyResult TokenValidator::VerifySignedBy(std::string_view token) const {
  std::shared_ptr<const StateSnapshot> snap = ring_->Current();
  return verifier_.Verify(token, snap->keys, nullptr, clock_->Now());
}

}  // namespace signet::server
