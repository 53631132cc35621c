#include "server/policy/policy.h"

#include <algorithm>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace signet::server {
namespace {

// Request text echoed in a refusal: escaped, and cut to a bound so a caller cannot make the
// message (and the audit line that repeats it) large.
constexpr size_t kMaxEchoBytes = 64;

std::string Quote(absl::string_view text) {
  if (text.size() <= kMaxEchoBytes) return absl::StrCat("\"", absl::CEscape(text), "\"");
  return absl::StrCat("\"", absl::CEscape(text.substr(0, kMaxEchoBytes)), "...\" (", text.size(),
                      " bytes)");
}

std::string Who(const Caller& caller) {
  if (!caller.identity.has_value()) return "unauthenticated caller";
  return absl::StrCat("caller \"", absl::CEscape(caller.Name()), "\"");
}

std::string PatternList(const std::vector<GlobPattern>& patterns) {
  return absl::StrJoin(patterns, ", ",
                       [](std::string* out, const GlobPattern& p) { out->append(p.text()); });
}

}  // namespace

const char* RoleName(Role role) {
  switch (role) {
    case Role::kIssuer:
      return "issuer";
    case Role::kValidator:
      return "validator";
    case Role::kAdmin:
      return "admin";
  }
  return "unknown";
}

std::optional<Role> RoleFromName(absl::string_view name) {
  for (Role r : {Role::kIssuer, Role::kValidator, Role::kAdmin}) {
    if (name == RoleName(r)) return r;
  }
  return std::nullopt;
}

Role RequiredRole(Rpc rpc) {
  switch (rpc) {
    case Rpc::kIssueToken:
      return Role::kIssuer;
    case Rpc::kValidateToken:
    case Rpc::kGetJwks:
    case Rpc::kWatchKeys:
    case Rpc::kCheck:
      return Role::kValidator;
    case Rpc::kRevokeKey:
    case Rpc::kRotateKey:
    case Rpc::kListKeys:
    case Rpc::kRevokeToken:
    case Rpc::kRevokeSubject:
      return Role::kAdmin;
  }
  return Role::kAdmin;
}

std::string RoleSet::ToString() const {
  std::vector<const char*> names;
  for (Role r : {Role::kIssuer, Role::kValidator, Role::kAdmin}) {
    if (Has(r)) names.push_back(RoleName(r));
  }
  if (names.empty()) return "none";
  return absl::StrJoin(names, ", ");
}

Policy::Policy(std::vector<PolicyRule> rules) : rules_(std::move(rules)) {
  for (size_t i = 0; i < rules_.size(); ++i) {
    const IdentityPattern& p = rules_[i].identity;
    if (p.any() || p.glob().is_glob()) {
      scanned_.push_back(i);
    } else {
      exact_[p.ToString()].push_back(i);
    }
  }
}

Caller Policy::Identify(const PeerNames& names) const {
  return Caller{ChooseIdentity(names, [this](absl::string_view dns) {
    const std::optional<PeerIdentity> candidate =
        PeerIdentity{IdentityKind::kDns, std::string(dns)};
    for (size_t i : Matching(candidate)) {
      if (!rules_[i].identity.any()) return true;
    }
    return false;
  })};
}

std::vector<size_t> Policy::Matching(const std::optional<PeerIdentity>& identity) const {
  std::vector<size_t> out;
  if (identity.has_value()) {
    if (auto it = exact_.find(identity->ToString()); it != exact_.end()) out = it->second;
  }
  for (size_t i : scanned_) {
    if (rules_[i].identity.Matches(identity)) out.push_back(i);
  }
  std::sort(out.begin(), out.end());
  return out;
}

RoleSet Policy::RolesOf(const std::optional<PeerIdentity>& identity) const {
  RoleSet roles;
  for (size_t i : Matching(identity)) roles.Merge(rules_[i].roles);
  return roles;
}

absl::Status Policy::CheckRpc(const Caller& caller, Rpc rpc) const {
  const Role needed = RequiredRole(rpc);
  std::vector<size_t> matching = Matching(caller.identity);
  RoleSet roles;
  for (size_t i : matching) roles.Merge(rules_[i].roles);
  if (roles.Has(needed) || roles.Has(Role::kAdmin)) return absl::OkStatus();
  if (matching.empty() && !caller.identity.has_value()) {
    return absl::UnauthenticatedError(
        absl::StrCat("the call carries no usable client identity (no client certificate, or one "
                     "with several or an invalid SPIFFE ID, or no name at all) and no policy "
                     "entry admits callers without one; ",
                     RpcName(rpc), " needs role ", RoleName(needed)));
  }
  if (roles.empty()) {
    return absl::PermissionDeniedError(absl::StrCat(Who(caller), " has no role in the policy; ",
                                                    RpcName(rpc), " needs role ",
                                                    RoleName(needed)));
  }
  return absl::PermissionDeniedError(absl::StrCat(Who(caller), " has role ", roles.ToString(), "; ",
                                                  RpcName(rpc), " needs role ", RoleName(needed)));
}

absl::Status Policy::CheckIssue(const Caller& caller, const IssueRequestView& request) const {
  absl::Status first_refusal;
  bool any = false;
  for (size_t i : Matching(caller.identity)) {
    const PolicyRule& rule = rules_[i];
    if (!rule.roles.Has(Role::kIssuer) && !rule.roles.Has(Role::kAdmin)) continue;
    any = true;
    absl::Status refusal;
    if (!rule.subjects.empty() &&
        std::none_of(rule.subjects.begin(), rule.subjects.end(),
                     [&](const GlobPattern& p) { return p.Matches(request.subject); })) {
      refusal = absl::PermissionDeniedError(
          absl::StrCat("subject ", Quote(request.subject), " is not allowed for ", Who(caller),
                       " (allowed: ", PatternList(rule.subjects), ")"));
    }
    if (refusal.ok() && !rule.audiences.empty()) {
      if (request.audiences.empty()) {
        refusal = absl::PermissionDeniedError(
            absl::StrCat(Who(caller), " may only issue tokens for audiences [",
                         absl::StrJoin(rule.audiences, ", "), "]: name at least one"));
      }
      for (const std::string& aud : request.audiences) {
        if (!refusal.ok()) break;
        if (std::find(rule.audiences.begin(), rule.audiences.end(), aud) == rule.audiences.end()) {
          refusal = absl::PermissionDeniedError(
              absl::StrCat("audience ", Quote(aud), " is not allowed for ", Who(caller),
                           " (allowed: ", absl::StrJoin(rule.audiences, ", "), ")"));
        }
      }
    }
    if (refusal.ok() && rule.max_ttl.has_value() && request.ttl > *rule.max_ttl) {
      refusal = absl::PermissionDeniedError(
          absl::StrCat("ttl ", absl::FormatDuration(request.ttl), " exceeds the ",
                       absl::FormatDuration(*rule.max_ttl), " that ", Who(caller), " may ask for"));
    }
    if (refusal.ok()) return absl::OkStatus();
    if (first_refusal.ok()) first_refusal = refusal;
  }
  if (!any) return CheckRpc(caller, Rpc::kIssueToken);
  return first_refusal;
}

}  // namespace signet::server
