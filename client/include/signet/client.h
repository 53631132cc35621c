// A typed client for signet.v1.TokenService: one method per RPC, each with a deadline, answering
// absl::StatusOr (the gRPC status code and message carried over unchanged).
//
// Example:
//   signet::ChannelOptions channel;
//   channel.target = "localhost:50051";
//   absl::StatusOr<std::unique_ptr<signet::Client>> client = signet::Client::Create(channel);
//   if (!client.ok()) return client.status();
//   signet::v1::IssueTokenRequest request;
//   request.set_subject("42");
//   absl::StatusOr<signet::v1::IssueTokenResponse> issued = (*client)->IssueToken(request);
//   if (!issued.ok()) return issued.status();           // e.g. PERMISSION_DENIED, UNAVAILABLE
//   SetCookie(issued->token());                          // a secret: never log it
//
// Retries: the idempotent RPCs (ValidateToken, ListKeys, GetJwks, RevokeKey, RevokeToken,
// RevokeSubject) are retried on UNAVAILABLE by gRPC itself, through the service config that
// MakeChannel installs (see channel.h); IssueToken and RotateKey never are. A Client made from a
// channel you built yourself retries only if that channel carries SignetChannelArguments().
#ifndef SIGNET_CLIENT_H_
#define SIGNET_CLIENT_H_

#include <functional>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/security/credentials.h"
#include "signet/channel.h"
#include "signet/v1/token_service.grpc.pb.h"

namespace signet {

struct ClientOptions {
  // Deadline of each unary call, retries included. WatchKeys has none: it lasts until cancelled.
  absl::Duration deadline = absl::Seconds(5);
  // Attached to every call (e.g. BearerTokenCredentials); null: none. Must not be credentials
  // whose token source calls this same Client.
  std::shared_ptr<grpc::CallCredentials> call_credentials;
};

// Ends a WatchKeys call from another thread. Thread-safe. Once cancelled it stays cancelled: a
// WatchKeys call given it later returns CANCELLED at once.
class WatchCancellation {
 public:
  WatchCancellation() = default;
  WatchCancellation(const WatchCancellation&) = delete;
  WatchCancellation& operator=(const WatchCancellation&) = delete;

  void Cancel();
  bool cancelled() const;

 private:
  friend class Client;
  // False when already cancelled.
  bool Attach(grpc::ClientContext* context);
  void Detach();

  mutable absl::Mutex mu_;
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
};

// Thread-safe: one Client serves any number of threads.
class Client {
 public:
  using Options = ClientOptions;

  // Over an existing channel (which must be non-null).
  static std::unique_ptr<Client> Create(std::shared_ptr<grpc::Channel> channel,
                                        ClientOptions options = {});
  // Over MakeChannel(channel_options); its errors are returned.
  static absl::StatusOr<std::unique_ptr<Client>> Create(const ChannelOptions& channel_options,
                                                        ClientOptions options = {});

  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  absl::StatusOr<v1::IssueTokenResponse> IssueToken(const v1::IssueTokenRequest& request) const;
  absl::StatusOr<v1::ValidateTokenResponse> ValidateToken(
      const v1::ValidateTokenRequest& request) const;
  absl::StatusOr<v1::RevokeKeyResponse> RevokeKey(const v1::RevokeKeyRequest& request) const;
  absl::StatusOr<v1::RotateKeyResponse> RotateKey(const v1::RotateKeyRequest& request) const;
  absl::StatusOr<v1::ListKeysResponse> ListKeys(const v1::ListKeysRequest& request = {}) const;
  absl::StatusOr<v1::GetJwksResponse> GetJwks(const v1::GetJwksRequest& request = {}) const;
  absl::StatusOr<v1::RevokeTokenResponse> RevokeToken(const v1::RevokeTokenRequest& request) const;
  absl::StatusOr<v1::RevokeSubjectResponse> RevokeSubject(
      const v1::RevokeSubjectRequest& request) const;

  // Opens a WatchKeys stream and calls `on_message` for each message, in order, on the calling
  // thread, until `on_message` returns false (then OK), `cancellation` is cancelled (then
  // CANCELLED), or the stream ends (then the server's status: OK, or e.g. UNAVAILABLE when the
  // server shuts down or cannot be reached). Blocks until then. `cancellation` may be null.
  absl::Status WatchKeys(const std::function<bool(const v1::WatchKeysResponse&)>& on_message,
                         WatchCancellation* cancellation = nullptr) const;

  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }
  absl::Duration deadline() const { return options_.deadline; }

 private:
  Client(std::shared_ptr<grpc::Channel> channel, ClientOptions options);
  void Prepare(grpc::ClientContext* context, bool with_deadline) const;
  template <typename Request, typename Response>
  absl::StatusOr<Response> Call(grpc::Status (v1::TokenService::Stub::*method)(grpc::ClientContext*,
                                                                               const Request&,
                                                                               Response*),
                                const Request& request) const;

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::TokenService::Stub> stub_;
  ClientOptions options_;
};

// The absl::Status with the same code and message as `status`.
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace signet

#endif  // SIGNET_CLIENT_H_
