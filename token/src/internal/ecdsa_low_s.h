// ECDSA P-256 signature malleability: (r, s) and (r, n - s) both verify, so a token's signature
// can be rewritten without the key into a different, equally valid token string. signet signs
// low-s only (s <= n/2) and refuses high-s on verification, so every signed message has exactly
// one valid signature.
//
// Example:
//   if (internal::IsHighS(signature + 32)) return false;  // JWS r||s: s is the second half.
#ifndef SIGNET_TOKEN_SRC_INTERNAL_ECDSA_LOW_S_H_
#define SIGNET_TOKEN_SRC_INTERNAL_ECDSA_LOW_S_H_

#include <cstddef>
#include <cstring>

namespace signet::internal {

inline constexpr size_t kP256ScalarSize = 32;

// The order n of the P-256 group (SEC 2, secp256r1), big-endian.
inline constexpr unsigned char kP256Order[kP256ScalarSize] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17, 0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x51};

// floor(n / 2), big-endian.
inline constexpr unsigned char kP256HalfOrder[kP256ScalarSize] = {
    0x7F, 0xFF, 0xFF, 0xFF, 0x80, 0x00, 0x00, 0x00, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xDE, 0x73, 0x7D, 0x56, 0xD3, 0x8B, 0xCF, 0x42, 0x79, 0xDC, 0xE5, 0x61, 0x7E, 0x31, 0x92, 0xA8};

// True when the 32-byte big-endian scalar `s` is greater than n/2. Equal-length big-endian
// numbers compare like their bytes, so this is one memcmp: no BIGNUM on the verification path.
inline bool IsHighS(const unsigned char* s) {
  return std::memcmp(s, kP256HalfOrder, kP256ScalarSize) > 0;
}

}  // namespace signet::internal

#endif  // SIGNET_TOKEN_SRC_INTERNAL_ECDSA_LOW_S_H_
