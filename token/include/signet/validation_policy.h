// What a verifier demands of a token beyond its signature.
//
// Example:
//   signet::ValidationPolicy policy;
//   policy.issuer = "signet";
//   policy.leeway = absl::Seconds(30);
//   absl::StatusOr<signet::TokenVerifier> v = signet::TokenVerifier::Create(policy);
#ifndef SIGNET_VALIDATION_POLICY_H_
#define SIGNET_VALIDATION_POLICY_H_

#include <cstddef>
#include <string>

#include "absl/time/time.h"

namespace signet {

struct ValidationPolicy {
  // Required, non-empty: tokens whose iss differs fail with Reason::kIssuerMismatch.
  std::string issuer;
  // Clock skew tolerated on exp, nbf and iat. 0 to 5 minutes.
  absl::Duration leeway = absl::Seconds(30);
  // Tokens longer than this fail with Reason::kMalformed before anything else is read.
  // 256 bytes to 1 MiB.
  size_t max_token_bytes = 8 * 1024;
};

}  // namespace signet

#endif  // SIGNET_VALIDATION_POLICY_H_
