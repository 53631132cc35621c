// The PKCS#11 user PIN, read from a file (--pkcs11_pin_file: a Kubernetes Secret, a file only the
// server's user can read), never from a flag value, which `ps` and the process's command line show.
//
// Example:
//   absl::StatusOr<std::string> pin = ReadPinFile("/etc/signet/pkcs11/pin");
//   ...  // hand it to Pkcs11Token::Options, then wipe it (OPENSSL_cleanse)
#ifndef SIGNET_SERVER_KEYS_PKCS11_PIN_FILE_H_
#define SIGNET_SERVER_KEYS_PKCS11_PIN_FILE_H_

#include <string>

#include "absl/status/statusor.h"

namespace signet::server {

// The file's contents without one trailing newline ("\n" or "\r\n"). The file must be a regular
// file no group or other user may read (PermissionDenied naming the mode otherwise), hold 1 to
// 255 bytes, and the messages never hold any of its contents.
absl::StatusOr<std::string> ReadPinFile(const std::string& path);

}  // namespace signet::server

#endif  // SIGNET_SERVER_KEYS_PKCS11_PIN_FILE_H_
