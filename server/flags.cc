#include "server/flags.h"

#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/strip.h"

namespace {
const signet::server::ServerConfig kDefaults;
}  // namespace

ABSL_FLAG(std::string, listen, kDefaults.listen,
          "gRPC listen address, host:port (port 0 picks a free port) or unix:PATH");
ABSL_FLAG(std::string, http_listen, kDefaults.http_listen,
          "HTTP address for JWKS, OIDC discovery, metrics and health; empty turns it off");
ABSL_FLAG(bool, http_tls, false,
          "Serve --http_listen over HTTPS with --tls_cert_file and --tls_key_file (re-read every "
          "--tls_reload_interval); --probe_listen stays plain HTTP");
ABSL_FLAG(int32_t, http_max_connections, kDefaults.http_max_connections,
          "HTTP connections served at once (one thread each); more are answered 503 at once");
ABSL_FLAG(absl::Duration, http_request_timeout, kDefaults.http_request_timeout,
          "Each HTTP request must arrive and be answered within this, however slowly it is sent");
ABSL_FLAG(std::string, probe_listen, kDefaults.probe_listen,
          "HTTP address serving only /healthz and /readyz (for orchestrator probes), with its own "
          "threads; empty: none");
ABSL_FLAG(std::string, data_dir, kDefaults.data_dir,
          "Folder for the SQLite database and, without --kek_file, the generated KEK");
ABSL_FLAG(std::string, kek_file, "",
          "Key-encryption key file (32 raw bytes, 64 hex or base64; mode 0600). Empty: local "
          "mode, DATA_DIR/kek is made on first start");
ABSL_FLAG(std::string, key_backend, kDefaults.key_backend,
          "Where signing keys live: local (in process, sealed under the KEK in the store) or "
          "pkcs11 (generated inside a PKCS#11 token and never extractable)");
ABSL_FLAG(std::string, pkcs11_module, "", "--key_backend=pkcs11: the token's PKCS#11 library");
ABSL_FLAG(std::string, pkcs11_token_label, "", "--key_backend=pkcs11: the token's label");
ABSL_FLAG(std::string, pkcs11_pin_file, "",
          "--key_backend=pkcs11: file holding the token's user PIN (mode 0600 or 0400; one "
          "trailing newline ignored)");
ABSL_FLAG(int64_t, pkcs11_sessions, 0,
          "--key_backend=pkcs11: sessions open on the token at once; 0: four per core, at "
          "least 8");
ABSL_FLAG(std::string, store, kDefaults.store, "State store: sqlite or postgres");
ABSL_FLAG(std::string, postgres_dsn, "", "libpq connection string (--store=postgres)");
ABSL_FLAG(std::string, postgres_dsn_file, "",
          "File holding the libpq connection string (a Kubernetes Secret)");
ABSL_FLAG(absl::Duration, postgres_connect_timeout, kDefaults.postgres_connect_timeout,
          "How long one attempt to reach PostgreSQL may take (whole seconds, at least 2); a "
          "connect_timeout in the DSN wins");
ABSL_FLAG(std::string, issuer, "",
          "The iss of every token, and the one accepted; empty: --public_url when given (so that "
          "discovery clients find {issuer}/.well-known/openid-configuration), else \"signet\"");
ABSL_FLAG(std::string, public_url, "",
          "Public base URL of the HTTP listener, for discovery's jwks_uri; empty: "
          "http://HTTP_LISTEN (discovery is not served when that is a wildcard address)");
ABSL_FLAG(std::string, algorithm, "EdDSA", "Signing algorithm of new keys: EdDSA, ES256, HS256");
ABSL_FLAG(absl::Duration, default_ttl, kDefaults.default_ttl, "Token lifetime when none is asked");
ABSL_FLAG(absl::Duration, max_ttl, kDefaults.max_ttl, "Longest token lifetime a caller may ask");
ABSL_FLAG(absl::Duration, leeway, kDefaults.leeway, "Clock skew tolerated on exp/nbf/iat");
ABSL_FLAG(absl::Duration, rotation_period, kDefaults.rotation_period,
          "The ACTIVE key is replaced after this long");
