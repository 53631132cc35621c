// Reading the bearer token from a call's metadata and judging it: the logic the interceptor and
// the auth metadata processor share.
#ifndef SIGNET_CLIENT_INTERNAL_AUTHENTICATE_H_
#define SIGNET_CLIENT_INTERNAL_AUTHENTICATE_H_

#include <map>
#include <memory>
#include <string_view>

#include "grpcpp/support/string_ref.h"
#include "internal/call_state.h"
#include "signet/auth_failure.h"
#include "signet/auth_policy.h"
#include "signet/bearer_token.h"

namespace signet::internal {

using Metadata = std::multimap<grpc::string_ref, grpc::string_ref>;

// The token of the one "authorization: Bearer <token>" header (scheme in any case, spaces after
// the scheme and trailing spaces ignored).
BearerToken FindBearerToken(const Metadata& metadata);

// Finds and judges the call's token for a method with `requirement`. Never null. Outcomes without
// an identity are shared immutable states (no allocation on the anonymous path).
std::shared_ptr<const CallState> Authenticate(const AuthPolicy& policy, Requirement requirement,
                                              const Metadata& metadata);

// The state reported for a call no interceptor saw.
std::shared_ptr<const CallState> NotInterceptedState();

}  // namespace signet::internal

#endif  // SIGNET_CLIENT_INTERNAL_AUTHENTICATE_H_
