#include "server/security.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "grpc/grpc.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"
#include "server/log.h"
#include "server/policy/policy_authorizer.h"
#include "server/signet_server.h"
#include "server/tls/tls_files.h"

namespace signet::server {
namespace {

// Server-initiated keepalive finds peers that vanished without closing (WatchKeys streams would
// otherwise hold a watcher slot forever); clients may ping at most every 10 s.
constexpr int kKeepaliveTimeMs = 60 * 1000;
constexpr int kKeepaliveTimeoutMs = 20 * 1000;
constexpr int kMinClientPingIntervalMs = 10 * 1000;
constexpr int kMaxPingStrikes = 2;
// Connections with no call for this long are closed (a GOAWAY; clients reconnect on demand).
constexpr int kMaxConnectionIdleMs = 5 * 60 * 1000;
// Request metadata beyond this is refused (gRPC's default soft limit is 8 KiB).
constexpr int kMaxMetadataBytes = 16 * 1024;

absl::Status ValidateSecuritySettings(const ServerConfig& config) {
  auto bad = [](auto&&... parts) { return absl::InvalidArgumentError(absl::StrCat(parts...)); };
  if (config.tls_reload_interval < absl::Seconds(1) ||
      config.tls_reload_interval > absl::Hours(24)) {
    return bad("--tls_reload_interval must be between 1s and 24h");
  }
  if (config.policy_reload_interval < absl::Milliseconds(100) ||
      config.policy_reload_interval > absl::Hours(1)) {
    return bad("--policy_reload_interval must be between 100ms and 1h");
  }
  // A ValidateToken request carries a whole token: the message limit must leave room for it.
  const size_t min_request = config.max_token_bytes + 1024;
  if (config.max_request_bytes < min_request || config.max_request_bytes > 16 * 1024 * 1024) {
    return bad("--max_request_bytes must be between --max_token_bytes + 1024 (", min_request,
               ") and 16777216");
  }
  if (config.max_concurrent_streams < 1) return bad("--max_concurrent_streams must be positive");
  if (config.max_watchers < 1 || config.max_watchers > 1000000) {
    return bad("--max_watchers must be between 1 and 1000000");
  }
  // A per-caller limit as large as the replica's would let one caller lock every other out.
  if (config.max_watchers_per_caller >= config.max_watchers) {
    return bad("--max_watchers_per_caller (", config.max_watchers_per_caller,
               ") must be smaller than --max_watchers (", config.max_watchers, ")");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ServerConfig& config) {
  if (absl::Status s = ValidateSecuritySettings(config); !s.ok()) return s;
  if (!config.tls_cert_file.empty()) {
    if (absl::Status s =
            CheckTlsFiles(config.tls_cert_file, config.tls_key_file, config.client_ca_file);
        !s.ok()) {
      return s;
    }
    const bool mutual = !config.client_ca_file.empty();
    auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
        config.tls_key_file, config.tls_cert_file, config.client_ca_file,
        static_cast<unsigned int>(absl::ToInt64Seconds(config.tls_reload_interval)));
    grpc::experimental::TlsServerCredentialsOptions options(provider);
    options.watch_identity_key_cert_pairs();
    if (mutual) {
      options.watch_root_certs();
      options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    } else {
      options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
    }
    Log(LogLevel::kInfo, "tls_enabled")
        .Str("cert_file", config.tls_cert_file)
        .Str("client_ca_file", config.client_ca_file)
        .Bool("mutual", mutual)
        .Str("reload_interval", absl::FormatDuration(config.tls_reload_interval));
    return grpc::experimental::TlsServerCredentials(options);
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
  const bool tls = !config.tls_cert_file.empty();
  const bool mutual = tls && !config.client_ca_file.empty();
  if (config.policy_file.empty()) {
    if (mutual) {
      return absl::InvalidArgumentError(
          "--client_ca_file turns on mutual TLS, where every call is denied unless the policy "
          "allows it: pass --policy_file naming who may call what");
    }
    if (tls) {
      Log(LogLevel::kWarning, "no_caller_authorization")
          .Str("note",
               "TLS without --client_ca_file and without --policy_file: callers are not "
               "identified and every RPC is allowed");
    }
    return NewAllowAllAuthorizer();
  }
  if (!tls) {
    return absl::InvalidArgumentError(
        "--policy_file needs TLS (--tls_cert_file and --tls_key_file, and --client_ca_file to "
        "identify callers): without it callers have no identity and every RPC is allowed");
  }
  PolicyAuthorizer::Options options;
  options.path = config.policy_file;
  options.reload_interval = config.policy_reload_interval;
  absl::StatusOr<std::unique_ptr<PolicyAuthorizer>> authz = PolicyAuthorizer::Create(options);
  if (!authz.ok()) {
    return absl::InvalidArgumentError(authz.status().message());
  }
  Log(LogLevel::kInfo, "policy_loaded")
      .Str("path", config.policy_file)
      .Int("callers", static_cast<int64_t>((*authz)->current()->rules().size()))
      .Bool("callers_identified", mutual)
      .Str("reload_interval", absl::FormatDuration(config.policy_reload_interval));
  return std::unique_ptr<Authorizer>(*std::move(authz));
}

void ApplyTransportLimits(const ServerConfig& config, grpc::ServerBuilder* builder) {
  builder->SetMaxReceiveMessageSize(static_cast<int>(config.max_request_bytes));
  builder->AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                              static_cast<int>(config.max_concurrent_streams));
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, kKeepaliveTimeMs);
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, kKeepaliveTimeoutMs);
  // Clients that keep idle connections alive are not punished with GOAWAY(too_many_pings).
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder->AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                              kMinClientPingIntervalMs);
  builder->AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, kMaxPingStrikes);
  builder->AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, kMaxConnectionIdleMs);
  builder->AddChannelArgument(GRPC_ARG_MAX_METADATA_SIZE, kMaxMetadataBytes);
}

}  // namespace signet::server
