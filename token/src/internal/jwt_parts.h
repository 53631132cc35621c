// The JOSE header and the JWT claims set of a token, read in one strict SAX pass each.
#ifndef SIGNET_TOKEN_SRC_INTERNAL_JWT_PARTS_H_
#define SIGNET_TOKEN_SRC_INTERNAL_JWT_PARTS_H_

#include <string>
#include <string_view>

#include "absl/container/inlined_vector.h"
#include "absl/time/time.h"
#include "signet/algorithm.h"
#include "signet/reason.h"

namespace signet::internal {

struct HeaderFields {
  Algorithm algorithm = Algorithm::kEdDSA;
  std::string_view kid;  // Points into the parsed buffer.
};

// Parses the decoded header held in *buffer, in place (string views in *out point into it).
// kValid, kMalformed or kUnsupportedAlgorithm, deciding in the order of token_verifier.h: JSON
// shape, then alg, then kid, then refused members, then typ.
Reason ParseHeader(std::string* buffer, HeaderFields* out);

struct ClaimsFields {
  // Views into the parsed buffer.
  std::string_view issuer, subject, token_id, backend;
  absl::InlinedVector<std::string_view, 2> audiences;
  bool has_issuer = false, has_subject = false, has_token_id = false, has_backend = false;
  bool has_expires_at = false, has_not_before = false, has_issued_at = false;
  // A member other than the registered claims (iss sub aud exp nbf iat jti backend) is present.
  bool has_caller_claims = false;
  absl::Time expires_at, not_before, issued_at;
};

// Parses the decoded claims set held in *buffer, in place. False when it is not a strict JSON
// object or a registered claim has the wrong type or range (Reason::kMalformed).
bool ParseClaims(std::string* buffer, ClaimsFields* out);

}  // namespace signet::internal

#endif  // SIGNET_TOKEN_SRC_INTERNAL_JWT_PARTS_H_
