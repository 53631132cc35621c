#include "server/policy/identity_pattern.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace signet::server {

IdentityPattern IdentityPattern::Any() {
  IdentityPattern p;
  p.any_ = true;
  return p;
}

absl::StatusOr<IdentityPattern> IdentityPattern::Parse(IdentityKind kind, absl::string_view text) {
  std::string value(text);
  if (kind == IdentityKind::kDns) absl::AsciiStrToLower(&value);
  if (absl::Status s = CheckIdentitySyntax(kind, value, /*pattern=*/true); !s.ok()) return s;
  absl::StatusOr<GlobPattern> glob = GlobPattern::Parse(value);
  if (!glob.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(IdentityKindName(kind), " ", glob.status().message()));
  }
  IdentityPattern p;
  p.kind_ = kind;
  p.glob_ = *std::move(glob);
  return p;
}

bool IdentityPattern::Matches(const std::optional<PeerIdentity>& identity) const {
  if (any_) return true;
  return identity.has_value() && identity->kind == kind_ && glob_.Matches(identity->value);
}

std::string IdentityPattern::ToString() const {
  if (any_) return "any";
  return absl::StrCat(IdentityKindName(kind_), ":", glob_.text());
}

}  // namespace signet::server
