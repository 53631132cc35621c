// ECDSA P-256 signatures in the one form signet accepts: JWS r||s (64 bytes) with low s
// (s <= n/2). A signature with high s is the same signature as (r, n - s), which verifiers refuse
// so that no token has two valid encodings; every signer (in process or in a PKCS#11 token)
// rewrites its signature here before it leaves the server.
//
// Example:
//   std::string rs = raw_r_then_s;            // from OpenSSL or C_Sign(CKM_ECDSA)
//   if (absl::Status s = ToLowS(&rs); !s.ok()) return s;
#ifndef SIGNET_TOKEN_SIGNING_ECDSA_SIGNATURE_H_
#define SIGNET_TOKEN_SIGNING_ECDSA_SIGNATURE_H_

#include <string>

#include "absl/status/status.h"

namespace signet::server {

// Rewrites `r_s` (64 bytes: r then s, big-endian) to (r, n - s) when s > n/2. InvalidArgument for
// another size; Internal if the arithmetic fails.
absl::Status ToLowS(std::string* r_s);

}  // namespace signet::server

#endif  // SIGNET_TOKEN_SIGNING_ECDSA_SIGNATURE_H_
