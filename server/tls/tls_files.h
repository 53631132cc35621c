// Start-up checks of the TLS files before gRPC watches them: gRPC's file watcher only logs a bad
// file and serves nothing, so a wrong path, a key that does not match its certificate or a key
// file others can read is refused here with a message naming the file.
//
// Example:
//   if (absl::Status s = CheckTlsFiles(cert_path, key_path, client_ca_path); !s.ok()) return s;
#ifndef SIGNET_SERVER_TLS_TLS_FILES_H_
#define SIGNET_SERVER_TLS_TLS_FILES_H_

#include <string>

#include "absl/status/status.h"

namespace signet::server {

// InvalidArgument when: a file cannot be read; `cert_path` holds no PEM certificate; `key_path`
// holds no PEM private key, or one that does not match the first certificate; the key file is
// readable or writable by others (saying to chmod); `client_ca_path` (optional,
// "" for none) holds no PEM certificate. Messages never include key material.
absl::Status CheckTlsFiles(const std::string& cert_path, const std::string& key_path,
                           const std::string& client_ca_path);

}  // namespace signet::server

#endif  // SIGNET_SERVER_TLS_TLS_FILES_H_
