#include "signet/base64url.h"

#include <array>
#include <cstdint>

#include "absl/strings/escaping.h"
#include "internal/base64url_internal.h"

namespace signet {
namespace internal {
namespace {

constexpr uint8_t kInvalid = 0xFF;

constexpr std::array<uint8_t, 256> MakeDecodeTable() {
  std::array<uint8_t, 256> table{};
  for (auto& v : table) v = kInvalid;
  constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (uint8_t i = 0; i < 64; ++i) table[static_cast<uint8_t>(kAlphabet[i])] = i;
  return table;
}

constexpr std::array<uint8_t, 256> kDecodeTable = MakeDecodeTable();

}  // namespace

bool IsCanonicalBase64Url(std::string_view encoded) {
  const size_t tail = encoded.size() % 4;
  if (tail == 1) return false;
  // OR-ing the table values keeps the loop branch-free; any invalid character sets the top bit.
  uint8_t seen = 0;
  for (unsigned char c : encoded) seen |= kDecodeTable[c];
  if (seen & 0x80) return false;
  if (tail == 0) return true;
  // The last character of a 2-character tail carries 4 unused bits, of a 3-character tail 2.
  const uint8_t last = kDecodeTable[static_cast<unsigned char>(encoded.back())];
  const uint8_t unused_mask = tail == 2 ? 0x0F : 0x03;
  return (last & unused_mask) == 0;
}

bool DecodeCanonicalBase64Url(std::string_view encoded, char* out) {
  const size_t size = encoded.size();
  const size_t tail = size % 4;
  if (tail == 1) return false;
  const unsigned char* in = reinterpret_cast<const unsigned char*>(encoded.data());
  const unsigned char* const full_end = in + (size - tail);
  // Invalid characters map to 0xFF: OR-ing every value and testing the top bit once at the end
  // keeps the loop free of branches on the data.
  uint32_t seen = 0;
  for (; in != full_end; in += 4, out += 3) {
    const uint32_t a = kDecodeTable[in[0]], b = kDecodeTable[in[1]], c = kDecodeTable[in[2]],
                   d = kDecodeTable[in[3]];
    seen |= a | b | c | d;
    const uint32_t bits = (a << 18) | (b << 12) | (c << 6) | d;
    out[0] = static_cast<char>(bits >> 16);
    out[1] = static_cast<char>(bits >> 8);
    out[2] = static_cast<char>(bits);
  }
  if (tail == 2) {
    const uint32_t a = kDecodeTable[in[0]], b = kDecodeTable[in[1]];
    seen |= a | b;
    out[0] = static_cast<char>((a << 2) | (b >> 4));
  } else if (tail == 3) {
    const uint32_t a = kDecodeTable[in[0]], b = kDecodeTable[in[1]], c = kDecodeTable[in[2]];
    seen |= a | b | c;
    const uint32_t bits = (a << 10) | (b << 4) | (c >> 2);
    out[0] = static_cast<char>(bits >> 8);
    out[1] = static_cast<char>(bits);
  }
  if (seen & 0x80) return false;
  // The last character of a 2-character tail carries 4 unused bits, of a 3-character tail 2: they
  // must be zero, so that every byte string has exactly one accepted encoding.
  if (tail == 2) return (kDecodeTable[in[1]] & 0x0F) == 0;
  if (tail == 3) return (kDecodeTable[in[2]] & 0x03) == 0;
  return true;
}

bool DecodeCanonicalBase64Url(std::string_view encoded, std::string* out) {
  if (encoded.size() % 4 == 1) return false;
  out->resize(Base64UrlDecodedSize(encoded.size()));
  return DecodeCanonicalBase64Url(encoded, out->data());
}

}  // namespace internal

std::string Base64UrlEncode(std::string_view data) {
  std::string out;
  absl::WebSafeBase64Escape(absl::string_view(data.data(), data.size()), &out);
  return out;
}

bool Base64UrlDecode(std::string_view encoded, std::string* out) {
  return internal::DecodeCanonicalBase64Url(encoded, out);
}

}  // namespace signet
