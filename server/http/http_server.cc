#include "server/http/http_server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "server/http/bounded_server.h"
#include "server/http/well_known.h"
#include "server/log.h"
#include "server/metrics/metrics.h"
#include "server/metrics/state_metrics.h"

namespace signet::server {
namespace {

constexpr char kJsonType[] = "application/json";
constexpr char kTextType[] = "text/plain; charset=utf-8";

absl::Status BadListen(std::string_view flag, std::string_view listen, const char* why) {
  return absl::InvalidArgumentError(
      absl::StrCat(std::string(flag), "=", std::string(listen), ": ", why,
                   " (expected HOST:PORT such as 0.0.0.0:8080 or [::]:8080; empty turns it off)"));
}

void Text(httplib::Response& res, int status, std::string_view body) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(std::string(body), kTextType);
}

// A JSON document that changes only with the keys: a strong ETag, 304 to a matching If-None-Match,
// and the JWKS's cache lifetime.
void ServeCacheable(const httplib::Request& req, httplib::Response& res, std::string_view body,
                    const std::string& etag, absl::Duration publish_ahead) {
  res.set_header("ETag", etag);
  res.set_header("Cache-Control", JwksCacheControl(publish_ahead));
  if (req.has_header("If-None-Match") &&
      IfNoneMatchMatches(req.get_header_value("If-None-Match"), etag)) {
    res.status = 304;
    return;
  }
  res.status = 200;
  res.set_content(std::string(body), kJsonType);
}

}  // namespace

absl::StatusOr<HostPort> ParseHttpListen(std::string_view listen, std::string_view flag) {
  HostPort out;
  std::string_view port;
  if (!listen.empty() && listen[0] == '[') {
    size_t end = listen.find(']');
    if (end == std::string_view::npos) return BadListen(flag, listen, "unclosed [");
    out.host = std::string(listen.substr(1, end - 1));
    std::string_view rest = listen.substr(end + 1);
    if (rest.empty() || rest[0] != ':') return BadListen(flag, listen, "no port after ]");
    port = rest.substr(1);
  } else {
    size_t colon = listen.rfind(':');
    if (colon == std::string_view::npos) return BadListen(flag, listen, "no port");
    out.host = std::string(listen.substr(0, colon));
    if (out.host.find(':') != std::string::npos) {
      return BadListen(flag, listen, "an IPv6 address needs brackets");
    }
    port = listen.substr(colon + 1);
  }
  if (out.host.empty()) return BadListen(flag, listen, "no host");
  bool digits = !port.empty() && port.size() <= 5;
  for (char c : port) digits &= absl::ascii_isdigit(static_cast<unsigned char>(c));
  if (!digits || !absl::SimpleAtoi(absl::string_view(port.data(), port.size()), &out.port) ||
      out.port > 65535) {
    return BadListen(flag, listen, "the port must be a number from 0 to 65535");
  }
  return out;
}

HttpServer::HttpServer(Options options) : options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(Options options) {
  if (options.ring == nullptr) return absl::InvalidArgumentError("HttpServer needs a key ring");
  absl::StatusOr<HostPort> address = ParseHttpListen(options.listen, options.flag_name);
  if (!address.ok()) return address.status();
  if (options.max_connections < 1 || options.request_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "HttpServer needs max_connections of at least 1 and a positive request_timeout");
  }

  std::unique_ptr<HttpServer> http(new HttpServer(std::move(options)));
  BoundedServer::Limits limits;
  limits.max_connections = http->options_.max_connections;
  limits.request_timeout = http->options_.request_timeout;
  http->server_ = std::make_unique<BoundedServer>(limits, http->options_.tls);
  BoundedServer& server = *http->server_;
  // httplib's default sets SO_REUSEPORT, which would let a second server bind the same port and
  // silently take half the requests. SO_REUSEADDR alone still allows a quick restart.
  server.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  // Reads, writes and keep-alive are bounded by BoundedServer's per-request deadline.
  server.set_payload_max_length(4096);  // Nothing here reads a body.
  http->Routes();
  if (http->options_.add_routes) http->options_.add_routes(&server);

  errno = 0;
  int port = address->port == 0
                 ? server.bind_to_any_port(address->host)
                 : (server.bind_to_port(address->host, address->port) ? address->port : -1);
  if (port <= 0) {
    int err = errno;
    return absl::UnavailableError(
        absl::StrCat("cannot listen for HTTP on ", http->options_.listen, err != 0 ? ": " : "",
                     err != 0 ? std::strerror(err) : "", " (", http->options_.flag_name, ")"));
  }
  http->port_ = port;
  if (!http->options_.public_url.empty()) {
    http->public_url_ = std::string(absl::StripSuffix(http->options_.public_url, "/"));
  } else if (!IsWildcardHost(address->host)) {
    bool v6 = address->host.find(':') != std::string::npos;
    http->public_url_ = absl::StrCat(http->options_.tls != nullptr ? "https://" : "http://",
                                     v6 ? "[" : "", address->host, v6 ? "]" : "", ":", port);
  } else if (!http->options_.probes_only) {
    // A wildcard address names no host a client could reach: jwks_uri would be a lie.
    Log(LogLevel::kWarning, "discovery_not_served")
        .Str("listen", http->options_.listen)
        .Str("why", "the HTTP listener is a wildcard address and --public_url is not set");
  }

  auto finished = std::make_shared<std::atomic<bool>>(false);
  http->thread_ = std::thread([&server, finished] {
    server.listen_after_bind();
    finished->store(true);
  });
  // httplib's stop() does nothing until the accept loop has started: wait for it, so that Stop()
  // can never be lost.
  while (!server.is_running() && !finished->load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!server.is_running()) {
    http->thread_.join();
    return absl::UnavailableError(
        absl::StrCat("HTTP server on ", http->options_.listen, " stopped as it started"));
  }
  Log(LogLevel::kInfo, http->options_.probes_only ? "probe_http_started" : "http_started")
      .Str("listen", http->options_.listen)
      .Int("port", port)
      .Str("public_url", http->public_url_)
      .Bool("tls", http->options_.tls != nullptr)
      .Int("max_connections", http->options_.max_connections)
      .Int("request_timeout_ms", absl::ToInt64Milliseconds(http->options_.request_timeout));
  return http;
}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Stop() {
  if (stopped_.exchange(true)) return;
  if (server_ != nullptr) server_->Stop();
  if (thread_.joinable()) thread_.join();
}

