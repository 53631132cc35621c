// The signet.v1.TokenService handlers: thin adapters from the API to the KeyRing, the signer and
// the verifier.
//
// Example:
//   TokenService service({config, ring.get(), &hub, &Clock::Real(), authorizer.get(),
//                         audit.get()});
//   grpc::ServerBuilder builder;
//   builder.RegisterService(&service);
#ifndef SIGNET_SERVER_TOKEN_SERVICE_H_
#define SIGNET_SERVER_TOKEN_SERVICE_H_

#include "grpcpp/grpcpp.h"
#include "server/audit_log.h"
#include "server/config.h"
#include "server/keys/key_ring.h"
#include "server/policy/authorizer.h"
#include "server/ring_verifier.h"
#include "server/watch_hub.h"
#include "signet/clock.h"
#include "signet/token_verifier.h"
#include "signet/v1/token_service.grpc.pb.h"

namespace signet::server {

// Thread-safe. Every unary method is a raw method: its request bytes are parsed here, so a request
// protobuf refuses (a string field that is not UTF-8, or bytes that are not the message) is
// INVALID_ARGUMENT with a message, where gRPC's generated handler would answer UNIMPLEMENTED with
// none. ValidateToken, the hot path, sends valid answers as bytes serialized once per token and
// kept in the validation cache.
class TokenService final
    : public signet::v1::TokenService::WithRawCallbackMethod_IssueToken<
          signet::v1::TokenService::WithRawCallbackMethod_ValidateToken<
              signet::v1::TokenService::WithRawCallbackMethod_RevokeKey<
                  signet::v1::TokenService::WithRawCallbackMethod_RotateKey<
                      signet::v1::TokenService::WithRawCallbackMethod_ListKeys<
                          signet::v1::TokenService::WithRawCallbackMethod_GetJwks<
                              signet::v1::TokenService::WithRawCallbackMethod_RevokeToken<
                                  signet::v1::TokenService::WithRawCallbackMethod_RevokeSubject<
                                      signet::v1::TokenService::CallbackService>>>>>>>> {
 public:
  // Everything the handlers use; the pointers must outlive the service.
  struct Deps {
    ServerConfig config;  // Must validate.
    KeyRing* ring;
    WatchHub* hub;
    const Clock* clock;
    const Authorizer* authorizer;
    AuditLog* audit;
  };
  explicit TokenService(Deps deps);

  grpc::ServerUnaryReactor* IssueToken(grpc::CallbackServerContext* context,
                                       const grpc::ByteBuffer* request,
                                       grpc::ByteBuffer* response) override;
  // A serialized ValidateTokenRequest in, a serialized ValidateTokenResponse out.
  grpc::ServerUnaryReactor* ValidateToken(grpc::CallbackServerContext* context,
                                          const grpc::ByteBuffer* request,
                                          grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* RevokeKey(grpc::CallbackServerContext* context,
                                      const grpc::ByteBuffer* request,
                                      grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* RotateKey(grpc::CallbackServerContext* context,
                                      const grpc::ByteBuffer* request,
                                      grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* ListKeys(grpc::CallbackServerContext* context,
                                     const grpc::ByteBuffer* request,
                                     grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* GetJwks(grpc::CallbackServerContext* context,
                                    const grpc::ByteBuffer* request,
                                    grpc::ByteBuffer* response) override;
  grpc::ServerWriteReactor<signet::v1::WatchKeysResponse>* WatchKeys(
      grpc::CallbackServerContext* context, const signet::v1::WatchKeysRequest* request) override;
  grpc::ServerUnaryReactor* RevokeToken(grpc::CallbackServerContext* context,
                                        const grpc::ByteBuffer* request,
                                        grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* RevokeSubject(grpc::CallbackServerContext* context,
                                          const grpc::ByteBuffer* request,
                                          grpc::ByteBuffer* response) override;

 private:
  // The caller, or an error status when it may not call `rpc` (audited as a refusal).
  absl::StatusOr<Caller> Admit(const grpc::CallbackServerContext& context, Rpc rpc);
  void AuditChange(AuditEvent event, const absl::Status& status);
  // Parses a raw request, runs `handle` and sends its response: INVALID_ARGUMENT (after the
  // caller is admitted to `rpc`) when the bytes are not a `Request`.
  template <typename Request, typename Response>
  grpc::ServerUnaryReactor* Unary(grpc::CallbackServerContext* context,
                                  const grpc::ByteBuffer* request_bytes,
                                  grpc::ByteBuffer* response_bytes, Rpc rpc,
                                  grpc::Status (TokenService::*handle)(grpc::CallbackServerContext*,
                                                                       const Request*, Response*));
  // The handlers of the unary methods, over parsed messages.
  grpc::Status HandleIssueToken(grpc::CallbackServerContext* context,
                                const signet::v1::IssueTokenRequest* request,
                                signet::v1::IssueTokenResponse* response);
  grpc::Status HandleRevokeKey(grpc::CallbackServerContext* context,
                               const signet::v1::RevokeKeyRequest* request,
                               signet::v1::RevokeKeyResponse* response);
  grpc::Status HandleRotateKey(grpc::CallbackServerContext* context,
                               const signet::v1::RotateKeyRequest* request,
                               signet::v1::RotateKeyResponse* response);
  grpc::Status HandleListKeys(grpc::CallbackServerContext* context,
                              const signet::v1::ListKeysRequest* request,
                              signet::v1::ListKeysResponse* response);
  grpc::Status HandleGetJwks(grpc::CallbackServerContext* context,
                             const signet::v1::GetJwksRequest* request,
                             signet::v1::GetJwksResponse* response);
  grpc::Status HandleRevokeToken(grpc::CallbackServerContext* context,
                                 const signet::v1::RevokeTokenRequest* request,
                                 signet::v1::RevokeTokenResponse* response);
  grpc::Status HandleRevokeSubject(grpc::CallbackServerContext* context,
                                   const signet::v1::RevokeSubjectRequest* request,
                                   signet::v1::RevokeSubjectResponse* response);

  const Deps deps_;
  const ServerConfig& config_ = deps_.config;
  const RingVerifier verifier_;
};

}  // namespace signet::server

#endif  // SIGNET_SERVER_TOKEN_SERVICE_H_
