// The caller claims of a verified token as a google.protobuf.Struct, for ValidateTokenResponse.
//
// Example:
//   google::protobuf::Struct claims;
//   if (token.has_caller_claims()) CallerClaimsToStruct(token, &claims);
#ifndef SIGNET_SERVER_CALLER_CLAIMS_H_
#define SIGNET_SERVER_CALLER_CLAIMS_H_

#include "google/protobuf/struct.pb.h"
#include "signet/verified_token.h"

namespace signet::server {

// Adds every member of the token's claims set except the registered claims to *out, as
// google::protobuf::util::JsonStringToMessage(token.CallerClaimsJson(), out) would (numbers become
// doubles), from one DOM parse of the payload instead of a parse, a write and a protobuf JSON
// parse. Claims nested deeper than a Struct can carry through protobuf's parsers (30 JSON levels)
// leave *out empty: the token is still valid, its claims are then only in the token itself.
void CallerClaimsToStruct(const VerifiedToken& token, google::protobuf::Struct* out);

}  // namespace signet::server

#endif  // SIGNET_SERVER_CALLER_CLAIMS_H_
