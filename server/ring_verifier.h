// Verifies tokens against the key ring's current state, for ValidateToken and the gateways: the
// snapshot's keys and revocations, the verifier's policy, the clock, and a cache of tokens found
// valid before. Knows nothing of gRPC. (The client library's signet::Validator and
// signet::Validation are what services call and get; this is the server's side.)
//
// Example:
//   RingVerifier verifier(ring.get(), *TokenVerifier::Create(policy), &Clock::Real(),
//                         /*cache_entries=*/65536,
//                         [](const VerifiedToken& t) { return Serialize(t); });
//   RingVerifier::Verdict v = verifier.Verify(token, Audience::Expect("orders"));
//   if (v.valid()) Send(v.answer);  // What the renderer made the first time this token came.
#ifndef SIGNET_SERVER_RING_VERIFIER_H_
#define SIGNET_SERVER_RING_VERIFIER_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "server/keys/key_ring.h"
#include "signet/caching_verifier.h"
#include "signet/clock.h"
#include "signet/token_verifier.h"

namespace signet::server {

// Thread-safe. Verify takes no lock (a cache hit included) and never touches the store.
class RingVerifier {
 public:
  // Turns a valid token into the answer its callers get (and later hits get again, byte for
  // byte). Called once per full verification that says valid; must be thread-safe.
  using Renderer = internal::CachingVerifier::Renderer;

  struct Verdict {
    // Reason::kValid, or the first check that failed (exactly as TokenVerifier::Verify decides).
    Reason reason = Reason::kMalformed;
    // Valid tokens only: the renderer's answer (empty without a renderer). Points into storage of
    // the calling thread that the next Verify on this thread reuses: copy it before then.
    std::string_view answer;
    // True when the answer came from the cache (the signature was not checked again).
    bool cached = false;
    // The signature could not be checked: its key's backend (a PKCS#11 token holding an HS256
    // secret) did not answer. The reason then says kBadSignature (never valid), but the token may
    // be good: callers answer UNAVAILABLE.
    bool backend_unavailable = false;
    bool valid() const { return reason == Reason::kValid; }
  };

  // `cache_entries` 0: no cache. `ring` and `clock` must outlive the verifier.
  RingVerifier(const KeyRing* ring, TokenVerifier verifier, const Clock* clock,
               size_t cache_entries = 0, Renderer renderer = nullptr)
      : ring_(ring),
        clock_(clock),
        verifier_(std::move(verifier), cache_entries, std::move(renderer)) {}

  // Against the ring's current snapshot (internal::CachingVerifier: a hit is answered only after
  // the checks that may have changed since pass again, so a revocation or an expiry applies at
  // once).
  Verdict Verify(std::string_view token, Audience audience) const;

  // The claims of a token signed by a key of the current snapshot, judged no further (expired or
  // revoked tokens included), for RevokeToken, which needs their jti and exp. Never cached.
  std::optional<SignedClaims> ReadSigned(std::string_view token, Reason* reason) const;

  const TokenVerifier& verifier() const { return verifier_.verifier(); }
  // Tokens in the cache now (a scan: for tests and metrics).
  size_t cache_size() const { return verifier_.cache_size(); }

 private:
  const KeyRing* const ring_;
  const Clock* const clock_;
  const internal::CachingVerifier verifier_;
};

}  // namespace signet::server

#endif  // SIGNET_SERVER_RING_VERIFIER_H_
