// The policy file parser (--policy_file). A policy that parses must answer every question about
// any caller, and grant each rule's roles to identities its pattern names.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/strings/str_replace.h"
#include "server/policy/policy.h"
#include "server/policy/policy_file.h"
#include "tests/fuzz/fuzz_keys.h"

namespace {

using signet::fuzz::Require;
using signet::server::Caller;
using signet::server::Rpc;

constexpr Rpc kRpcs[] = {Rpc::kIssueToken, Rpc::kValidateToken, Rpc::kRevokeKey,
                         Rpc::kRotateKey,  Rpc::kListKeys,      Rpc::kGetJwks,
                         Rpc::kWatchKeys,  Rpc::kRevokeToken,   Rpc::kRevokeSubject};

void Ask(const signet::server::Policy& policy, const std::string& identity) {
  const Caller caller{identity};
  for (Rpc rpc : kRpcs) (void)policy.CheckRpc(caller, rpc);
  signet::server::IssueRequestView request{{"api", "web"}, absl::Minutes(10)};
  (void)policy.CheckIssue(caller, request);
  (void)policy.RolesOf(identity).ToString();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<signet::server::Policy> policy =
      signet::server::ParsePolicyJson(absl::string_view(json.data(), json.size()), "fuzz.json");
  if (!policy.ok()) {
    Require(!policy.status().message().empty(), "a refused policy says why");
    return 0;
  }
  Ask(*policy, "");
  Ask(*policy, "spiffe://prod/ns/auth/sa/login");
  for (const signet::server::PolicyRule& rule : policy->rules()) {
    // An identity the pattern names ('*' standing for some text) gets at least the rule's roles.
    const std::string identity = absl::StrReplaceAll(rule.identity.text(), {{"*", "x"}});
    Require(rule.identity.Matches(identity), "a pattern matches an identity it names");
    const signet::server::RoleSet roles = policy->RolesOf(identity);
    for (signet::server::Role role :
         {signet::server::Role::kIssuer, signet::server::Role::kValidator,
          signet::server::Role::kAdmin}) {
      if (rule.roles.Has(role)) Require(roles.Has(role), "a matching rule grants its roles");
    }
    Ask(*policy, identity);
    Ask(*policy, rule.identity.text());
  }
  return 0;
}
