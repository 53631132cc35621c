#include "server/token_validator.h"

#include <utility>

#include "server/metrics/server_metrics.h"

namespace signet::server {

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
                                                    Audience audience) const {
  const StateSnapshot& snap = Snapshot();
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
