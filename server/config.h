// Everything signet-server can be told, with the defaults of DESIGN.md section 8.
//
// Example:
//   signet::server::ServerConfig config;        // embedded defaults
//   config.listen = "127.0.0.1:0";              // any free port
//   if (absl::Status s = config.Validate(); !s.ok()) return s;
#ifndef SIGNET_SERVER_CONFIG_H_
#define SIGNET_SERVER_CONFIG_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "signet/algorithm.h"

namespace signet::server {

struct ServerConfig {
  // gRPC listen address (host:port; port 0 picks a free one).
  std::string listen = "127.0.0.1:50051";
  // HTTP listen address for JWKS, discovery, metrics and health; empty turns HTTP off.
  std::string http_listen = "127.0.0.1:8080";
  // Serve http_listen over HTTPS with tls_cert_file and tls_key_file (re-read every
  // tls_reload_interval). The probe listener stays plain HTTP.
  bool http_tls = false;
  // Connections the HTTP listener serves at once (one thread each); more are answered 503 at once.
  int http_max_connections = 32;
  // Each HTTP request must arrive and be answered within this, however slowly it trickles in.
  absl::Duration http_request_timeout = absl::Seconds(5);
  // A second HTTP listener serving only /healthz and /readyz, for orchestrator probes, with its own
  // threads; empty: none (the probes are on http_listen).
  std::string probe_listen;
  // Folder for the SQLite database and, in local mode, the generated KEK.
  std::string data_dir = "./signet-data";
  // Key-encryption key file; empty: local mode, data_dir/kek is made on first start.
  std::string kek_file;
  // Where signing keys are made and live: "local" (in process, sealed under the KEK in the store)
  // or "pkcs11" (generated inside a PKCS#11 token, never extractable; docs/SECURITY.md).
  std::string key_backend = "local";
  // --key_backend=pkcs11: the token's library, its label, and a file holding the user PIN.
  std::string pkcs11_module;
  std::string pkcs11_token_label;
  std::string pkcs11_pin_file;
  // Sessions open on the token at once (the rest of the signing threads wait up to 2 s); 0: four
  // per core, at least 8.
  size_t pkcs11_sessions = 0;
  // "sqlite" or "postgres".
  std::string store = "sqlite";
  std::string postgres_dsn;
  std::string postgres_dsn_file;
  // How long one attempt to reach PostgreSQL may take (whole seconds, at least 2 in effect).
  absl::Duration postgres_connect_timeout = absl::Seconds(3);
  // The iss of every token, and the only one accepted.
  std::string issuer = "signet";
  // Public base URL for OIDC discovery (jwks_uri); empty: derived from http_listen.
  std::string public_url;
  Algorithm algorithm = Algorithm::kEdDSA;
  absl::Duration default_ttl = absl::Hours(1);
  absl::Duration max_ttl = absl::Hours(24);
  absl::Duration leeway = absl::Seconds(30);
  absl::Duration rotation_period = absl::Hours(24);
  absl::Duration publish_ahead = absl::Minutes(10);
  // How often the maintenance loop checks for due rotations and expired entries.
  absl::Duration maintenance_interval = absl::Seconds(10);
  // Full reload from a shared store (PostgreSQL), repairing missed notifications.
  absl::Duration reload_interval = absl::Seconds(30);
  // On SIGTERM: calls in flight get this long to finish.
  absl::Duration drain_timeout = absl::Seconds(10);
  size_t max_token_bytes = 8 * 1024;

  // TLS (see the security docs). Empty: plaintext, allowed on loopback only.
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string client_ca_file;
  std::string policy_file;
  std::string audit_log;
  bool allow_insecure = false;
  // How often the TLS certificate, key and client CA files are re-read (whole seconds).
  absl::Duration tls_reload_interval = absl::Seconds(60);
  // How often the policy file is re-read.
  absl::Duration policy_reload_interval = absl::Seconds(2);
  // Largest request message accepted; larger ones fail with RESOURCE_EXHAUSTED.
  size_t max_request_bytes = 64 * 1024;
  // Concurrent calls (HTTP/2 streams) one connection may have open.
  int max_concurrent_streams = 256;
  // WatchKeys streams one replica serves at once, and one caller identity may hold open (0: no
  // per-caller limit). With the defaults, no fewer than 157 identities fill a replica
  // (docs/SECURITY.md, "Transport hardening").
  size_t max_watchers = 10000;
  size_t max_watchers_per_caller = 64;
  // Every WatchKeys stream with nothing else to send gets a heartbeat this often, so that a
  // LocalValidator behind a silent network partition notices within its stale_after (which must
  // be longer). 10ms to 1m.
  absl::Duration watch_heartbeat_interval = absl::Seconds(5);
  // ValidateToken answers kept for tokens found valid (about 0.5 KiB each); 0 turns the cache off.
  // 512 bytes each, allocated at start (65536: 32 MiB); hits take no lock
  // (signet/validation_cache.h). 0 turns the cache off.
  size_t validation_cache_entries = 65536;
  // Gateway routes and identity header names (server/gateway/gateway_rules.h); empty: every
  // request through a gateway needs a valid token, of any audience.
  std::string gateway_rules_file;

  // InvalidArgument naming the first inconsistent setting.
  absl::Status Validate() const;
};

}  // namespace signet::server

#endif  // SIGNET_SERVER_CONFIG_H_
