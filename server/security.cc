#include "server/security.h"

#include "absl/strings/str_cat.h"
#include "server/log.h"
#include "server/signet_server.h"

namespace signet::server {

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ServerConfig& config) {
  if (!config.tls_cert_file.empty()) {
    return absl::UnimplementedError("TLS is not available in this build yet");
  }
  if (!IsLoopbackAddress(config.listen)) {
    if (!config.allow_insecure) {
      return absl::InvalidArgumentError(
          absl::StrCat("refusing plaintext gRPC on non-loopback address ", config.listen,
                       ": pass --tls_cert_file and --tls_key_file, or --allow_insecure to accept "
                       "the risk"));
    }
    Log(LogLevel::kWarning, "insecure_listener")
        .Str("listen", config.listen)
        .Str("note", "plaintext gRPC on a non-loopback address (--allow_insecure)");
  }
  return grpc::InsecureServerCredentials();
}

absl::StatusOr<std::unique_ptr<Authorizer>> MakeAuthorizer(const ServerConfig& config) {
  if (!config.policy_file.empty()) {
    return absl::UnimplementedError("--policy_file is not available in this build yet");
  }
  return NewAllowAllAuthorizer();
}

}  // namespace signet::server
