#include "signet/caching_verifier.h"

#include <utility>

namespace signet::internal {
namespace {

// Per-thread storage behind a Result, and for building cache entries.
struct Scratch {
  ValidationCache::Found found;
  VerifyResult verified;
  std::string answer;
  std::string audiences;
};

Scratch& ThreadScratch() {
  thread_local Scratch scratch;
  return scratch;
}

}  // namespace

CachingVerifier::CachingVerifier(TokenVerifier verifier, size_t cache_entries, Renderer renderer)
    : verifier_(std::move(verifier)),
      cache_(cache_entries == 0
                 ? nullptr
                 : std::make_unique<ValidationCache>(ValidationCache::Options{cache_entries})),
      renderer_(std::move(renderer)) {}

CachingVerifier::Result CachingVerifier::Verify(std::string_view token, const KeySet& keys,
                                                const RevocationSet& revocations, absl::Time now,
                                                Audience audience) const {
  Scratch& scratch = ThreadScratch();
  Result r;
  ValidationCache::Digest digest;
  // Oversized tokens are malformed whatever they hold: not worth hashing.
  const bool cacheable =
      cache_ != nullptr && cache_->enabled() && token.size() <= verifier_.policy().max_token_bytes;
  if (cacheable) {
    digest = cache_->DigestOf(token);
    if (cache_->Find(digest, &scratch.found)) {
      if (std::optional<Reason> reason = RecheckCachedEntry(
              scratch.found, keys, revocations, verifier_.policy().leeway, now, audience)) {
        r.reason = *reason;
        r.cached = true;
        r.entry = &scratch.found;
        if (r.valid()) r.answer = scratch.found.answer;
        // An expired token never becomes valid again: free its slot.
        if (*reason == Reason::kExpired) cache_->Erase(digest);
        return r;
      }
    }
  }

  scratch.verified = verifier_.Verify(token, keys, &revocations, now, audience);
  r.reason = scratch.verified.reason;
  r.verified = &scratch.verified;
  if (!r.valid()) return r;
  const VerifiedToken& t = *scratch.verified.token;
  std::optional<std::string> answer = renderer_ ? renderer_(t) : std::optional<std::string>("");
  if (!answer.has_value()) return r;
  scratch.answer = *std::move(answer);
  r.answer = scratch.answer;
  const KeySet::Entry* key = keys.Find(t.key_id());
  if (cacheable && key != nullptr && key->key != nullptr) {
    ValidationCache::EntryView entry;
    if (EntryFromToken(t, key->key.get(), &scratch.audiences, &entry)) {
      entry.answer = scratch.answer;
      cache_->Insert(digest, entry);
    }
  }
  return r;
}

}  // namespace signet::internal
