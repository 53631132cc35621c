#include "server/ring_verifier.h"

#include <utility>

#include "server/metrics/server_metrics.h"

namespace signet::server {

RingVerifier::Verdict RingVerifier::Verify(std::string_view token, Audience audience) const {
  const StateSnapshot& snap = ring_->state().Read();
  const internal::CachingVerifier::Result r =
      verifier_.Verify(token, snap.keys, snap.revocations, clock_->Now(), audience);
  Verdict v;
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
