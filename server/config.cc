#include "server/config.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace signet::server {

absl::Status ServerConfig::Validate() const {
  auto bad = [](auto&&... parts) { return absl::InvalidArgumentError(absl::StrCat(parts...)); };
  if (listen.empty()) return bad("--listen must not be empty");
  if (issuer.empty()) return bad("--issuer must not be empty");
  if (http_max_connections < 1 || http_max_connections > 4096) {
    return bad("--http_max_connections must be from 1 to 4096, got ", http_max_connections);
  }
  if (http_request_timeout < absl::Milliseconds(100) || http_request_timeout > absl::Minutes(5)) {
    return bad("--http_request_timeout must be from 100ms to 5m, got ",
               absl::FormatDuration(http_request_timeout));
  }
  if (http_tls && http_listen.empty()) return bad("--http_tls needs --http_listen");
  if (http_tls && (tls_cert_file.empty() || tls_key_file.empty())) {
    return bad(
        "--http_tls serves the certificate of --tls_cert_file and --tls_key_file: give both");
  }
  // Port 0 picks a free port for each, so only a fixed port can clash.
  if (!probe_listen.empty() && probe_listen == http_listen && !absl::EndsWith(probe_listen, ":0")) {
    return bad("--probe_listen must differ from --http_listen (", probe_listen, ")");
  }
  if (store != "sqlite" && store != "postgres") {
    return bad("--store must be 'sqlite' or 'postgres', got '", store, "'");
  }
  if (store == "sqlite" && data_dir.empty()) return bad("--data_dir must not be empty");
  if (store == "postgres" && postgres_dsn.empty() && postgres_dsn_file.empty()) {
    return bad("--store=postgres needs --postgres_dsn or --postgres_dsn_file");
  }
  if (store == "postgres" && !postgres_dsn.empty() && !postgres_dsn_file.empty()) {
    return bad("give one of --postgres_dsn and --postgres_dsn_file, not both");
  }
  if (postgres_connect_timeout < absl::Seconds(1)) {
    return bad("--postgres_connect_timeout must be at least 1s");
  }
  if (store == "postgres" && kek_file.empty()) {
    return bad("--store=postgres needs --kek_file: replicas must share one key-encryption key");
  }
  if (key_backend != "local" && key_backend != "pkcs11") {
    return bad("--key_backend must be 'local' or 'pkcs11', got '", key_backend, "'");
  }
  if (key_backend == "pkcs11" &&
      (pkcs11_module.empty() || pkcs11_token_label.empty() || pkcs11_pin_file.empty())) {
    return bad(
        "--key_backend=pkcs11 needs --pkcs11_module, --pkcs11_token_label and "
        "--pkcs11_pin_file");
  }
  if (key_backend == "local" &&
      !(pkcs11_module.empty() && pkcs11_token_label.empty() && pkcs11_pin_file.empty())) {
    return bad(
        "--pkcs11_module, --pkcs11_token_label and --pkcs11_pin_file need "
        "--key_backend=pkcs11");
  }
  if (pkcs11_sessions > 1024) return bad("--pkcs11_sessions must be at most 1024");
  if (max_ttl <= absl::ZeroDuration()) return bad("--max_ttl must be positive");
  if (default_ttl <= absl::ZeroDuration() || default_ttl > max_ttl) {
    return bad("--default_ttl must be positive and at most --max_ttl (",
               absl::FormatDuration(max_ttl), ")");
  }
  if (leeway < absl::ZeroDuration() || leeway > absl::Minutes(5)) {
    return bad("--leeway must be between 0s and 5m");
  }
  if (publish_ahead < absl::ZeroDuration()) return bad("--publish_ahead must not be negative");
  if (rotation_period <= publish_ahead) {
    return bad("--rotation_period must be longer than --publish_ahead");
  }
  if (maintenance_interval <= absl::ZeroDuration()) {
    return bad("--maintenance_interval must be positive");
  }
  if (reload_interval <= absl::ZeroDuration()) return bad("--reload_interval must be positive");
  if (drain_timeout < absl::ZeroDuration()) return bad("--drain_timeout must not be negative");
  if (watch_heartbeat_interval < absl::Milliseconds(10) ||
      watch_heartbeat_interval > absl::Minutes(1)) {
    return bad("--watch_heartbeat_interval must be between 10ms and 1m");
  }
  if (max_token_bytes < 256 || max_token_bytes > 1024 * 1024) {
    return bad("--max_token_bytes must be between 256 and 1048576");
  }
  if (tls_cert_file.empty() != tls_key_file.empty()) {
    return bad("--tls_cert_file and --tls_key_file go together");
  }
  if (!client_ca_file.empty() && tls_cert_file.empty()) {
    return bad("--client_ca_file needs --tls_cert_file and --tls_key_file");
  }
  return absl::OkStatus();
}

}  // namespace signet::server
