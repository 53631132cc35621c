#include "server/policy/policy.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace signet::server {
namespace {

constexpr absl::string_view kSpiffeScheme = "spiffe://";

// Glob match where '*' matches any run of characters; linear backtracking on the last star.
bool GlobMatch(absl::string_view pattern, absl::string_view text) {
  size_t p = 0, t = 0;
  size_t star = absl::string_view::npos, resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != absl::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::string Who(const Caller& caller) {
  if (caller.identity.empty()) return "unauthenticated caller";
  return absl::StrCat("caller \"", caller.identity, "\"");
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

absl::StatusOr<IdentityPattern> IdentityPattern::Parse(absl::string_view text) {
  if (text.empty()) return absl::InvalidArgumentError("identity must not be empty");
  for (char c : text) {
    if (absl::ascii_iscntrl(static_cast<unsigned char>(c)) ||
        absl::ascii_isspace(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError(absl::StrCat(
          "identity \"", absl::CEscape(text), "\" contains whitespace or a control character"));
    }
  }
  if (absl::StrContains(text, "**")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "identity \"", text, "\" is a bad glob: \"**\" (one '*' already matches '/')"));
  }
  if (absl::StartsWithIgnoreCase(text, kSpiffeScheme)) {
    absl::string_view rest = text.substr(kSpiffeScheme.size());
    absl::string_view trust_domain = rest.substr(0, rest.find('/'));
    if (trust_domain.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("identity \"", text, "\" is a SPIFFE ID without a trust domain"));
    }
    if (absl::StrContains(trust_domain, '*')) {
      return absl::InvalidArgumentError(
          absl::StrCat("identity \"", text,
                       "\" is a bad glob: '*' in a SPIFFE trust domain would admit any domain"));
    }
  }
  IdentityPattern pattern;
  pattern.text_ = std::string(text);
  pattern.is_glob_ = absl::StrContains(text, '*');
  return pattern;
}

bool IdentityPattern::Matches(absl::string_view identity) const {
  if (!is_glob_) return identity == text_;
  return GlobMatch(text_, identity);
}

Policy::Policy(std::vector<PolicyRule> rules) : rules_(std::move(rules)) {
  for (size_t i = 0; i < rules_.size(); ++i) {
    if (rules_[i].identity.is_glob()) {
      globs_.push_back(i);
    } else {
      exact_[rules_[i].identity.text()].push_back(i);
    }
  }
}

std::vector<size_t> Policy::Matching(absl::string_view identity) const {
  std::vector<size_t> out;
  if (auto it = exact_.find(identity); it != exact_.end()) out = it->second;
  for (size_t i : globs_) {
    if (rules_[i].identity.Matches(identity)) out.push_back(i);
  }
  std::sort(out.begin(), out.end());
  return out;
}

RoleSet Policy::RolesOf(absl::string_view identity) const {
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
  if (matching.empty() && caller.identity.empty()) {
    return absl::UnauthenticatedError(
        absl::StrCat("the call carries no client identity and no policy entry admits "
                     "unauthenticated callers; ",
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
    if (!rule.audiences.empty()) {
      if (request.audiences.empty()) {
        refusal = absl::PermissionDeniedError(
            absl::StrCat(Who(caller), " may only issue tokens for audiences [",
                         absl::StrJoin(rule.audiences, ", "), "]: name at least one"));
      }
      for (const std::string& aud : request.audiences) {
        if (!refusal.ok()) break;
        if (std::find(rule.audiences.begin(), rule.audiences.end(), aud) == rule.audiences.end()) {
          refusal = absl::PermissionDeniedError(
              absl::StrCat("audience \"", aud, "\" is not allowed for ", Who(caller),
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
