// The checks that come after the signature, shared by TokenVerifier::Verify (on claims just read)
// and the validation cache's re-check of a hit (on claims read before), so both judge alike.
#ifndef SIGNET_TOKEN_SRC_INTERNAL_CLAIM_CHECKS_H_
#define SIGNET_TOKEN_SRC_INTERNAL_CLAIM_CHECKS_H_

#include <string_view>

#include "absl/time/time.h"
#include "signet/key_set.h"
#include "signet/reason.h"
#include "signet/revocation_set.h"

namespace signet::internal {

struct ClaimsToJudge {
  // absl::InfinitePast() when the token has no iat (resp. nbf).
  absl::Time issued_at;
  absl::Time not_before;
  absl::Time expires_at;
  bool issuer_matches = false;
  // True when no audience is asked for.
  bool audience_matches = false;
  KeySet::Status key_status = KeySet::Status::kUsable;
  std::string_view token_id;  // Empty when the token has no jti.
  std::string_view subject;
};

// In the verifier's order: expiry, then not-before and issued-at (each with `leeway`), issuer,
// audience, the key's state, the token's and then the subject's revocation (a token without iat
// counts as issued at the beginning of time, so a subject revocation fails closed). `revocations`
// may be null.
Reason JudgeClaims(const ClaimsToJudge& c, const RevocationSet* revocations, absl::Duration leeway,
                   absl::Time now);

}  // namespace signet::internal

#endif  // SIGNET_TOKEN_SRC_INTERNAL_CLAIM_CHECKS_H_
