#include "server/token_validator.h"

#include <utility>

#include "server/metrics/server_metrics.h"

namespace signet::server {

TokenValidator::Validation TokenValidator::Validate(std::string_view token,
                                                    Audience audience) const {
  const StateSnapshot& snap = ring_->state().Read();
  const internal::CachingVerifier::Result r =
      verifier_.Verify(token, snap.keys, snap.revocations, clock_->Now(), audience);
  Validation v;
  v.reason = r.reason;
  v.cached = r.cached;
  v.answer = r.answer;
  ServerMetrics::Global().RecordValidation(v.reason);
  return v;
}

std::optional<SignedClaims> TokenValidator::ReadSigned(std::string_view token,
                                                       Reason* reason) const {
  std::shared_ptr<const StateSnapshot> snap = ring_->Current();
  return verifier_.verifier().ReadSigned(token, snap->keys, reason);
}

}  // namespace signet::server
