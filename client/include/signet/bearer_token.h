// The bearer token of an `Authorization: Bearer <token>` header value (RFC 6750 section 2.1), as
// the interceptor, the auth metadata processor and the server's gateway read it.
#ifndef SIGNET_BEARER_TOKEN_H_
#define SIGNET_BEARER_TOKEN_H_

#include <string_view>

#include "signet/auth_failure.h"

namespace signet {

struct BearerToken {
  // kNone when `token` holds a non-empty token; else kMissingToken, kNotBearer, kEmptyToken,
  // kDuplicateHeader or kBinaryHeader.
  AuthFailure failure = AuthFailure::kMissingToken;
  std::string_view token;  // Points into the header value.
};

// The token of one authorization header value "Bearer <token>" (scheme in any case, spaces after
// the scheme and trailing spaces ignored): kNone, kNotBearer or kEmptyToken.
BearerToken ParseAuthorization(std::string_view value);

}  // namespace signet

#endif  // SIGNET_BEARER_TOKEN_H_
