// An httplib::Server that no client can hold: every request (read, handled and answered) has one
// overall deadline however slowly its bytes trickle in, at most `max_connections` connections are
// served at once, and a connection beyond that is answered 503 and closed at once, never queued.
//
// Example:
//   BoundedServer::Limits limits;
//   limits.max_connections = 32;
//   limits.request_timeout = absl::Seconds(5);
//   BoundedServer server(limits);
//   server.Get("/healthz", handler);
//   server.bind_to_any_port("127.0.0.1");
//   server.listen_after_bind();  // until Stop()
//   ...
//   server.Stop();  // from another thread: closes the listener and every open connection
//
// Why not httplib's own limits: its read timeout applies to each read, so a client sending one
// byte per timeout holds a worker forever, and its thread pool queues connections without bound.
// (httplib's SSLServer has the same loop, so TLS, for --http_tls, is done here too.)
#ifndef SIGNET_SERVER_HTTP_BOUNDED_SERVER_H_
#define SIGNET_SERVER_HTTP_BOUNDED_SERVER_H_

#include <httplib.h>

#include <atomic>
#include <cstdint>

#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace signet::server {

class ServerTlsContext;

class BoundedServer : public httplib::Server {
 public:
  struct Limits {
    // Connections served at once (one worker thread each); more are refused with 503.
    int max_connections = 32;
    // From the first byte awaited to the last byte of the answer, for each request; and how long
    // a kept-alive connection may sit idle before its next request.
    absl::Duration request_timeout = absl::Seconds(5);
  };

  // With `tls` (which must outlive this), every connection is served over TLS with its
  // current context; the handshake must end within the request timeout.
  explicit BoundedServer(Limits limits, ServerTlsContext* tls = nullptr);

  // httplib's stop(), and every open connection is shut down, so that no slow client holds the
  // stop for up to a request timeout.
  void Stop();

  // Connections refused because all were taken (for tests and metrics).
  int64_t refused() const { return refused_.load(std::memory_order_relaxed); }

 private:
  bool process_and_close_socket(socket_t sock) override;
  void Serve(socket_t sock);

  const Limits limits_;
  ServerTlsContext* const tls_;
  std::atomic<int64_t> refused_{0};
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_set<socket_t> open_ ABSL_GUARDED_BY(mu_);
};

}  // namespace signet::server

#endif  // SIGNET_SERVER_HTTP_BOUNDED_SERVER_H_
