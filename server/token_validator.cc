#include "server/token_validator.h"

#include <utility>

#include "server/metrics/server_metrics.h"

namespace signet::server {
namespace {

bool Contains(const std::vector<std::string>& values, std::string_view value) {
  for (const std::string& v : values) {
    if (v == value) return true;
  }
  return false;
}

// The checks of TokenVerifier::Verify that come after the signature and depend on more than the
// token's bytes, in the verifier's order, for a token that passed all of them before. nullopt
// when the key that verified it is no longer the one its kid names (dropped, or replaced): only
// a full verification can say what such a token is.
std::optional<Reason> Recheck(const ValidationCache::Entry& e, const StateSnapshot& snap,
                              absl::Duration leeway, absl::Time now, std::string_view audience) {
  const KeySet::Entry* key = snap.keys.Find(e.key->kid());
  if (key == nullptr || key->key != e.key) return std::nullopt;
  if (e.expires_at + leeway <= now) return Reason::kExpired;
  if (e.not_before - leeway > now || e.issued_at - leeway > now) return Reason::kNotYetValid;
  // The issuer cannot have changed: the policy is the validator's own, fixed at construction.
  if (!audience.empty() && !Contains(e.audiences, audience)) return Reason::kAudienceMismatch;
  if (key->status == KeySet::Status::kRevoked) return Reason::kKeyRevoked;
  if (!e.token_id.empty() && snap.revocations.IsTokenRevoked(e.token_id, now)) {
    return Reason::kTokenRevoked;
  }
  if (snap.revocations.IsSubjectRevoked(e.subject, e.issued_at, now)) {
    return Reason::kSubjectRevoked;
  }
  return Reason::kValid;
}

}  // namespace

TokenValidator::Validation TokenValidator::Validate(std::string_view token,
                                                    std::string_view audience) const {
  std::shared_ptr<const StateSnapshot> snap = ring_->Current();
  const absl::Time now = clock_->Now();
  Validation v;
  ValidationCache::Digest digest;
  // Oversized tokens are malformed whatever they hold: not worth hashing.
  const bool cacheable = cache_ != nullptr && token.size() <= verifier_.policy().max_token_bytes;
  if (cacheable) {
    digest = cache_->DigestOf(token);
    if (std::shared_ptr<const ValidationCache::Entry> hit = cache_->Find(digest)) {
      if (std::optional<Reason> reason =
              Recheck(*hit, *snap, verifier_.policy().leeway, now, audience)) {
        v.reason = *reason;
        v.cached = true;
        if (v.valid()) v.answer = hit->answer;
        // An expired token never becomes valid again: free its entry.
        if (*reason == Reason::kExpired) cache_->Erase(digest);
        ServerMetrics::Global().RecordValidation(v.reason);
        return v;
      }
    }
  }

  VerifyResult result = verifier_.Verify(token, snap->keys, &snap->revocations, now, audience);
  v.reason = result.reason;
  if (result.valid()) {
    const VerifiedToken& t = *result.token;
    if (renderer_) v.answer = renderer_(t);
    const KeySet::Entry* key = snap->keys.Find(t.key_id());
    if (cacheable && key != nullptr && key->key != nullptr) {
      auto entry = std::make_shared<ValidationCache::Entry>();
      entry->subject = t.subject();
      entry->token_id = t.token_id();
      entry->audiences = t.audiences();
      entry->issued_at = t.issued_at();
      entry->not_before = t.not_before();
      entry->expires_at = t.expires_at();
      entry->key = key->key;
      entry->answer = v.answer;
      cache_->Insert(digest, std::move(entry));
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
