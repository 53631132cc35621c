// Who is calling, and may they call this RPC? One interface; the default allows everything
// (local plaintext mode), the policy-file implementation enforces roles under mutual TLS.
//
// Example:
//   std::unique_ptr<Authorizer> authz = NewAllowAllAuthorizer();
//   Caller caller = authz->Identify(context);
//   if (absl::Status s = authz->Authorize(caller, Rpc::kRevokeKey); !s.ok()) return Refuse(s);
#ifndef SIGNET_SERVER_POLICY_AUTHORIZER_H_
#define SIGNET_SERVER_POLICY_AUTHORIZER_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "server/policy/peer_identity.h"

namespace signet::server {

enum class Rpc {
  kIssueToken,
  kValidateToken,
  kRevokeKey,
  kRotateKey,
  kListKeys,
  kGetJwks,
  kWatchKeys,
  kRevokeToken,
  kRevokeSubject,
  kCheck,  // envoy.service.auth.v3.Authorization/Check (the gateway decision).
};

// The RPC's method name, e.g. "IssueToken".
const char* RpcName(Rpc rpc);

struct Caller {
  // The authenticated, typed identity (see ChooseIdentity); none when the call carried no client
  // certificate or one naming nobody.
  std::optional<PeerIdentity> identity;

  // "spiffe:spiffe://...", "dns:...", "cn:...", or "" without identity.
  std::string Name() const { return identity.has_value() ? identity->ToString() : ""; }
};

// What an IssueToken request asks for, as issuer limits see it.
struct IssueRequestView {
  std::string subject;
  std::vector<std::string> audiences;
  absl::Duration ttl;
};

// Thread-safe.
class Authorizer {
 public:
  virtual ~Authorizer() = default;
  virtual Caller Identify(const grpc::CallbackServerContext& context) const = 0;
  // OK, UNAUTHENTICATED (no identity where one is needed) or PERMISSION_DENIED (a message naming
  // the missing role).
  virtual absl::Status Authorize(const Caller& caller, Rpc rpc) const = 0;
  // Issuer limits (subjects, audiences, maximum TTL). Called after Authorize(kIssueToken) passed.
  virtual absl::Status AuthorizeIssue(const Caller& caller,
                                      const IssueRequestView& request) const = 0;
};

// Allows every call: local plaintext mode.
std::unique_ptr<Authorizer> NewAllowAllAuthorizer();

}  // namespace signet::server

#endif  // SIGNET_SERVER_POLICY_AUTHORIZER_H_
