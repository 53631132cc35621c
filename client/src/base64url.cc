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

bool DecodeCheckedBase64Url(std::string_view encoded, std::string* out) {
  return absl::WebSafeBase64Unescape(absl::string_view(encoded.data(), encoded.size()), out);
}

}  // namespace internal

std::string Base64UrlEncode(std::string_view data) {
  std::string out;
  absl::WebSafeBase64Escape(absl::string_view(data.data(), data.size()), &out);
  return out;
}

bool Base64UrlDecode(std::string_view encoded, std::string* out) {
  return internal::IsCanonicalBase64Url(encoded) && internal::DecodeCheckedBase64Url(encoded, out);
}

}  // namespace signet