int64_t HttpServer::refused_connections() const {
  return server_ != nullptr ? server_->refused() : 0;
}

bool HttpServer::Ready(std::string* why) const {
  if (!serving_.load(std::memory_order_acquire)) {
    *why = "not serving (starting or draining)";
    return false;
  }
  std::shared_ptr<const StateSnapshot> snap = options_.ring->Current();
  if (snap == nullptr || snap->active == nullptr) {
    *why = "keys not loaded";
    return false;
  }
  if (absl::Status s = options_.ring->CheckBackend(); !s.ok()) {
    *why = absl::StrCat("key backend: ", s.message());
    return false;
  }
  return true;
}

void HttpServer::Routes() {
  httplib::Server& server = *server_;

  server.Get("/healthz",
             [](const httplib::Request&, httplib::Response& res) { Text(res, 200, "ok\n"); });

  server.Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    std::string why;
    if (Ready(&why)) return Text(res, 200, "ready\n");
    Text(res, 503, why + "\n");
  });

  server.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty()) {
      res.set_header("Cache-Control", "no-store");
      res.set_content(res.status == 404 ? "not found\n" : "error\n", kTextType);
    }
  });
  server.set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr) {
        Log(LogLevel::kError, "http_handler_failed").Str("path", req.path);
        Text(res, 500, "internal error\n");
      });
  if (options_.probes_only) return;

  auto jwks = [this](const httplib::Request& req, httplib::Response& res) {
    std::shared_ptr<const StateSnapshot> snap = options_.ring->Current();
    if (snap == nullptr) return Text(res, 503, "keys not loaded\n");
    ServeCacheable(req, res, snap->jwks_json, JwksEtag(*snap), options_.publish_ahead);
  };
  server.Get(kJwksPath, jwks);
  // Also where jwks_uri points when --public_url has a path and nothing in front strips it.
  if (std::string prefix = UrlPath(options_.public_url); !prefix.empty()) {
    server.Get(prefix + kJwksPath, jwks);
  }

  auto discovery = [this](const httplib::Request& req, httplib::Response& res) {
    if (public_url_.empty()) {
      return Text(res, 404,
                  "no discovery document: the HTTP listener is a wildcard address, so its public "
                  "URL is unknown; set --public_url\n");
    }
    std::shared_ptr<const StateSnapshot> snap = options_.ring->Current();
    if (snap == nullptr) return Text(res, 503, "keys not loaded\n");
    const std::string document = DiscoveryJson(options_.issuer, public_url_, *snap);
    ServeCacheable(req, res, document, StrongEtag(document), options_.publish_ahead);
  };
  for (const std::string& path : DiscoveryPaths(options_.issuer)) server.Get(path, discovery);

  server.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    PrometheusWriter out;
    if (options_.metrics != nullptr) options_.metrics->WriteTo(&out);
    std::shared_ptr<const StateSnapshot> snap = options_.ring->Current();
    WriteStateMetrics(snap.get(), options_.hub ? options_.hub->watcher_count() : 0, &out);
    WriteProcessMetrics(&out);
    out.Family("signet_http_refused_connections_total", "counter",
               "HTTP connections answered 503 at once because --http_max_connections were open");
    out.Sample("signet_http_refused_connections_total", {}, refused_connections());
    res.status = 200;
    res.set_header("Cache-Control", "no-store");
    res.set_content(out.Release(), PrometheusWriter::kContentType);
  });
}

std::string HttpServer::JwksEtag(const StateSnapshot& snapshot) {
  absl::MutexLock lock(&etag_mu_);
  if (etag_version_ != snapshot.version) {
    etag_ = StrongEtag(snapshot.jwks_json);
    etag_version_ = snapshot.version;
  }
  return etag_;
}

}  // namespace signet::server
