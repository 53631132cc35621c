// A caller's identity, typed by where its verified client certificate carries it: a SPIFFE ID
// (URI SAN), a DNS name (DNS SAN) or a subject common name. A value of one kind never stands for
// another: a CN or DNS name spelling "spiffe://..." is still a CN or a DNS name.
//
// Example:
//   PeerNames names = ReadPeerNames(*context.auth_context());
//   std::optional<PeerIdentity> who =
//       ChooseIdentity(names, [](absl::string_view dns) { return dns == "gateway.example.com"; });
//   if (who) Log(..., who->ToString());  // "spiffe:spiffe://prod/ns/auth/sa/login"
#ifndef SIGNET_SERVER_POLICY_PEER_IDENTITY_H_
#define SIGNET_SERVER_POLICY_PEER_IDENTITY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "grpcpp/security/auth_context.h"

namespace signet::server {

enum class IdentityKind : uint8_t {
  kSpiffe,      // from a URI SAN "spiffe://<trust domain>/<path>"
  kDns,         // from a DNS SAN (lower case)
  kCommonName,  // from the subject CN; counts only where a policy entry names a common_name
};

// "spiffe", "dns" or "cn": the prefix of PeerIdentity::ToString().
const char* IdentityKindName(IdentityKind kind);

struct PeerIdentity {
  IdentityKind kind;
  std::string value;

  // "spiffe:spiffe://prod/ns/auth/sa/login", "dns:gateway.example.com", "cn:legacy-client".
  std::string ToString() const;
  bool operator==(const PeerIdentity& other) const {
    return kind == other.kind && value == other.value;
  }
};

// InvalidArgument (without the text's origin) when `text` is not a valid value of `kind`:
// - kSpiffe: "spiffe://", a trust domain of [a-z0-9._-], then "/" and path segments of
//   [A-Za-z0-9._-] (no empty, "." or ".." segment); a pattern must have a path, and may have '*'
//   only in it, so no glob spans trust domains;
// - kDns: at most 253 bytes of dot-separated labels (1 to 63 of [a-z0-9-], not starting or
//   ending with '-'); a pattern may have '*' in labels. Upper case is refused: callers fold first;
// - kCommonName: 1 to 1024 bytes, no control characters.
// With `pattern` false, '*' is an ordinary (and for SPIFFE IDs and DNS names invalid) character.
absl::Status CheckIdentitySyntax(IdentityKind kind, absl::string_view text, bool pattern);

// What a verified client certificate names, as gRPC's AuthContext exposes it.
struct PeerNames {
  bool authenticated = false;
  // Every URI SAN whose scheme is spiffe (in any case), valid or not.
  std::vector<std::string> spiffe_ids;
  // The valid DNS SANs, lower-cased, in certificate order; invalid ones name nobody and are left
  // out (a DNS SAN cannot hold "spiffe://..." or a wildcard and identify a caller).
  std::vector<std::string> dns_names;
  // The subject CN when it is valid CN text, else empty.
  std::string common_name;
};

// Reads the properties on every call and caches nothing in the AuthContext.
PeerNames ReadPeerNames(const grpc::AuthContext& auth);

// The caller's one identity, by what the certificate holds, never by what would match best:
// 1. exactly one SPIFFE ID, valid: that (DNS names and CN are ignored); several, or an invalid
//    one: none (picking one would let whoever filled the certificate choose);
// 2. else DNS names: the first for which `named_by_policy` is true, else the first;
// 3. else the CN.
// nullopt for an unauthenticated peer or a certificate naming none of these.
std::optional<PeerIdentity> ChooseIdentity(
    const PeerNames& names, absl::FunctionRef<bool(absl::string_view dns)> named_by_policy);

}  // namespace signet::server

#endif  // SIGNET_SERVER_POLICY_PEER_IDENTITY_H_
