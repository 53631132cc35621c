// The verifying half of a signing key: checks JWS signatures for one kid and one algorithm.
//
// Example:
//   absl::StatusOr<std::shared_ptr<const signet::VerifyKey>> key =
//       signet::VerifyKey::Ed25519("my-kid", public_key_32_bytes);
//   if (key.ok() && (*key)->Verify(header_dot_payload, signature)) { ... }
//
// The key owns the algorithm: a token whose header names another algorithm is refused before the
// signature is looked at. Parsed key objects are built once here and reused by every Verify call.
#ifndef SIGNET_VERIFY_KEY_H_
#define SIGNET_VERIFY_KEY_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "signet/algorithm.h"

namespace signet {

// Immutable and thread-safe: Verify may run on many threads at once.
class VerifyKey {
 public:
  virtual ~VerifyKey() = default;

  // Ed25519 public key: 32 bytes.
  static absl::StatusOr<std::shared_ptr<const VerifyKey>> Ed25519(std::string kid,
                                                                  std::string_view public_key);
  // P-256 public key from its affine coordinates, 32 bytes each (big-endian). The point must be on
  // the curve.
  static absl::StatusOr<std::shared_ptr<const VerifyKey>> P256(std::string kid, std::string_view x,
                                                               std::string_view y);
  // HMAC-SHA256 secret: at least 32 bytes. Only the server holds these.
  static absl::StatusOr<std::shared_ptr<const VerifyKey>> HmacSha256(std::string kid,
                                                                     std::string_view secret);

  const std::string& kid() const { return kid_; }
  Algorithm algorithm() const { return algorithm_; }

  // True when `signature` (raw JWS bytes: 64-byte Ed25519 signature, 64-byte r||s for ES256,
  // 32-byte MAC for HS256) signs `signing_input` (the ASCII "header.payload"). MACs are compared
  // in constant time.
  virtual bool Verify(std::string_view signing_input, std::string_view signature) const = 0;

  // The public key bytes: Ed25519 32 bytes; P-256 x||y (64 bytes). Empty for HMAC keys, which
  // have no public half.
  virtual std::string PublicBytes() const = 0;

 protected:
  VerifyKey(std::string kid, Algorithm algorithm) : kid_(std::move(kid)), algorithm_(algorithm) {}

 private:
  const std::string kid_;
  const Algorithm algorithm_;
};

}  // namespace signet

#endif  // SIGNET_VERIFY_KEY_H_
