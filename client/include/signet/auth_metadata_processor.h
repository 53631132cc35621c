// gRPC-native enforcement of REQUIRED methods for servers with TLS or local credentials: gRPC runs
// this processor before the call reaches any handler, so an unauthenticated call never runs
// application code. It only rejects; the identity is still handed to handlers by the
// AuthInterceptorFactory, which the server installs too with the same AuthPolicy.
//
// Example:
//   std::shared_ptr<const signet::AuthPolicy> policy = ...;  // auth_policy.h
//   std::shared_ptr<grpc::ServerCredentials> creds =
//       grpc::SslServerCredentials(ssl_options);  // or experimental::LocalServerCredentials(...)
//   creds->SetAuthMetadataProcessor(
//       std::make_shared<signet::BearerAuthMetadataProcessor>(policy));
//   builder.AddListeningPort(address, creds);
//   builder.experimental().SetInterceptorCreators(...AuthInterceptorFactory(policy)...);
//
// A REQUIRED call's token is judged twice, here and in the interceptor (a LocalValidator makes that
// cheap); OPTIONAL calls are left to the interceptor alone.
//
// gRPC (1.51) runs processors only for secure credentials (TLS, local). Never give one to
// InsecureServerCredentials: gRPC 1.51 aborts the process there. On an insecure server the
// interceptor alone enforces REQUIRED methods.
#ifndef SIGNET_AUTH_METADATA_PROCESSOR_H_
#define SIGNET_AUTH_METADATA_PROCESSOR_H_

#include <memory>

#include "grpcpp/security/auth_metadata_processor.h"
#include "signet/auth_policy.h"

namespace signet {

// Thread-safe. Blocking (gRPC runs it off the I/O thread), since a validator may call out.
class BearerAuthMetadataProcessor final : public grpc::AuthMetadataProcessor {
 public:
  explicit BearerAuthMetadataProcessor(std::shared_ptr<const AuthPolicy> policy);

  // The method comes from the ":path" metadata. OPTIONAL methods always pass; REQUIRED ones pass
  // only with a valid bearer token, else UNAUTHENTICATED with the reason. Consumes no metadata and
  // adds nothing to the connection-wide `context`.
  grpc::Status Process(const InputMetadata& auth_metadata, grpc::AuthContext* context,
                       OutputMetadata* consumed_auth_metadata,
                       OutputMetadata* response_metadata) override;

 private:
  std::shared_ptr<const AuthPolicy> policy_;
};

}  // namespace signet

#endif  // SIGNET_AUTH_METADATA_PROCESSOR_H_
