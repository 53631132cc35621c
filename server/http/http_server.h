// signet-server's HTTP side: the JWKS and OpenID Connect discovery documents for gateways and JWT
// libraries, Prometheus metrics, and liveness/readiness for orchestrators.
//
// Example:
//   HttpServer::Options options;
//   options.listen = "127.0.0.1:0";  // port 0 picks a free one
//   options.issuer = "signet";
//   options.publish_ahead = absl::Minutes(10);
//   options.ring = ring.get();
//   absl::StatusOr<std::unique_ptr<HttpServer>> http = HttpServer::Start(std::move(options));
//   if (!http.ok()) return http.status();
//   (*http)->SetServing(true);   // /readyz: 200 once keys are loaded
//   int port = (*http)->port();
//   (*http)->SetServing(false);  // draining: /readyz answers 503, the rest still works
//   (*http)->Stop();
//
// Paths: /.well-known/jwks.json, /.well-known/openid-configuration, /metrics, /healthz, /readyz;
// with Options::probes_only, /healthz and /readyz alone (the probe listener, --probe_listen).
// Everything else served is public (public keys, counters) and needs no credentials.
// Options::add_routes adds more: the gateway's forward-auth /v1/authz (server/gateway/), which
// reads bearer tokens.
// Each request has one overall deadline and at most max_connections are served at once; more are
// answered 503 at once (server/http/bounded_server.h). Thread-safe.
#ifndef SIGNET_SERVER_HTTP_HTTP_SERVER_H_
#define SIGNET_SERVER_HTTP_HTTP_SERVER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/keys/key_ring.h"
#include "server/metrics/server_metrics.h"
#include "server/watch_hub.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace signet::server {

class BoundedServer;
class ServerTlsContext;

struct HostPort {
  std::string host;  // Without brackets for IPv6.
  int port = 0;
};

// Parses "host:port" or "[v6]:port" (port 0..65535; 0 picks a free one). InvalidArgument naming
// `flag` otherwise.
absl::StatusOr<HostPort> ParseHttpListen(std::string_view listen,
                                         std::string_view flag = "--http_listen");

class HttpServer {
 public:
  struct Options {
    std::string listen;
    // The iss of every token.
    std::string issuer;
    // Base of jwks_uri in the discovery document; empty: http://HOST:PORT as bound.
    std::string public_url;
    absl::Duration publish_ahead = absl::Minutes(10);
    // Must outlive the server. `ring` is required; `hub` and `metrics` may be null.
    const KeyRing* ring = nullptr;
    const WatchHub* hub = nullptr;
    const ServerMetrics* metrics = nullptr;
    // Connections served at once, one worker thread each (a kept-alive connection holds its
    // worker while open); one more is answered 503 and closed at once.
    int max_connections = 32;
    // Each request must arrive and be answered within this, however slowly it trickles in; a
    // kept-alive connection may sit idle this long between requests.
    absl::Duration request_timeout = absl::Seconds(5);
    // Only /healthz and /readyz: a listener for orchestrator probes that JWKS and metrics
    // clients cannot crowd out.
    bool probes_only = false;
    // Names the listen flag in errors and logs.
    std::string flag_name = "--http_listen";
    // With it (which must outlive the server), every connection is HTTPS; the default
    // public_url is then https://.
    ServerTlsContext* tls = nullptr;
    // Adds more routes (the gateway's /v1/authz) before the server starts; may be empty.
    std::function<void(httplib::Server*)> add_routes;
  };

  // Binds and serves on a background thread. InvalidArgument for a malformed address,
  // Unavailable when the address cannot be bound (in use, not local). Not serving (see
  // SetServing) until told.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(Options options);
  ~HttpServer();

  int port() const { return port_; }
  const std::string& public_url() const { return public_url_; }

  // /readyz answers 200 only while serving and keys are loaded.
  void SetServing(bool serving) { serving_.store(serving, std::memory_order_release); }

  // Stops listening, closes every open connection and joins the workers. Idempotent.
  void Stop();

  // Connections refused so far because max_connections were open.
  int64_t refused_connections() const;

 private:
  explicit HttpServer(Options options);
  void Routes();
  bool Ready(std::string* why) const;
  // The JWKS's ETag, hashed once per snapshot version rather than per request (at 1,000 keys the
  // hash cost as much as the rest of a 304 answer).
  std::string JwksEtag(const StateSnapshot& snapshot);

  const Options options_;
  std::unique_ptr<BoundedServer> server_;
  std::thread thread_;
  int port_ = 0;
  std::string public_url_;
  std::atomic<bool> serving_{false};
  std::atomic<bool> stopped_{false};
  absl::Mutex etag_mu_;
  std::optional<uint64_t> etag_version_ ABSL_GUARDED_BY(etag_mu_);
  std::string etag_ ABSL_GUARDED_BY(etag_mu_);
};

}  // namespace signet::server

#endif  // SIGNET_SERVER_HTTP_HTTP_SERVER_H_
