// A TokenVerifier in front of a ValidationCache: the one cache-then-verify flow of signet-server's
// ValidateToken, its gateway decisions and the client library's LocalValidator.
//
// Example:
//   CachingVerifier verifier(*TokenVerifier::Create(policy), /*cache_entries=*/65536,
//                            [](const VerifiedToken& t) { return Serialize(t); });
//   CachingVerifier::Result r =
//       verifier.Verify(token, keys, revocations, now, Audience::Expect("orders"));
//   if (r.valid()) Send(r.answer);  // What the renderer made when the token was first verified.
//
// A hit is answered only after the checks that may have changed since the token was verified
// pass again against the key set and revocations given now (RecheckCachedEntry: times with the
// leeway, the audience, the key still the one its kid names and not revoked, the jti and subject
// revocations). So a revocation or an expiry applies at once, and a hit gives the reason a full
// verification would give. A hit whose key is gone or replaced falls through to a full
// verification.
#ifndef SIGNET_CACHING_VERIFIER_H_
#define SIGNET_CACHING_VERIFIER_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "signet/audience.h"
#include "signet/key_set.h"
#include "signet/reason.h"
#include "signet/revocation_set.h"
#include "signet/token_verifier.h"
#include "signet/validation_cache.h"
#include "signet/verified_token.h"

namespace signet::internal {

// Thread-safe. Verify takes no lock, a hit included.
class CachingVerifier {
 public:
  // The bytes answered for a valid token, made once, at its full verification; every later hit
  // answers the same bytes. nullopt: answer nothing and do not cache this token. Must be
  // thread-safe.
  using Renderer = std::function<std::optional<std::string>(const VerifiedToken& token)>;

  // What Verify returns. The views and pointers refer to storage of the calling thread that the
  // next Verify on this thread (of any CachingVerifier) reuses: copy what is needed before then.
  struct Result {
    // Reason::kValid, or the first check that failed (as TokenVerifier::Verify decides).
    Reason reason = Reason::kMalformed;
    // True when the answer came from the cache: the signature was not checked again.
    bool cached = false;
    // Valid tokens: the renderer's bytes (empty when it gave nullopt or there is no renderer).
    std::string_view answer;
    // Cache hits: the entry found. Null otherwise.
    const ValidationCache::Found* entry = nullptr;
    // Full verifications: TokenVerifier::Verify's result. Null on hits.
    const VerifyResult* verified = nullptr;

    bool valid() const { return reason == Reason::kValid; }
  };

  // `cache_entries` 0: no cache (every call is a full verification).
  CachingVerifier(TokenVerifier verifier, size_t cache_entries, Renderer renderer = nullptr);

  Result Verify(std::string_view token, const KeySet& keys, const RevocationSet& revocations,
                absl::Time now, Audience audience) const;

  const TokenVerifier& verifier() const { return verifier_; }
  // Entries held now (a scan: for tests and metrics).
  size_t cache_size() const { return cache_ == nullptr ? 0 : cache_->size(); }

 private:
  const TokenVerifier verifier_;
  const std::unique_ptr<ValidationCache> cache_;  // Null without a cache.
  const Renderer renderer_;
};

}  // namespace signet::internal

#endif  // SIGNET_CACHING_VERIFIER_H_
