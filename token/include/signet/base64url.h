// Canonical, unpadded base64url (RFC 4648 section 5, as JWS uses it).
//
// Example:
//   std::string out;
//   if (!signet::Base64UrlDecode("aGk", &out)) return Reason::kMalformed;  // out == "hi"
#ifndef SIGNET_BASE64URL_H_
#define SIGNET_BASE64URL_H_

#include <string>
#include <string_view>

namespace signet {

// Unpadded base64url.
std::string Base64UrlEncode(std::string_view data);

// Decodes canonical unpadded base64url into *out. Refuses padding, whitespace, characters outside
// the base64url alphabet, a length of 1 mod 4, and non-zero unused bits in the last character
// (so every byte string has exactly one accepted encoding). On failure *out is unspecified.
bool Base64UrlDecode(std::string_view encoded, std::string* out);

}  // namespace signet

#endif  // SIGNET_BASE64URL_H_
