// envoy.service.auth.v3.Authorization/Check on signet's gRPC port: Envoy's (and Istio's) external
// authorization, answered from the Gateway's decision.
//
// Example:
//   ExtAuthzService ext_authz(gateway.get(), authorizer.get(), audit.get());
//   grpc::ServerBuilder builder;
//   builder.RegisterService(&ext_authz);
//
// Callers need the validator role (Rpc::kCheck). The answer: status OK with an OkHttpResponse that
// sets the identity headers and removes the client's own x-signet-* headers; or UNAUTHENTICATED
// with a DeniedHttpResponse (HTTP 401 and WWW-Authenticate) that Envoy sends to the client.
#ifndef SIGNET_SERVER_GATEWAY_EXT_AUTHZ_SERVICE_H_
#define SIGNET_SERVER_GATEWAY_EXT_AUTHZ_SERVICE_H_

#include "envoy/service/auth/v3/external_auth.grpc.pb.h"
#include "server/audit_log.h"
#include "server/gateway/gateway.h"
#include "server/policy/authorizer.h"

namespace signet::server {

// Thread-safe. Check is a raw method: the request is parsed on an arena, and an allowed answer is
// written around the identity bytes the validation cache keeps, so the hot path builds no
// response message.
class ExtAuthzService final
    : public envoy::service::auth::v3::Authorization::WithRawCallbackMethod_Check<
          envoy::service::auth::v3::Authorization::CallbackService> {
 public:
  // The pointers must outlive the service.
  ExtAuthzService(const Gateway* gateway, const Authorizer* authorizer, AuditLog* audit)
      : gateway_(gateway), authorizer_(authorizer), audit_(audit) {}

  // A serialized CheckRequest in, a serialized CheckResponse out.
  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const grpc::ByteBuffer* request,
                                  grpc::ByteBuffer* response) override;

 private:
  const Gateway* const gateway_;
  const Authorizer* const authorizer_;
  AuditLog* const audit_;
};

}  // namespace signet::server

#endif  // SIGNET_SERVER_GATEWAY_EXT_AUTHZ_SERVICE_H_
