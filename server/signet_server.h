// signet-server assembled: store, KEK, key ring, gRPC service, health, reflection, maintenance.
//
// Example:
//   ServerConfig config;
//   config.listen = "127.0.0.1:0";
//   config.data_dir = temp_dir;
//   absl::StatusOr<std::unique_ptr<SignetServer>> server = SignetServer::Start({config});
//   int port = (*server)->port();
//   ...
//   (*server)->Shutdown(absl::Seconds(5));  // drains, then stops
#ifndef SIGNET_SERVER_SIGNET_SERVER_H_
#define SIGNET_SERVER_SIGNET_SERVER_H_

#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "grpcpp/grpcpp.h"
#include "server/audit_log.h"
#include "server/config.h"
#include "server/gateway/ext_authz_service.h"
#include "server/gateway/gateway.h"
#include "server/http/http_server.h"
#include "server/keys/key_ring.h"
#include "server/policy/authorizer.h"
#include "server/store/envelope.h"
#include "server/store/store.h"
#include "server/tls/server_tls_context.h"
#include "server/token_service.h"
#include "server/watch_hub.h"
#include "signet/clock.h"

namespace signet::server {

class SignetServer {
 public:
  struct Options {
    ServerConfig config;
    // Must outlive the server. Tests pass a FakeClock.
    const Clock* clock = &Clock::Real();
    // Replaces the store the config names (tests: a memory store, a failing store).
    std::unique_ptr<Store> store;
    // Run the maintenance loop (rotation timer, pruning, reload). Tests driving time by hand turn
    // it off and call key_ring()->Maintain().
    bool run_maintenance = true;
  };

  // Validates the config, opens the store and the KEK, loads or makes keys, and starts serving.
  // Every failure is a clear status (InvalidArgument for settings, the store's or the KEK's own
  // error otherwise); nothing is served then.
  static absl::StatusOr<std::unique_ptr<SignetServer>> Start(Options options);
  ~SignetServer();

  // The gRPC port bound (useful with port 0).
  int port() const { return port_; }
  // The HTTP port bound (JWKS, discovery, metrics, health); 0 when --http_listen is empty.
  int http_port() const { return http_ ? http_->port() : 0; }
  // The probe listener's port (/healthz, /readyz only); 0 when --probe_listen is empty.
  int probe_port() const { return probe_http_ ? probe_http_->port() : 0; }
  KeyRing* key_ring() { return ring_.get(); }
  WatchHub* watch_hub() { return hub_.get(); }
  const ServerConfig& config() const { return config_; }

  // Graceful drain: health turns NOT_SERVING, watch streams end, calls in flight get `deadline`
  // to finish, then the server stops. Idempotent.
  void Shutdown(absl::Duration deadline);
  // Blocks until Shutdown() has completed.
  void Wait();

 private:
  SignetServer() = default;
  // The steps of Start, in order.
  // The store (given or configured), the KEK envelope, the key ring and the WatchKeys hub.
  absl::Status OpenKeyState(std::unique_ptr<Store> given_store);
  // The ValidateToken service, the gateway decision and its Envoy ext_authz front end.
  void MakeServices(GatewayRules gateway_rules);
  // The HTTP listener (JWKS, discovery, metrics, forward-auth) and the probe listener.
  absl::Status StartHttp();
  absl::Status StartGrpc(const std::shared_ptr<grpc::ServerCredentials>& credentials);
  void LogStarted(bool custom_store) const;
  void MaintenanceLoop();

  ServerConfig config_;
  const Clock* clock_ = nullptr;
  std::unique_ptr<Authorizer> authorizer_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<Store> store_;
  // Opens rows a local backend made, for the key backend (which the ring holds): before ring_.
  std::unique_ptr<Envelope> backend_envelope_;
  std::unique_ptr<KeyRing> ring_;
  std::unique_ptr<WatchHub> hub_;
  std::unique_ptr<TokenService> service_;
  // The gateway decision and its gRPC front end (its HTTP one lives in http_).
  std::unique_ptr<Gateway> gateway_;
  std::unique_ptr<ExtAuthzService> ext_authz_;
  std::unique_ptr<grpc::Server> server_;
  // After ring_, hub_ and server_: it reads them until it is stopped.
  // --http_tls: the certificate http_ serves. Before http_, which uses it until stopped.
  std::unique_ptr<ServerTlsContext> http_tls_;
  std::unique_ptr<HttpServer> http_;
  std::unique_ptr<HttpServer> probe_http_;
  int port_ = 0;
  bool shared_store_ = false;
  absl::Notification stop_;
  std::thread maintenance_;
  absl::Mutex shutdown_mu_;
  bool shut_down_ ABSL_GUARDED_BY(shutdown_mu_) = false;
  absl::Notification stopped_;
};

// True for 127.0.0.0/8, [::1], localhost and unix: addresses.
bool IsLoopbackAddress(const std::string& listen);

}  // namespace signet::server

#endif  // SIGNET_SERVER_SIGNET_SERVER_H_
