// Keeping secrets out of text that callers choose and signet repeats (the audit trail, the server
// log, key metadata in ListKeys/WatchKeys): a value that looks like a token or private key
// material is replaced as a whole by "[redacted]".
//
// Example:
//   std::string reason = Redacted(request.reason());  // "[redacted]" if it holds a token
#ifndef SIGNET_SERVER_REDACTION_H_
#define SIGNET_SERVER_REDACTION_H_

#include <string>

#include "absl/strings/string_view.h"

namespace signet::server {

// What a redacted value is replaced by.
inline constexpr char kRedacted[] = "[redacted]";

// True for text that looks like a token (a JWS compact serialization: three base64url parts, the
// first a JSON header) anywhere in it, or holds PEM private key material.
bool LooksLikeSecret(absl::string_view value);

// `value`, or kRedacted when it LooksLikeSecret().
std::string Redacted(absl::string_view value);

}  // namespace signet::server

#endif  // SIGNET_SERVER_REDACTION_H_
