// The TLS context of the HTTP listener with --http_tls: the certificate chain and private key of
// --tls_cert_file and --tls_key_file (the gRPC listener's), re-read every --tls_reload_interval
// as gRPC's own file watcher does, so a renewed certificate (cert-manager rewriting the Secret)
// is served without a restart.
//
// Example:
//   absl::StatusOr<std::unique_ptr<ServerTlsContext>> tls =
//       ServerTlsContext::Load(cert_path, key_path, absl::Seconds(60));
//   std::shared_ptr<ssl_ctx_st> ctx = (*tls)->Current();  // one per new connection
//   SSL* ssl = SSL_new(ctx.get());
#ifndef SIGNET_SERVER_TLS_SERVER_TLS_CONTEXT_H_
#define SIGNET_SERVER_TLS_SERVER_TLS_CONTEXT_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

struct ssl_ctx_st;  // OpenSSL's SSL_CTX, kept out of this header

namespace signet::server {

class ServerTlsContext {
 public:
  // Reads both files now. InvalidArgument naming the file when one cannot be read, holds no PEM
  // certificate or key, or the key does not match the certificate (never quoting key material).
  static absl::StatusOr<std::unique_ptr<ServerTlsContext>> Load(std::string cert_path,
                                                                std::string key_path,
                                                                absl::Duration reload_interval);

  // The context a new connection is to use. Once `reload_interval` has passed since the files
  // were last looked at, they are read again first: when their contents changed, a new context
  // serves from now on (connections already open keep theirs); when the new files do not load
  // (half written, key and certificate not matching), the previous context stays and the failure
  // is logged once per change of the files' contents. Thread-safe.
  std::shared_ptr<ssl_ctx_st> Current();

 private:
  ServerTlsContext(std::string cert_path, std::string key_path, absl::Duration reload_interval);

  const std::string cert_path_;
  const std::string key_path_;
  const absl::Duration reload_interval_;
  absl::Mutex mu_;
  std::shared_ptr<ssl_ctx_st> ctx_ ABSL_GUARDED_BY(mu_);
  // SHA-256 of the two files' contents as last looked at (loaded or refused).
  std::string fingerprint_ ABSL_GUARDED_BY(mu_);
  absl::Time next_check_ ABSL_GUARDED_BY(mu_);
  // New file contents taken up since Load (logged with each reload).
  int64_t reloads_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace signet::server

#endif  // SIGNET_SERVER_TLS_SERVER_TLS_CONTEXT_H_
