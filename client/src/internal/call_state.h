// The outcome of authenticating one call, shared by the interceptor (writer) and CallIdentity
// (readers). Immutable once published.
#ifndef SIGNET_CLIENT_INTERNAL_CALL_STATE_H_
#define SIGNET_CLIENT_INTERNAL_CALL_STATE_H_

#include "signet/auth_failure.h"
#include "signet/auth_policy.h"
#include "signet/reason.h"
#include "signet/validator.h"

namespace signet::internal {

struct CallState {
  AuthFailure failure = AuthFailure::kNotIntercepted;
  Reason token_reason = Reason::kValid;  // Set only for kInvalidToken.
  Requirement requirement = Requirement::kRequired;
  // The handler must stop: the client has been (or, for kNotIntercepted, must be) refused.
  bool rejected = true;
  Identity identity;  // Meaningful only when failure == kNone.
};

}  // namespace signet::internal

#endif  // SIGNET_CLIENT_INTERNAL_CALL_STATE_H_
