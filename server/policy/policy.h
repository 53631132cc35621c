// Who may call what: a parsed, immutable signet policy (roles per caller identity, and limits on
// what an issuer may ask for). The JSON form is read by policy_file.h.
//
// Example:
//   absl::StatusOr<Policy> policy = ParsePolicyJson(text, "/etc/signet/policy.json");
//   if (!policy.ok()) return policy.status();
//   Caller caller = policy->Identify(ReadPeerNames(*context.auth_context()));
//   absl::Status s = policy->CheckRpc(caller, Rpc::kIssueToken);
#ifndef SIGNET_SERVER_POLICY_POLICY_H_
#define SIGNET_SERVER_POLICY_POLICY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/policy/authorizer.h"
#include "server/policy/glob_pattern.h"
#include "server/policy/identity_pattern.h"
#include "server/policy/peer_identity.h"

namespace signet::server {

enum class Role : uint8_t {
  kIssuer,     // IssueToken
  kValidator,  // ValidateToken, GetJwks, WatchKeys
  kAdmin,      // key and revocation changes, ListKeys, and everything the others may do
};

// "issuer", "validator" or "admin".
const char* RoleName(Role role);
std::optional<Role> RoleFromName(absl::string_view name);
// The role an RPC needs (admins may call every RPC).
Role RequiredRole(Rpc rpc);

// A set of roles, as bits.
class RoleSet {
 public:
  void Add(Role role) { bits_ |= Bit(role); }
  void Merge(RoleSet other) { bits_ |= other.bits_; }
  bool Has(Role role) const { return (bits_ & Bit(role)) != 0; }
  bool empty() const { return bits_ == 0; }
  // "issuer, validator", in enum order; "none" when empty.
  std::string ToString() const;

 private:
  static uint8_t Bit(Role role) { return static_cast<uint8_t>(1u << static_cast<uint8_t>(role)); }
  uint8_t bits_ = 0;
};

// One "callers" entry.
struct PolicyRule {
  IdentityPattern identity;
  RoleSet roles;
  // Issuer limits; an empty list and an unset TTL allow anything.
  std::vector<GlobPattern> subjects;
  std::vector<std::string> audiences;
  std::optional<absl::Duration> max_ttl;
  bool limited() const { return !subjects.empty() || !audiences.empty() || max_ttl.has_value(); }
};

// Rules only grant: a caller's roles are the union over every rule whose identity matches, and an
// IssueToken request passes when any matching issuer (or admin) rule's limits allow it.
// Immutable; thread-safe.
class Policy {
 public:
  explicit Policy(std::vector<PolicyRule> rules);

  // The caller a verified certificate identifies (ChooseIdentity); among several DNS names, the
  // first one some dns_name entry names.
  Caller Identify(const PeerNames& names) const;

  // OK, PERMISSION_DENIED naming the role `rpc` needs (and the roles the caller has), or
  // UNAUTHENTICATED for a caller without identity that no rule admits.
  absl::Status CheckRpc(const Caller& caller, Rpc rpc) const;
  // Issuer limits. PERMISSION_DENIED naming the subject, audience or TTL the caller may not ask
  // for (a long subject is cut short in the message).
  absl::Status CheckIssue(const Caller& caller, const IssueRequestView& request) const;
  // The roles granted to `identity`.
  RoleSet RolesOf(const std::optional<PeerIdentity>& identity) const;

  const std::vector<PolicyRule>& rules() const { return rules_; }

 private:
  // Indexes into rules_ of every rule matching `identity`, in file order.
  std::vector<size_t> Matching(const std::optional<PeerIdentity>& identity) const;

  std::vector<PolicyRule> rules_;
  // Exact patterns by PeerIdentity::ToString(), so kinds never meet.
  absl::flat_hash_map<std::string, std::vector<size_t>> exact_;
  // Globs and "any" entries.
  std::vector<size_t> scanned_;
};

}  // namespace signet::server

#endif  // SIGNET_SERVER_POLICY_POLICY_H_
