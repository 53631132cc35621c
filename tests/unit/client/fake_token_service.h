// A programmable signet.v1.TokenService for client tests: each RPC answers what the test says,
// counts its calls and remembers the authorization metadata; WatchKeys streams what the test
// pushes.
#ifndef SIGNET_TESTS_UNIT_CLIENT_FAKE_TOKEN_SERVICE_H_
#define SIGNET_TESTS_UNIT_CLIENT_FAKE_TOKEN_SERVICE_H_

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "signet/v1/token_service.grpc.pb.h"

namespace signet::testing {

class FakeTokenService final : public v1::TokenService::Service {
 public:
  template <typename Request, typename Response>
  using Handler = std::function<grpc::Status(const Request&, Response*)>;

  // Handlers; unset ones answer OK with an empty response.
  Handler<v1::IssueTokenRequest, v1::IssueTokenResponse> issue;
  Handler<v1::ValidateTokenRequest, v1::ValidateTokenResponse> validate;
  Handler<v1::RotateKeyRequest, v1::RotateKeyResponse> rotate;
  Handler<v1::GetJwksRequest, v1::GetJwksResponse> get_jwks;
  Handler<v1::ListKeysRequest, v1::ListKeysResponse> list_keys;

  // Queues a message for every open and future WatchKeys stream: streams opened later first get
  // `initial` (if set), then messages pushed after they opened.
  void SetInitialWatchMessage(v1::WatchKeysResponse initial);
  void PushWatchMessage(const v1::WatchKeysResponse& message);
  // Ends every open WatchKeys stream with `status`.
  void EndWatchStreams(grpc::Status status);
  // Makes new WatchKeys streams fail at once with `status` (OK: serve them again).
  void RefuseWatchStreams(grpc::Status status);
  int open_watch_streams() const;

  // The next `times` calls of `method` fail with `status` before reaching their handler.
  void FailNext(const std::string& method, int times, grpc::Status status);

  int calls(const std::string& method) const;
  // The "authorization" metadata of every call, in order ("" when absent).
  std::vector<std::string> authorizations() const;

  // Ends the WatchKeys handlers (call before shutting the server down).
  void Stop();

  grpc::Status IssueToken(grpc::ServerContext* context, const v1::IssueTokenRequest* request,
                          v1::IssueTokenResponse* response) override;
  grpc::Status ValidateToken(grpc::ServerContext* context, const v1::ValidateTokenRequest* request,
                             v1::ValidateTokenResponse* response) override;
  grpc::Status RevokeKey(grpc::ServerContext* context, const v1::RevokeKeyRequest* request,
                         v1::RevokeKeyResponse* response) override;
  grpc::Status RotateKey(grpc::ServerContext* context, const v1::RotateKeyRequest* request,
                         v1::RotateKeyResponse* response) override;
  grpc::Status ListKeys(grpc::ServerContext* context, const v1::ListKeysRequest* request,
                        v1::ListKeysResponse* response) override;
  grpc::Status GetJwks(grpc::ServerContext* context, const v1::GetJwksRequest* request,
                       v1::GetJwksResponse* response) override;
  grpc::Status WatchKeys(grpc::ServerContext* context, const v1::WatchKeysRequest* request,
                         grpc::ServerWriter<v1::WatchKeysResponse>* writer) override;
  grpc::Status RevokeToken(grpc::ServerContext* context, const v1::RevokeTokenRequest* request,
                           v1::RevokeTokenResponse* response) override;
  grpc::Status RevokeSubject(grpc::ServerContext* context, const v1::RevokeSubjectRequest* request,
                             v1::RevokeSubjectResponse* response) override;

 private:
  struct Stream {
    std::deque<v1::WatchKeysResponse> queue;
    bool end = false;
    grpc::Status status;
  };
  // Records the call; a non-OK result is the failure FailNext asked for.
  grpc::Status Enter(const char* method, const grpc::ServerContext& context);

  mutable absl::Mutex mu_;
  std::vector<std::pair<std::string, std::string>> calls_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::pair<int, grpc::Status>> failures_ ABSL_GUARDED_BY(mu_);
  std::vector<Stream*> streams_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<v1::WatchKeysResponse> initial_ ABSL_GUARDED_BY(mu_);
  grpc::Status refuse_ ABSL_GUARDED_BY(mu_);
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
};

// A gRPC server on a loopback port serving `service` (and anything else registered).
class FakeServer {
 public:
  // `port` 0 picks a free port. `credentials` null: insecure.
  explicit FakeServer(grpc::Service* service, int port = 0,
                      std::shared_ptr<grpc::ServerCredentials> credentials = nullptr);
  ~FakeServer();
  int port() const { return port_; }
  std::string target() const;
  // Stops serving (`service`'s streams should have been ended first).
  void Shutdown();

 private:
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace signet::testing

#endif  // SIGNET_TESTS_UNIT_CLIENT_FAKE_TOKEN_SERVICE_H_
