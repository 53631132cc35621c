#include "server/ring_verifier.h"

#include <utility>

#include "server/keys/key_backend.h"
#include "server/metrics/server_metrics.h"

namespace signet::server {

RingVerifier::Verdict RingVerifier::Verify(std::string_view token, Audience audience) const {
  const StateSnapshot& snap = ring_->state().Read();
  TakeBackendUnavailableOnThisThread();
  const internal::CachingVerifier::Result r =
      verifier_.Verify(token, snap.keys, snap.revocations, clock_->Now(), audience);
  Verdict v;
  v.backend_unavailable = TakeBackendUnavailableOnThisThread() && r.reason == Reason::kBadSignature;
  v.reason = r.reason;
  v.cached = r.cached;
  v.answer = r.answer;
  ServerMetrics::Global().RecordValidation(v.reason);
  return v;
}

std::optional<SignedClaims> RingVerifier::ReadSigned(std::string_view token, Reason* reason) const {
  std::shared_ptr<const StateSnapshot> snap = ring_->Current();
  return verifier_.verifier().ReadSigned(token, snap->keys, reason);
}

}  // namespace signet::server
