// Why a call carries no identity: one value per way the credentials of a call can fail.
//
// Example:
//   signet::CallIdentity who = signet::IdentityOf(context);
//   if (who.failure() == signet::AuthFailure::kInvalidToken) {
//     LogAnonymous(signet::AuthFailureName(who.failure()), signet::ReasonName(who.token_reason()));
//   }
#ifndef SIGNET_AUTH_FAILURE_H_
#define SIGNET_AUTH_FAILURE_H_

#include <string_view>

#include "signet/reason.h"

namespace signet {

enum class AuthFailure {
  kNone = 0,              // Authenticated: a valid bearer token.
  kMissingToken,          // No authorization header.
  kNotBearer,             // An authorization header with another scheme (Basic, ...).
  kEmptyToken,            // "Bearer" with no token after it.
  kDuplicateHeader,       // More than one authorization header: refused as ambiguous.
  kBinaryHeader,          // An authorization-bin header: never accepted as credentials.
  kInvalidToken,          // The validator judged the token invalid; token_reason says why.
  kValidatorUnavailable,  // The validator could not judge now (stale keys, server down).
  kNotIntercepted,        // No signet interceptor saw the call (the server is misconfigured).
};

// "NONE", "MISSING_TOKEN", "INVALID_TOKEN", ...
std::string_view AuthFailureName(AuthFailure failure);

// The message an UNAUTHENTICATED client reads: "missing bearer token", "token expired",
// "cannot validate tokens right now", ... `token_reason` matters only for kInvalidToken. Never
// contains any part of the token.
std::string_view AuthFailureMessage(AuthFailure failure, Reason token_reason = Reason::kValid);

}  // namespace signet

#endif  // SIGNET_AUTH_FAILURE_H_
