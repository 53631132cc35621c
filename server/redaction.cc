#include "server/redaction.h"

namespace signet::server {
namespace {

bool IsBase64UrlChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

}  // namespace

bool LooksLikeSecret(absl::string_view value) {
  if (value.find("PRIVATE KEY") != absl::string_view::npos) return true;
  // A JWS header is a JSON object, so its base64url starts with "eyJ" ('{"'). Look for that
  // anywhere, followed by base64url.base64url.base64url.
  for (size_t at = value.find("eyJ"); at != absl::string_view::npos;
       at = value.find("eyJ", at + 1)) {
    size_t i = at;
    int dots = 0;
    size_t part = 0;
    bool ok = true;
    for (; i < value.size() && (IsBase64UrlChar(value[i]) || value[i] == '.'); ++i) {
      if (value[i] == '.') {
        if (part == 0) {
          ok = false;
          break;
        }
        ++dots;
        part = 0;
      } else {
        ++part;
      }
    }
    if (ok && dots >= 2 && part > 0) return true;
  }
  return false;
}

std::string Redacted(absl::string_view value) {
  return LooksLikeSecret(value) ? std::string(kRedacted) : std::string(value);
}

}  // namespace signet::server
