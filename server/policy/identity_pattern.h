// Which callers a policy entry names: identities of one kind (SPIFFE ID, DNS name or CN) matching
// a glob, or every caller ("any": true, including one without a client certificate).
//
// Example:
//   absl::StatusOr<IdentityPattern> p =
//       IdentityPattern::Parse(IdentityKind::kSpiffe, "spiffe://prod/ns/auth/*");
//   p->Matches(PeerIdentity{IdentityKind::kSpiffe, "spiffe://prod/ns/auth/sa/login"});  // true
//   p->Matches(PeerIdentity{IdentityKind::kCommonName, "spiffe://prod/ns/auth/sa/login"});  //
//   false
#ifndef SIGNET_SERVER_POLICY_IDENTITY_PATTERN_H_
#define SIGNET_SERVER_POLICY_IDENTITY_PATTERN_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/policy/glob_pattern.h"
#include "server/policy/peer_identity.h"

namespace signet::server {

class IdentityPattern {
 public:
  // Every caller, with or without identity.
  static IdentityPattern Any();
  // InvalidArgument (CheckIdentitySyntax's message, or a bad glob) when `text` is not a pattern of
  // `kind`. DNS patterns are folded to lower case first.
  static absl::StatusOr<IdentityPattern> Parse(IdentityKind kind, absl::string_view text);

  // Only identities of the pattern's kind match (or every caller, for Any()).
  bool Matches(const std::optional<PeerIdentity>& identity) const;

  bool any() const { return any_; }
  // Meaningless for Any().
  IdentityKind kind() const { return kind_; }
  const GlobPattern& glob() const { return glob_; }
  // "any", or kind and pattern as PeerIdentity::ToString() writes them ("spiffe:spiffe://...").
  std::string ToString() const;

 private:
  bool any_ = false;
  IdentityKind kind_ = IdentityKind::kSpiffe;
  GlobPattern glob_;
};

}  // namespace signet::server

#endif  // SIGNET_SERVER_POLICY_IDENTITY_PATTERN_H_
