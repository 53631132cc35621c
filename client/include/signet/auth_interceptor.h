// The server interceptor other services install: it reads "authorization: Bearer <token>", judges
// the token with a Validator, and per method either lets the call through anonymously (OPTIONAL,
// nap_token's semantics) or answers UNAUTHENTICATED with the reason (REQUIRED). Handlers read the
// outcome with signet::IdentityOf(context) (call_identity.h).
//
// Example:
//   absl::StatusOr<std::shared_ptr<const signet::AuthPolicy>> policy =
//       signet::AuthPolicy::Create(std::move(options));  // see auth_policy.h
//   if (!policy.ok()) return policy.status();
//   std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
//   creators.push_back(std::make_unique<signet::AuthInterceptorFactory>(*policy));
//   grpc::ServerBuilder builder;
//   builder.experimental().SetInterceptorCreators(std::move(creators));
//
// How a REQUIRED call is refused (gRPC 1.51): an interceptor cannot stop the handler from running.
// The interceptor cancels the call with status UNAUTHENTICATED and the reason as soon as the
// client's metadata arrives, so the client gets exactly that and nothing the handler writes reaches
// the wire; the handler still runs, and its guard (CallIdentity::identity() == nullptr, or
// Rejected()) makes it return before doing any work. For enforcement before any handler runs, add
// a BearerAuthMetadataProcessor (TLS or local-credential servers only).
//
// Header rules: the scheme "Bearer" matches in any case; two authorization headers, an empty
// bearer token, another scheme, or an authorization-bin header count as a bad token (anonymous for
// OPTIONAL, UNAUTHENTICATED for REQUIRED). A validator that cannot judge (stale keys, server
// unreachable) fails closed: UNAUTHENTICATED "cannot validate tokens right now" for REQUIRED,
// anonymous for OPTIONAL. Any x-signet-* metadata the client sent (x-signet-identity,
// x-signet-subject, ...) is removed before the handler sees the call: identity is never taken from
// client metadata.
//
// Tokens are validated on the thread that receives the call, before the handler is scheduled: use
// a LocalValidator (answers from memory) on busy servers.
#ifndef SIGNET_AUTH_INTERCEPTOR_H_
#define SIGNET_AUTH_INTERCEPTOR_H_

#include <memory>
#include <string_view>

#include "grpcpp/support/server_interceptor.h"
#include "signet/auth_policy.h"

namespace signet {

// Prefix of the metadata keys the interceptor strips from every call.
inline constexpr std::string_view kStrippedMetadataPrefix = "x-signet-";

// Thread-safe. Each call gets its own interceptor, which holds the call's outcome for
// IdentityOf() until the call ends.
class AuthInterceptorFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit AuthInterceptorFactory(std::shared_ptr<const AuthPolicy> policy);

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  std::shared_ptr<const AuthPolicy> policy_;
};

}  // namespace signet

#endif  // SIGNET_AUTH_INTERCEPTOR_H_
