// Judges tokens for ValidateToken: the current snapshot's keys and revocations, the verifier's
// policy, the clock, and a cache of tokens found valid before. Knows nothing of gRPC.
//
// Example:
//   ValidationCache cache(ValidationCache::Options{});
//   TokenValidator validator(ring.get(), *TokenVerifier::Create(policy), &Clock::Real(), &cache,
//                            [](const VerifiedToken& t) { return Serialize(t); });
//   TokenValidator::Validation v = validator.Validate(token, "orders");
//   if (v.valid()) Send(v.answer);  // What the renderer made the first time this token came.
#ifndef SIGNET_SERVER_TOKEN_VALIDATOR_H_
#define SIGNET_SERVER_TOKEN_VALIDATOR_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "server/keys/key_ring.h"
#include "signet/clock.h"
#include "signet/token_verifier.h"
#include "signet/validation_cache.h"

namespace signet::server {

using ValidationCache = ::signet::internal::ValidationCache;

// Thread-safe. Validate takes no lock (a cache hit included) and never touches the store.
class TokenValidator {
 public:
  // Turns a valid token into the answer its callers get (and later hits get again, byte for
  // byte). Called once per full verification that says valid; must be thread-safe.
  using Renderer = std::function<std::string(const VerifiedToken& token)>;

  struct Validation {
    // Reason::kValid, or the first check that failed (exactly as TokenVerifier::Verify decides).
    Reason reason = Reason::kMalformed;
    // Valid tokens only: the renderer's answer (empty without a renderer). Points into storage of
    // the calling thread that the next Validate on this thread reuses: copy it before then.
    std::string_view answer;
    // True when the answer came from the cache (the signature was not checked again).
    bool cached = false;
    bool valid() const { return reason == Reason::kValid; }
  };

  // `cache` may be null (no caching); it and `ring`, `clock` must outlive the validator.
  TokenValidator(const KeyRing* ring, TokenVerifier verifier, const Clock* clock,
                 ValidationCache* cache = nullptr, Renderer renderer = nullptr)
      : ring_(ring),
        verifier_(std::move(verifier)),
        clock_(clock),
        cache_(cache != nullptr && cache->enabled() ? cache : nullptr),
        renderer_(std::move(renderer)) {}

  // A cached token is answered from the cache only after the checks that may have changed since
  // it was verified pass again against the state of the moment: exp/nbf/iat with the leeway,
  // the audience, the key (still in the key set as the same key, not revoked), the jti and the
  // subject revocations. So a revocation or an expiry takes effect at once, and a hit gives the
  // reason a full verification would give.
  Validation Validate(std::string_view token, std::string_view audience) const;

  // Verifies without revocations or audience, for RevokeToken (which needs the jti and exp of a
  // token signed by a known key). Never cached.
  VerifyResult VerifySignedBy(std::string_view token) const;

  const TokenVerifier& verifier() const { return verifier_; }

 private:
  // The ring's current snapshot without a lock: each thread keeps the last one it saw, and looks
  // the ring's snapshot up again only when KeyRing::publication() has changed. Valid until the
  // calling thread's next call.
  const StateSnapshot& Snapshot() const;

  const KeyRing* const ring_;
  const TokenVerifier verifier_;
  const Clock* const clock_;
  ValidationCache* const cache_;
  const Renderer renderer_;
};

}  // namespace signet::server

#endif  // SIGNET_SERVER_TOKEN_VALIDATOR_H_
