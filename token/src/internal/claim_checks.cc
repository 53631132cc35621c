#include "internal/claim_checks.h"

namespace signet::internal {

Reason JudgeClaims(const ClaimsToJudge& c, const RevocationSet* revocations, absl::Duration leeway,
                   absl::Time now) {
  if (c.expires_at + leeway <= now) return Reason::kExpired;
  if (c.not_before - leeway > now || c.issued_at - leeway > now) return Reason::kNotYetValid;
  if (!c.issuer_matches) return Reason::kIssuerMismatch;
  if (!c.audience_matches) return Reason::kAudienceMismatch;
  if (c.key_status == KeySet::Status::kRevoked) return Reason::kKeyRevoked;
  if (revocations != nullptr) {
    if (!c.token_id.empty() && revocations->IsTokenRevoked(c.token_id, now)) {
      return Reason::kTokenRevoked;
    }
    if (revocations->IsSubjectRevoked(c.subject, c.issued_at, now)) return Reason::kSubjectRevoked;
  }
  return Reason::kValid;
}

}  // namespace signet::internal
