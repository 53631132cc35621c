#include "server/signet_server.h"

#include <openssl/crypto.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "server/gateway/forward_auth.h"
#include "server/keys/open_key_backend.h"
#include "server/log.h"
#include "server/metrics/rpc_metrics_interceptor.h"
#include "server/metrics/server_metrics.h"
#include "server/security.h"
#include "server/store/envelope.h"
#include "server/store/open_store.h"

namespace signet::server {
namespace {

constexpr char kServiceName[] = "signet.v1.TokenService";

// Connections of the probe listener (--probe_listen).
constexpr int kProbeConnections = 4;

absl::Status EnsureDataDir(const std::string& dir) {
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::UnavailableError(
        absl::StrCat("cannot create data folder ", dir, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

// The KEK opens two envelopes of one key: the key ring's (rows' tags, sealed keys) and the key
// backend's (rows a local backend sealed before a switch to a token).
struct Envelopes {
  Envelope ring;
  Envelope backend;
};

absl::StatusOr<Envelopes> OpenEnvelopes(const ServerConfig& config, Store* store) {
  absl::StatusOr<std::string> kek;
  if (!config.kek_file.empty()) {
    kek = ReadKekFile(config.kek_file);
  } else {
    std::string path = config.data_dir + "/kek";
    struct stat st;
    if (stat(path.c_str(), &st) != 0 && errno == ENOENT) {
      // A new KEK cannot open keys sealed under a lost one: say so instead of making one.
      absl::StatusOr<std::vector<KeyRecord>> keys = store->LoadKeys();
      if (!keys.ok()) return keys.status();
      if (!keys->empty()) {
        return absl::FailedPreconditionError(absl::StrCat(
            "key-encryption key: ", path, " is missing but the store holds ", keys->size(),
            " sealed keys; restore the KEK file from backup (or pass --kek_file)"));
      }
    }
    bool created = false;
    kek = LoadOrCreateKekFile(path, &created);
    if (kek.ok() && created) {
      Log(LogLevel::kWarning, "kek_created")
          .Str("path", path)
          .Str("note",
               "local mode: a new key-encryption key was made beside the data (mode 0600); "
               "back it up with the data, or pass --kek_file in production");
    }
  }
  if (!kek.ok()) {
    return absl::Status(kek.status().code(),
                        absl::StrCat("key-encryption key: ", kek.status().message()));
  }
  absl::StatusOr<Envelope> ring = Envelope::Create(*kek);
  absl::StatusOr<Envelope> backend = Envelope::Create(*kek);
  OPENSSL_cleanse(kek->data(), kek->size());
  if (!ring.ok()) return ring.status();
  if (!backend.ok()) return backend.status();
  return Envelopes{*std::move(ring), *std::move(backend)};
}

}  // namespace

bool IsLoopbackAddress(const std::string& listen) {
  if (absl::StartsWith(listen, "unix:") || absl::StartsWith(listen, "unix-abstract:")) return true;
  std::string host = listen;
  if (absl::StartsWith(host, "[")) {
    size_t end = host.find(']');
    host = end == std::string::npos ? host : host.substr(1, end - 1);
  } else if (size_t colon = host.rfind(':'); colon != std::string::npos) {
    host = host.substr(0, colon);
  }
  return host == "localhost" || host == "::1" || absl::StartsWith(host, "127.");
}

namespace {

// The listener addresses, and plaintext gRPC only where it is safe or explicitly accepted.
absl::Status CheckListeners(const ServerConfig& config) {
  if (!config.http_listen.empty()) {
    if (absl::StatusOr<HostPort> http = ParseHttpListen(config.http_listen); !http.ok()) {
      return http.status();
    }
  }
  if (!config.probe_listen.empty()) {
    if (absl::StatusOr<HostPort> probe = ParseHttpListen(config.probe_listen, "--probe_listen");
        !probe.ok()) {
      return probe.status();
    }
  }
  if (config.tls_cert_file.empty() && !IsLoopbackAddress(config.listen) && !config.allow_insecure) {
    return absl::InvalidArgumentError(
        absl::StrCat("refusing plaintext gRPC on non-loopback address ", config.listen,
                     ": pass --tls_cert_file and --tls_key_file, or --allow_insecure to accept "
                     "the risk"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<SignetServer>> SignetServer::Start(Options options) {
  const ServerConfig& config = options.config;
  if (absl::Status s = config.Validate(); !s.ok()) return s;
  if (absl::Status s = CheckListeners(config); !s.ok()) return s;
  // Everything read from files comes first, so that a bad file changes nothing.
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      MakeServerCredentials(config);
  if (!credentials.ok()) return credentials.status();
  absl::StatusOr<std::unique_ptr<Authorizer>> authorizer = MakeAuthorizer(config);
  if (!authorizer.ok()) return authorizer.status();
  absl::StatusOr<GatewayRules> gateway_rules = config.gateway_rules_file.empty()
                                                   ? GatewayRules()
                                                   : GatewayRules::Load(config.gateway_rules_file);
  if (!gateway_rules.ok()) return gateway_rules.status();
  absl::StatusOr<std::unique_ptr<AuditLog>> audit = AuditLog::Open(config.audit_log);
  if (!audit.ok()) return audit.status();
  std::unique_ptr<ServerTlsContext> http_tls;
  if (config.http_tls) {
    absl::StatusOr<std::unique_ptr<ServerTlsContext>> loaded = ServerTlsContext::Load(
        config.tls_cert_file, config.tls_key_file, config.tls_reload_interval);
    if (!loaded.ok()) return loaded.status();
    http_tls = *std::move(loaded);
  }

  std::unique_ptr<SignetServer> server(new SignetServer());
  server->config_ = config;
  server->clock_ = options.clock;
  server->authorizer_ = *std::move(authorizer);
  server->audit_ = *std::move(audit);
  server->http_tls_ = std::move(http_tls);
  server->shared_store_ = IsSharedStore(config);
  const bool custom_store = options.store != nullptr;
  if (absl::Status s = server->OpenKeyState(std::move(options.store)); !s.ok()) return s;
  server->MakeServices(*std::move(gateway_rules));
  if (absl::Status s = server->StartHttp(); !s.ok()) return s;
  if (absl::Status s = server->StartGrpc(*credentials); !s.ok()) return s;
  if (options.run_maintenance) {
    server->maintenance_ = std::thread([s = server.get()] { s->MaintenanceLoop(); });
  }
  server->LogStarted(custom_store);
  return server;
}

absl::Status SignetServer::OpenKeyState(std::unique_ptr<Store> given_store) {
  if (given_store != nullptr) {
    store_ = std::move(given_store);
  } else {
    absl::StatusOr<std::unique_ptr<Store>> store = OpenConfiguredStore(config_);
    if (!store.ok()) return store.status();
    store_ = *std::move(store);
  }
  if (config_.kek_file.empty()) {
    if (absl::Status s = EnsureDataDir(config_.data_dir); !s.ok()) return s;
  }
  absl::StatusOr<Envelopes> envelopes = OpenEnvelopes(config_, store_.get());
  if (!envelopes.ok()) return envelopes.status();
  backend_envelope_ = std::make_unique<Envelope>(std::move(envelopes->backend));
  absl::StatusOr<std::shared_ptr<const KeyBackend>> backend =
      OpenKeyBackend(config_, backend_envelope_.get());
  if (!backend.ok()) return backend.status();

  LifecycleSettings settings;
  settings.algorithm = config_.algorithm;
  settings.publish_ahead = config_.publish_ahead;
  settings.rotation_period = config_.rotation_period;
  settings.max_ttl = config_.max_ttl;
  settings.leeway = config_.leeway;
  ring_ = KeyRing::Create(store_.get(), std::move(envelopes->ring), settings, clock_, *backend);
  WatchHub::Options hub_options;
  hub_options.max_watchers = config_.max_watchers;
  hub_options.max_watchers_per_caller = config_.max_watchers_per_caller;
  hub_options.heartbeat_interval = config_.watch_heartbeat_interval;
  hub_ = std::make_unique<WatchHub>(ring_.get(), clock_, hub_options);
  ring_->AddListener(hub_.get());
  return ring_->Start();
}

void SignetServer::MakeServices(GatewayRules gateway_rules) {
  service_ = std::make_unique<TokenService>(TokenService::Deps{
      config_, ring_.get(), hub_.get(), clock_, authorizer_.get(), audit_.get()});
  Gateway::Options gateway;
  gateway.rules = std::move(gateway_rules);
  gateway.issuer = config_.issuer;
  gateway.leeway = config_.leeway;
  gateway.max_token_bytes = config_.max_token_bytes;
  gateway.cache_entries = config_.validation_cache_entries;
  gateway.ring = ring_.get();
  gateway.clock = clock_;
  gateway_ = std::make_unique<Gateway>(std::move(gateway));
  ext_authz_ = std::make_unique<ExtAuthzService>(gateway_.get(), authorizer_.get(), audit_.get());
}

absl::Status SignetServer::StartHttp() {
  auto http_options = [this](const std::string& listen) {
    HttpServer::Options http;
    http.listen = listen;
    http.issuer = config_.issuer;
    http.public_url = config_.public_url;
    http.publish_ahead = config_.publish_ahead;
    http.ring = ring_.get();
    http.hub = hub_.get();
    http.metrics = &ServerMetrics::Global();
    http.max_connections = config_.http_max_connections;
    http.request_timeout = config_.http_request_timeout;
    return http;
  };
  if (!config_.http_listen.empty()) {
    HttpServer::Options http = http_options(config_.http_listen);
    http.add_routes = [g = gateway_.get()](httplib::Server* s) { AddForwardAuthRoutes(g, s); };
    http.tls = http_tls_.get();
    absl::StatusOr<std::unique_ptr<HttpServer>> started = HttpServer::Start(std::move(http));
    if (!started.ok()) return started.status();
    http_ = *std::move(started);
  }
  if (!config_.probe_listen.empty()) {
    // Probes come one at a time from the kubelet: a few connections of their own suffice, and no
    // JWKS or metrics client can take them.
    HttpServer::Options probe = http_options(config_.probe_listen);
    probe.probes_only = true;
    probe.max_connections = kProbeConnections;
    probe.flag_name = "--probe_listen";
    absl::StatusOr<std::unique_ptr<HttpServer>> started = HttpServer::Start(std::move(probe));
    if (!started.ok()) return started.status();
    probe_http_ = *std::move(started);
  }
  return absl::OkStatus();
}

absl::Status SignetServer::StartGrpc(const std::shared_ptr<grpc::ServerCredentials>& credentials) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  ApplyTransportLimits(config_, &builder);
  builder.AddListeningPort(config_.listen, credentials, &port_);
  builder.RegisterService(service_.get());
  builder.RegisterService(ext_authz_.get());
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(NewRpcMetricsInterceptorFactory(&ServerMetrics::Global()));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  server_ = builder.BuildAndStart();
  if (server_ == nullptr) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", config_.listen));
  }
  grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
  health->SetServingStatus(true);
  health->SetServingStatus(kServiceName, true);
  if (http_ != nullptr) http_->SetServing(true);
  if (probe_http_ != nullptr) probe_http_->SetServing(true);
  return absl::OkStatus();
}

void SignetServer::LogStarted(bool custom_store) const {
  Log(LogLevel::kInfo, "server_started")
      .Str("listen", config_.listen)
      .Int("port", port_)
      .Int("http_port", http_port())
      .Int("probe_port", probe_port())
      .Str("store", custom_store ? "custom" : config_.store)
      .Str("issuer", config_.issuer)
      .Str("algorithm", AlgorithmName(config_.algorithm))
      .Str("key_backend", config_.key_backend)
      .Bool("tls", !config_.tls_cert_file.empty());
  if (config_.tls_cert_file.empty()) {
    Log(LogLevel::kWarning, "insecure_mode")
        .Str("note", "plaintext gRPC and no caller authentication: every RPC is allowed");
  }
}

void SignetServer::MaintenanceLoop() {
  absl::Time next_reload = clock_->Now() + config_.reload_interval;
  while (!stop_.WaitForNotificationWithTimeout(config_.maintenance_interval)) {
    if (absl::Status s = ring_->Maintain(); !s.ok()) {
      ServerMetrics::Global().RecordStoreError(ServerMetrics::StoreErrorSource::kMaintenance);
      Log(LogLevel::kError, "maintenance_failed").Str("error", s.ToString());
    }
    if (shared_store_ && clock_->Now() >= next_reload) {
      next_reload = clock_->Now() + config_.reload_interval;
      if (absl::Status s = ring_->Reload(); !s.ok()) {
        ServerMetrics::Global().RecordStoreError(ServerMetrics::StoreErrorSource::kMaintenance);
        Log(LogLevel::kError, "reload_failed").Str("error", s.ToString());
      }
    }
  }
}

void SignetServer::Shutdown(absl::Duration deadline) {
  {
    absl::MutexLock lock(&shutdown_mu_);
    if (shut_down_) {
      // Another caller is draining (or has drained): return once it is done.
      shutdown_mu_.Unlock();
      stopped_.WaitForNotification();
      shutdown_mu_.Lock();
      return;
    }
    shut_down_ = true;
  }
  Log(LogLevel::kInfo, "server_draining").Str("deadline", absl::FormatDuration(deadline));
  grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
  health->SetServingStatus(false);
  if (http_ != nullptr) http_->SetServing(false);
  if (probe_http_ != nullptr) probe_http_->SetServing(false);
  stop_.Notify();
  if (maintenance_.joinable()) maintenance_.join();
  hub_->Shutdown();
  server_->Shutdown(absl::ToChronoTime(absl::Now() + deadline));
  server_->Wait();
  if (http_ != nullptr) http_->Stop();
  if (probe_http_ != nullptr) probe_http_->Stop();
  Log(LogLevel::kInfo, "server_stopped");
  stopped_.Notify();
}

void SignetServer::Wait() { stopped_.WaitForNotification(); }

SignetServer::~SignetServer() {
  if (server_ != nullptr) Shutdown(absl::ZeroDuration());
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (maintenance_.joinable()) maintenance_.join();
  // Users before what they use: the ring detaches from the store (no more change callbacks) and
  // stops telling the hub before either goes.
  http_.reset();
  probe_http_.reset();
  server_.reset();
  service_.reset();
  ext_authz_.reset();
  gateway_.reset();
  ring_.reset();
  hub_.reset();
  store_.reset();
}

}  // namespace signet::server
