#include "server/token_validator.h"

#include "server/metrics/server_metrics.h"

namespace signet::server {

VerifyResult TokenValidator::Validate(std::string_view token, std::string_view audience) const {
  std::shared_ptr<const StateSnapshot> snap = ring_->Current();
  VerifyResult result =
      verifier_.Verify(token, snap->keys, &snap->revocations, clock_->Now(), audience);
  ServerMetrics::Global().RecordValidation(result.reason);
  return result;
}

VerifyResult TokenValidator::VerifySignedBy(std::string_view token) const {
  std::shared_ptr<const StateSnapshot> snap = ring_->Current();
  return verifier_.Verify(token, snap->keys, nullptr, clock_->Now());
}

}  // namespace signet::server
