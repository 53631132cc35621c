// Transport security and caller authorization as configured: the gRPC server credentials (TLS,
// mutual TLS, or loopback plaintext) and the Authorizer that maps callers to roles.
//
// Example:
//   absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> creds = MakeServerCredentials(config);
//   absl::StatusOr<std::unique_ptr<Authorizer>> authz = MakeAuthorizer(config);
#ifndef SIGNET_SERVER_SECURITY_H_
#define SIGNET_SERVER_SECURITY_H_

#include <memory>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "server/config.h"
#include "server/policy/authorizer.h"

namespace signet::server {

// InvalidArgument for plaintext on a non-loopback address without --allow_insecure; the
// certificate files' errors otherwise.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ServerConfig& config);

// Allow-all in local plaintext mode; the policy file's rules otherwise.
absl::StatusOr<std::unique_ptr<Authorizer>> MakeAuthorizer(const ServerConfig& config);

}  // namespace signet::server

#endif  // SIGNET_SERVER_SECURITY_H_
