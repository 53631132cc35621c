#include "signet/channel.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

namespace signet {
namespace {

constexpr char kRetryServiceConfig[] = R"json({
  "methodConfig": [
    {
      "name": [
        {"service": "signet.v1.TokenService", "method": "ValidateToken"},
        {"service": "signet.v1.TokenService", "method": "ListKeys"},
        {"service": "signet.v1.TokenService", "method": "GetJwks"},
        {"service": "signet.v1.TokenService", "method": "RevokeKey"},
        {"service": "signet.v1.TokenService", "method": "RevokeToken"},
        {"service": "signet.v1.TokenService", "method": "RevokeSubject"}
      ],
      "retryPolicy": {
        "maxAttempts": 4,
        "initialBackoff": "0.1s",
        "maxBackoff": "1s",
        "backoffMultiplier": 2,
        "retryableStatusCodes": ["UNAVAILABLE"]
      }
    }
  ]
})json";

// signet-server's GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS (server/security.cc):
// pings more often earn strikes, and two strikes a GOAWAY(too_many_pings).
constexpr absl::Duration kServerMinPingInterval = absl::Seconds(10);

bool WantsTls(const ChannelOptions& options) {
  return options.use_tls || !options.root_certs_pem.empty() || !options.client_cert_pem.empty() ||
         !options.client_key_pem.empty();
}

}  // namespace

const std::string& RetryServiceConfigJson() {
  static const std::string* const config = new std::string(kRetryServiceConfig);
  return *config;
}

grpc::ChannelArguments SignetChannelArguments(const ChannelOptions& options) {
  grpc::ChannelArguments args;
  // A WatchKeys snapshot carries every live revocation: about 40 bytes each, so a million of them
  // need far more than gRPC's default 4 MiB.
  args.SetMaxReceiveMessageSize(256 * 1024 * 1024);
  if (options.enable_retries) {
    args.SetServiceConfigJSON(RetryServiceConfigJson());
    args.SetInt(GRPC_ARG_ENABLE_RETRIES, 1);
  }
  if (options.max_reconnect_backoff > absl::ZeroDuration()) {
    int max_ms = static_cast<int>(absl::ToInt64Milliseconds(options.max_reconnect_backoff));
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, max_ms);
    // gRPC's initial backoff (1 s) must not exceed the cap.
    if (max_ms < 1000) {
      args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, max_ms);
      args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, max_ms);
    }
  }
  if (!options.server_name_override.empty()) {
    args.SetSslTargetNameOverride(options.server_name_override);
  }
  if (options.keepalive_time > absl::ZeroDuration()) {
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS,
                static_cast<int>(absl::ToInt64Milliseconds(options.keepalive_time)));
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                static_cast<int>(absl::ToInt64Milliseconds(options.keepalive_timeout)));
    // A LocalValidator's channel may carry only WatchKeys, or nothing between two streams.
    args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    // The client sends no data on a WatchKeys stream; gRPC would stop pinging after two pings.
    args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  }
  return args;
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const ChannelOptions& options) {
  if (options.target.empty()) return absl::InvalidArgumentError("channel target is required");
  if (options.client_cert_pem.empty() != options.client_key_pem.empty()) {
    return absl::InvalidArgumentError(
        "client_cert_pem and client_key_pem must be given together (mutual TLS) or not at all");
  }
  if (options.max_reconnect_backoff < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("max_reconnect_backoff must not be negative");
  }
  if (options.keepalive_time != absl::ZeroDuration() &&
      (options.keepalive_time < kServerMinPingInterval ||
       options.keepalive_time > absl::Hours(24) ||
       options.keepalive_timeout <= absl::ZeroDuration() ||
       options.keepalive_timeout > absl::Hours(1))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "keepalive_time must be 0 (off) or from ", absl::FormatDuration(kServerMinPingInterval),
        " (signet-server answers more frequent pings with GOAWAY too_many_pings) to 24h, and "
        "keepalive_timeout from 1ms to 1h"));
  }
  if (!options.server_name_override.empty() && !WantsTls(options)) {
    return absl::InvalidArgumentError("server_name_override needs TLS");
  }
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (WantsTls(options)) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = options.root_certs_pem;
    ssl.pem_cert_chain = options.client_cert_pem;
    ssl.pem_private_key = options.client_key_pem;
    creds = grpc::SslCredentials(ssl);
  } else {
    creds = grpc::InsecureChannelCredentials();
  }
  if (creds == nullptr) return absl::InternalError("gRPC could not make channel credentials");
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(options.target, creds, SignetChannelArguments(options));
  if (channel == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("cannot make a channel to ", options.target));
  }
  return channel;
}

}  // namespace signet