ABSL_FLAG(absl::Duration, publish_ahead, kDefaults.publish_ahead,
          "A new key is published this long before it signs");
ABSL_FLAG(absl::Duration, maintenance_interval, kDefaults.maintenance_interval,
          "How often due rotations and expired entries are looked for");
ABSL_FLAG(absl::Duration, reload_interval, kDefaults.reload_interval,
          "Full reload from a shared store (PostgreSQL), repairing missed notifications");
ABSL_FLAG(absl::Duration, drain_timeout, kDefaults.drain_timeout,
          "On SIGTERM/SIGINT, calls in flight get this long to finish");
ABSL_FLAG(int64_t, max_token_bytes, static_cast<int64_t>(kDefaults.max_token_bytes),
          "Longer tokens are refused as MALFORMED before anything is parsed");
ABSL_FLAG(std::string, tls_cert_file, "", "PEM certificate chain for the gRPC listener");
ABSL_FLAG(std::string, tls_key_file, "", "PEM private key for the gRPC listener");
ABSL_FLAG(std::string, client_ca_file, "", "PEM CA bundle: turns on mutual TLS");
ABSL_FLAG(std::string, policy_file, "", "JSON policy mapping caller identities to roles");
ABSL_FLAG(std::string, audit_log, "", "Audit log file (JSON lines); empty: stderr");
ABSL_FLAG(bool, allow_insecure, false,
          "Allow plaintext gRPC on a non-loopback address (logs a warning)");
ABSL_FLAG(absl::Duration, tls_reload_interval, kDefaults.tls_reload_interval,
          "How often the TLS certificate, key and client CA files are re-read (whole seconds)");
ABSL_FLAG(absl::Duration, policy_reload_interval, kDefaults.policy_reload_interval,
          "How often --policy_file is re-read; a broken new file keeps the old policy");
ABSL_FLAG(int64_t, max_request_bytes, static_cast<int64_t>(kDefaults.max_request_bytes),
          "Largest gRPC request message accepted (RESOURCE_EXHAUSTED beyond)");
ABSL_FLAG(int32_t, max_concurrent_streams, kDefaults.max_concurrent_streams,
          "Concurrent calls one gRPC connection may have open");
ABSL_FLAG(int64_t, max_watchers, static_cast<int64_t>(kDefaults.max_watchers),
          "WatchKeys streams this replica serves at once (RESOURCE_EXHAUSTED beyond)");
ABSL_FLAG(int64_t, max_watchers_per_caller, static_cast<int64_t>(kDefaults.max_watchers_per_caller),
          "WatchKeys streams one caller identity may hold open on this replica (0: no per-caller "
          "limit, so one caller can take every slot)");
ABSL_FLAG(absl::Duration, watch_heartbeat_interval, kDefaults.watch_heartbeat_interval,
          "How often every idle WatchKeys stream gets a heartbeat (10ms to 1m); clients' "
          "staleness bound must be longer");
ABSL_FLAG(int64_t, validation_cache_entries,
          static_cast<int64_t>(kDefaults.validation_cache_entries),
          "ValidateToken answers kept for tokens found valid (0: no cache)");
ABSL_FLAG(std::string, gateway_rules_file, "",
          "JSON routes for the gateway decision (Envoy ext_authz Check, HTTP /v1/authz): per "
          "host and path prefix a required or optional token and an audience; empty: every "
          "request needs a valid token of any audience");

