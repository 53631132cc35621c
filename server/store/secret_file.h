// Secret files (the KEK, the PKCS#11 PIN): regular files no group or other user may access, read
// whole, their contents in no message.
//
// Example:
//   absl::StatusOr<std::string> pin = ReadSecretFile(path, 256, "PIN file");
//   ...                                       // use it, then
//   OPENSSL_cleanse(pin->data(), pin->size());
#ifndef SIGNET_SERVER_STORE_SECRET_FILE_H_
#define SIGNET_SERVER_STORE_SECRET_FILE_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace signet::server {

// The contents of `path`, which `what` names in errors ("key-encryption key file"): NotFound when
// it does not exist, InvalidArgument when it is not a regular file or holds more than `max_bytes`,
// PermissionDenied naming its mode when group or others have any access, the errno's status when it
// cannot be read. Every buffer that held contents is wiped; the caller wipes the result.
absl::StatusOr<std::string> ReadSecretFile(const std::string& path, size_t max_bytes,
                                           std::string_view what);

}  // namespace signet::server

#endif  // SIGNET_SERVER_STORE_SECRET_FILE_H_
