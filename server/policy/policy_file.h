// The policy file (--policy_file): JSON mapping typed caller identities to roles and issuer
// limits.
//
// Example file:
//   {
//     "callers": [
//       {"spiffe_id": "spiffe://prod/ns/auth/sa/login", "roles": ["issuer"],
//        "subjects": ["user:*"], "audiences": ["api", "web"], "max_ttl": "15m"},
//       {"spiffe_id": "spiffe://prod/ns/ops/sa/oncall", "roles": ["admin"],
//        "description": "operators' break-glass identity"},
//       {"dns_name": "gateway.prod.example.com", "roles": ["validator"]},
//       {"common_name": "legacy-batch-job", "roles": ["validator"]},
//       {"any": true, "roles": ["validator"]}
//     ]
//   }
//
// Example use:
//   absl::StatusOr<Policy> policy = LoadPolicyFile("/etc/signet/policy.json");
//
// Parsing is strict: unknown or duplicate fields, the untyped "identity" field of earlier files
// (the message says how to write the entry now), an entry naming its caller other than with
// exactly one of spiffe_id / dns_name / common_name / "any": true, a name that is not valid for
// its kind, unknown roles, bad globs, an empty subject or audience list, a max_ttl that does not
// parse or is not positive, and limits on a rule that cannot issue are errors naming the file and
// the field (e.g. "callers[2].roles[0]").
#ifndef SIGNET_SERVER_POLICY_POLICY_FILE_H_
#define SIGNET_SERVER_POLICY_POLICY_FILE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/policy/policy.h"

namespace signet::server {

// Larger files are refused: a policy is a short list.
inline constexpr size_t kMaxPolicyFileBytes = 1024 * 1024;

// `source` names the file in error messages.
absl::StatusOr<Policy> ParsePolicyJson(absl::string_view json, absl::string_view source);

// Reads `path` whole (at most kMaxPolicyFileBytes).
absl::StatusOr<std::string> ReadPolicyFile(const std::string& path);

// ReadPolicyFile + ParsePolicyJson.
absl::StatusOr<Policy> LoadPolicyFile(const std::string& path);

}  // namespace signet::server

#endif  // SIGNET_SERVER_POLICY_POLICY_FILE_H_