namespace signet::server {

absl::StatusOr<ServerConfig> ConfigFromFlags() {
  ServerConfig c;
  c.listen = absl::GetFlag(FLAGS_listen);
  c.http_listen = absl::GetFlag(FLAGS_http_listen);
  c.http_tls = absl::GetFlag(FLAGS_http_tls);
  c.http_max_connections = absl::GetFlag(FLAGS_http_max_connections);
  c.http_request_timeout = absl::GetFlag(FLAGS_http_request_timeout);
  c.probe_listen = absl::GetFlag(FLAGS_probe_listen);
  c.data_dir = absl::GetFlag(FLAGS_data_dir);
  c.kek_file = absl::GetFlag(FLAGS_kek_file);
  c.key_backend = absl::GetFlag(FLAGS_key_backend);
  c.pkcs11_module = absl::GetFlag(FLAGS_pkcs11_module);
  c.pkcs11_token_label = absl::GetFlag(FLAGS_pkcs11_token_label);
  c.pkcs11_pin_file = absl::GetFlag(FLAGS_pkcs11_pin_file);
  int64_t sessions = absl::GetFlag(FLAGS_pkcs11_sessions);
  c.pkcs11_sessions = sessions < 0 ? 1025 : static_cast<size_t>(sessions);
  c.store = absl::GetFlag(FLAGS_store);
  c.postgres_dsn = absl::GetFlag(FLAGS_postgres_dsn);
  c.postgres_dsn_file = absl::GetFlag(FLAGS_postgres_dsn_file);
  c.postgres_connect_timeout = absl::GetFlag(FLAGS_postgres_connect_timeout);
  c.public_url = absl::GetFlag(FLAGS_public_url);
  c.issuer = absl::GetFlag(FLAGS_issuer);
  if (c.issuer.empty()) {
    c.issuer =
        c.public_url.empty() ? kDefaults.issuer : std::string(absl::StripSuffix(c.public_url, "/"));
  }
  absl::StatusOr<Algorithm> alg = AlgorithmFromName(absl::GetFlag(FLAGS_algorithm));
  if (!alg.ok()) {
    return absl::InvalidArgumentError("--algorithm must be EdDSA, ES256 or HS256");
  }
  c.algorithm = *alg;
  c.default_ttl = absl::GetFlag(FLAGS_default_ttl);
  c.max_ttl = absl::GetFlag(FLAGS_max_ttl);
  c.leeway = absl::GetFlag(FLAGS_leeway);
  c.rotation_period = absl::GetFlag(FLAGS_rotation_period);
  c.publish_ahead = absl::GetFlag(FLAGS_publish_ahead);
  c.maintenance_interval = absl::GetFlag(FLAGS_maintenance_interval);
  c.reload_interval = absl::GetFlag(FLAGS_reload_interval);
  c.drain_timeout = absl::GetFlag(FLAGS_drain_timeout);
  int64_t max_bytes = absl::GetFlag(FLAGS_max_token_bytes);
  c.max_token_bytes = max_bytes < 0 ? 0 : static_cast<size_t>(max_bytes);
  c.tls_cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  c.tls_key_file = absl::GetFlag(FLAGS_tls_key_file);
  c.client_ca_file = absl::GetFlag(FLAGS_client_ca_file);
  c.policy_file = absl::GetFlag(FLAGS_policy_file);
  c.audit_log = absl::GetFlag(FLAGS_audit_log);
  c.allow_insecure = absl::GetFlag(FLAGS_allow_insecure);
  c.tls_reload_interval = absl::GetFlag(FLAGS_tls_reload_interval);
  c.policy_reload_interval = absl::GetFlag(FLAGS_policy_reload_interval);
  int64_t max_request = absl::GetFlag(FLAGS_max_request_bytes);
  c.max_request_bytes = max_request < 0 ? 0 : static_cast<size_t>(max_request);
  c.max_concurrent_streams = absl::GetFlag(FLAGS_max_concurrent_streams);
  int64_t max_watchers = absl::GetFlag(FLAGS_max_watchers);
  c.max_watchers = max_watchers < 0 ? 0 : static_cast<size_t>(max_watchers);
  int64_t per_caller = absl::GetFlag(FLAGS_max_watchers_per_caller);
  c.max_watchers_per_caller = per_caller < 0 ? 0 : static_cast<size_t>(per_caller);
  c.watch_heartbeat_interval = absl::GetFlag(FLAGS_watch_heartbeat_interval);
  int64_t cache_entries = absl::GetFlag(FLAGS_validation_cache_entries);
  c.validation_cache_entries = cache_entries < 0 ? 0 : static_cast<size_t>(cache_entries);
  c.gateway_rules_file = absl::GetFlag(FLAGS_gateway_rules_file);
  return c;
}

}  // namespace signet::server
