// gRPC channels to signet-server, set up the way the client library expects: TLS or plaintext,
// a retry policy for the idempotent RPCs, a reconnect backoff short enough for watchers, and
// HTTP/2 keepalive so that a connection that went silent (a partition without RST or FIN) is
// found dead and replaced.
//
// Example:
//   signet::ChannelOptions options;
//   options.target = "signet.internal:50051";
//   options.root_certs_pem = ReadFile("/etc/signet/ca.pem");    // turns TLS on
//   options.client_cert_pem = ReadFile("/etc/signet/me.pem");   // mTLS identity (optional)
//   options.client_key_pem = ReadFile("/etc/signet/me.key");
//   absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = signet::MakeChannel(options);
//   if (!channel.ok()) return channel.status();
//   std::unique_ptr<signet::Client> client = signet::Client::Create(*channel);
#ifndef SIGNET_CHANNEL_H_
#define SIGNET_CHANNEL_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/support/channel_arguments.h"

namespace signet {

struct ChannelOptions {
  // Required. A gRPC target: "host:port", "dns:///host:port", "unix:/path"...
  std::string target;

  // TLS is on when `use_tls` is true or any PEM field below is set; otherwise the channel is
  // plaintext (which signet-server accepts on loopback only).
  bool use_tls = false;
  // Trusted roots; empty with TLS on: gRPC's default roots.
  std::string root_certs_pem;
  // The client's certificate chain and private key for mutual TLS: both or neither. The key is a
  // secret and never appears in an error message.
  std::string client_cert_pem;
  std::string client_key_pem;
  // Expected server name in its certificate when it differs from the target's host (tests).
  std::string server_name_override;

  // Installs RetryServiceConfigJson() as the channel's default service config.
  bool enable_retries = true;
  // Upper bound of gRPC's own reconnect backoff (its default, 120 s, would outlast the staleness
  // bound of a LocalValidator). Zero keeps gRPC's default.
  absl::Duration max_reconnect_backoff = absl::Seconds(10);

  // HTTP/2 keepalive: a ping after keepalive_time without activity (also with no call open, and
  // however long the client itself sent nothing, as on a WatchKeys stream); no answer within
  // keepalive_timeout closes the connection and the next call reconnects. signet-server punishes
  // pings more often than every 10 s with GOAWAY(too_many_pings), so keepalive_time must be at
  // least 10 s; zero turns keepalive off.
  absl::Duration keepalive_time = absl::Seconds(20);
  absl::Duration keepalive_timeout = absl::Seconds(10);
};

// A channel per `options`. InvalidArgument for an empty target, a client certificate without its
// key (or the reverse), a negative backoff, or a keepalive_time other than zero or at least 10 s
// (or a keepalive_timeout that is not positive). The channel connects lazily: an unreachable server
// shows up as UNAVAILABLE on the first call.
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const ChannelOptions& options);

// The channel arguments MakeChannel uses (service config, backoff, keepalive), for callers that
// build their
// channel with their own credentials: grpc::CreateCustomChannel(target, creds, args).
grpc::ChannelArguments SignetChannelArguments(const ChannelOptions& options);

// A gRPC service config (JSON) that retries the idempotent signet.v1.TokenService RPCs
// (ValidateToken, ListKeys, GetJwks, RevokeKey, RevokeToken, RevokeSubject) on UNAVAILABLE: at most
// 4 attempts, backoff 0.1 s doubling up to 1 s. IssueToken and RotateKey are never retried: a
// retry could mint a second token or rotate twice.
const std::string& RetryServiceConfigJson();

}  // namespace signet

#endif  // SIGNET_CHANNEL_H_
