// Transport security and caller authorization as configured: the gRPC server credentials (TLS,
// mutual TLS, or loopback plaintext), the transport limits, and the Authorizer that maps callers
// to roles. See docs/SECURITY.md.
//
// Example:
//   absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> creds = MakeServerCredentials(config);
//   absl::StatusOr<std::unique_ptr<Authorizer>> authz = MakeAuthorizer(config);
//   grpc::ServerBuilder builder;
//   ApplyTransportLimits(config, &builder);
//   builder.AddListeningPort(config.listen, *creds);
#ifndef SIGNET_SERVER_SECURITY_H_
#define SIGNET_SERVER_SECURITY_H_

#include <memory>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "server/config.h"
#include "server/policy/authorizer.h"

namespace signet::server {

// InvalidArgument for plaintext on a non-loopback address without --allow_insecure, for a bad
// security setting (--tls_reload_interval, --max_request_bytes, ...), and for TLS files that
// cannot serve (unreadable, no certificate, a key that does not match or that others can read).
// With TLS the certificate, key and client CA files are re-read every --tls_reload_interval.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ServerConfig& config);

// Plaintext: allow-all (the server logs insecure_mode). TLS without --client_ca_file: callers are
// unauthenticated; the policy's "*" entries apply, or everything is allowed (with a warning) when
// there is no policy file. Mutual TLS: the policy file (required) decides, default deny.
// InvalidArgument for a policy file that does not parse, for --policy_file without TLS, and for
// --client_ca_file without --policy_file.
absl::StatusOr<std::unique_ptr<Authorizer>> MakeAuthorizer(const ServerConfig& config);

// Message size, streams per connection, keepalive and idle limits for the gRPC listener.
void ApplyTransportLimits(const ServerConfig& config, grpc::ServerBuilder* builder);

}  // namespace signet::server

#endif  // SIGNET_SERVER_SECURITY_H_
