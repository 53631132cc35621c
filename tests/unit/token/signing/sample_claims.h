// The claims the signing tests sign: every registered claim set, one audience and a caller claim.
//
// Example:
//   absl::StatusOr<std::string> token = SignToken(*key, SampleClaims());
#ifndef SIGNET_TESTS_UNIT_TOKEN_SIGNING_SAMPLE_CLAIMS_H_
#define SIGNET_TESTS_UNIT_TOKEN_SIGNING_SAMPLE_CLAIMS_H_

#include "absl/time/time.h"
#include "token/signing/token_signer.h"

namespace signet::server::testing {

inline const absl::Time kSampleIssuedAt = absl::FromUnixSeconds(1700000000);

// Issued at `issued_at`, valid for an hour, with a fixed token id.
inline TokenClaims SampleClaims(absl::Time issued_at = kSampleIssuedAt) {
  TokenClaims c;
  c.issuer = "signet";
  c.subject = "42";
  c.backend = "django.contrib.auth.backends.ModelBackend";
  c.audiences = {"orders"};
  c.issued_at = issued_at;
  c.expires_at = issued_at + absl::Hours(1);
  c.token_id = "AAECAwQFBgcICQoLDA0ODw";
  c.caller_claims_json = R"({"role":"admin"})";
  return c;
}

}  // namespace signet::server::testing

#endif  // SIGNET_TESTS_UNIT_TOKEN_SIGNING_SAMPLE_CLAIMS_H_
