// Internal base64url helpers shared by the codec.
#ifndef SIGNET_TOKEN_SRC_INTERNAL_BASE64URL_INTERNAL_H_
#define SIGNET_TOKEN_SRC_INTERNAL_BASE64URL_INTERNAL_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace signet::internal {

// True when `encoded` is canonical unpadded base64url: alphabet only, no '=', length not 1 mod 4,
// unused bits of the last character zero. A table lookup per character.
bool IsCanonicalBase64Url(std::string_view encoded);

// The number of bytes a canonical encoding of `encoded_size` characters decodes to.
constexpr size_t Base64UrlDecodedSize(size_t encoded_size) {
  return encoded_size / 4 * 3 + (encoded_size % 4 == 0 ? 0 : encoded_size % 4 - 1);
}

// Checks and decodes in one pass: true when `encoded` is canonical (as IsCanonicalBase64Url says),
// with its Base64UrlDecodedSize(encoded.size()) bytes written to `out`; false otherwise (`out`
// then holds garbage). The token hot path decodes each segment this way, once, into buffers it
// reuses.
bool DecodeCanonicalBase64Url(std::string_view encoded, char* out);

// The same into *out, resized to fit (its capacity is kept, so a reused string stops allocating).
bool DecodeCanonicalBase64Url(std::string_view encoded, std::string* out);

}  // namespace signet::internal

#endif  // SIGNET_TOKEN_SRC_INTERNAL_BASE64URL_INTERNAL_H_
