#include "server/token_validator.h"

#include <optional>
#include <utility>

#include "server/metrics/server_metrics.h"

namespace signet::server {
namespace {

// The checks of TokenVerifier::Verify that come after the signature and depend on more than the
// token's bytes, in the verifier's order, for a token that passed all of them before. nullopt
// when the key that verified it is no longer the one its kid names (dropped, or replaced): only
// a full verification can say what such a token is.
//
// The key is compared by address. A key object freed and another made at the same address under
// the same kid would pass: for public keys the kid is the key's thumbprint (the same key), for
// HMAC keys 128 random bits (no two keys share one).
std::optional<Reason> Recheck(const ValidationCache::EntryView& e, const StateSnapshot& snap,
                              absl::Duration leeway, absl::Time now, std::string_view audience) {
  const KeySet::Entry* key = snap.keys.Find(e.kid);
  if (key == nullptr || key->key.get() != e.key) return std::nullopt;
  if (e.expires_at + leeway <= now) return Reason::kExpired;
  if (e.not_before - leeway > now || e.issued_at - leeway > now) return Reason::kNotYetValid;
  // The issuer cannot have changed: the policy is the validator's own, fixed at construction.
  if (!audience.empty() && !e.HasAudience(audience)) return Reason::kAudienceMismatch;
  if (key->status == KeySet::Status::kRevoked) return Reason::kKeyRevoked;
  if (!e.token_id.empty() && snap.revocations.IsTokenRevoked(e.token_id, now)) {
    return Reason::kTokenRevoked;
  }
  if (snap.revocations.IsSubjectRevoked(e.subject, e.issued_at, now)) {
    return Reason::kSubjectRevoked;
  }
  return Reason::kValid;
}

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
              Recheck(scratch.found, snap, verifier_.policy().leeway, now, audience)) {
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
      scratch.audiences.clear();
      bool encodable = true;
      for (const std::string& aud : t.audiences()) {
        encodable = encodable && ValidationCache::AppendAudience(aud, &scratch.audiences);
      }
      ValidationCache::EntryView entry;
      entry.issued_at = t.issued_at();
      entry.not_before = t.not_before();
      entry.expires_at = t.expires_at();
      entry.key = key->key.get();
      entry.kid = t.key_id();
      entry.subject = t.subject();
      entry.token_id = t.token_id();
      entry.audiences = scratch.audiences;
      entry.answer = scratch.answer;
      // Entries too large for a slot are simply not kept.
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
