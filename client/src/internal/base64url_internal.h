// Internal base64url helpers shared by the codec.
#ifndef SIGNET_CLIENT_SRC_INTERNAL_BASE64URL_INTERNAL_H_
#define SIGNET_CLIENT_SRC_INTERNAL_BASE64URL_INTERNAL_H_

#include <string>
#include <string_view>

namespace signet::internal {

// True when `encoded` is canonical unpadded base64url: alphabet only, no '=', length not 1 mod 4,
// unused bits of the last character zero. A table lookup per character.
bool IsCanonicalBase64Url(std::string_view encoded);

// Decodes `encoded`, which IsCanonicalBase64Url has already accepted (so the hot path checks each
// segment once).
bool DecodeCheckedBase64Url(std::string_view encoded, std::string* out);

}  // namespace signet::internal

#endif  // SIGNET_CLIENT_SRC_INTERNAL_BASE64URL_INTERNAL_H_
