// The policy file parser (--policy_file). A policy that parses must answer every question about
// any caller, grant each rule's roles to identities its pattern names, and never grant a rule's
// roles to an identity of another kind spelling the same text.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/strings/str_replace.h"
#include "server/policy/policy.h"
#include "server/policy/policy_file.h"
#include "tests/fuzz/fuzz_keys.h"

namespace {

using signet::fuzz::Require;
using signet::server::Caller;
using signet::server::IdentityKind;
using signet::server::PeerIdentity;
using signet::server::Rpc;

constexpr Rpc kRpcs[] = {Rpc::kIssueToken, Rpc::kValidateToken, Rpc::kRevokeKey,
                         Rpc::kRotateKey,  Rpc::kListKeys,      Rpc::kGetJwks,
                         Rpc::kWatchKeys,  Rpc::kRevokeToken,   Rpc::kRevokeSubject};

constexpr IdentityKind kKinds[] = {IdentityKind::kSpiffe, IdentityKind::kDns,
                                   IdentityKind::kCommonName};

void Ask(const signet::server::Policy& policy, const std::optional<PeerIdentity>& identity) {
  const Caller caller{identity};
  for (Rpc rpc : kRpcs) (void)policy.CheckRpc(caller, rpc);
  signet::server::IssueRequestView request{"user:42", {"api", "web"}, absl::Minutes(10)};
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
  Ask(*policy, std::nullopt);
  Ask(*policy, PeerIdentity{IdentityKind::kSpiffe, "spiffe://prod/ns/auth/sa/login"});
  for (const signet::server::PolicyRule& rule : policy->rules()) {
    if (rule.identity.any()) {
      Require(rule.identity.Matches(std::nullopt), "an any entry admits callers without identity");
      continue;
    }
    // An identity the pattern names ('*' standing for some text) gets at least the rule's roles.
    const std::string text = absl::StrReplaceAll(rule.identity.glob().text(), {{"*", "x"}});
    const PeerIdentity named{rule.identity.kind(), text};
    Require(rule.identity.Matches(named), "a pattern matches an identity it names");
    const signet::server::RoleSet roles = policy->RolesOf(named);
    for (signet::server::Role role :
         {signet::server::Role::kIssuer, signet::server::Role::kValidator,
          signet::server::Role::kAdmin}) {
      if (rule.roles.Has(role)) Require(roles.Has(role), "a matching rule grants its roles");
    }
    Ask(*policy, named);
    // The same text as another kind of identity is another caller.
    for (IdentityKind kind : kKinds) {
      if (kind == rule.identity.kind()) continue;
      Require(!rule.identity.Matches(PeerIdentity{kind, text}),
              "a pattern never matches another kind of identity");
      Ask(*policy, PeerIdentity{kind, text});
    }
  }
  return 0;
}
