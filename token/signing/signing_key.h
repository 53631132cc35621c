// A private signing key. Lives only in server/: the client library cannot mint tokens.
//
// Example:
//   absl::StatusOr<std::unique_ptr<signet::server::SigningKey>> key =
//       signet::server::SigningKey::Generate(signet::Algorithm::kEdDSA);
//   absl::StatusOr<std::string> sig = (*key)->Sign("header.payload");
//   // Persist: (*key)->PrivateBytes() goes into the store sealed by an Envelope, and comes back
//   // with SigningKey::FromPrivateBytes(alg, kid, bytes).
#ifndef SIGNET_TOKEN_SIGNING_SIGNING_KEY_H_
#define SIGNET_TOKEN_SIGNING_SIGNING_KEY_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "signet/algorithm.h"
#include "signet/verify_key.h"

namespace signet::server {

// Immutable and thread-safe: Sign may run on many threads at once.
class SigningKey {
 public:
  virtual ~SigningKey() = default;

  // A fresh key from the OS's randomness. kid: RFC 7638 thumbprint for EdDSA/ES256, 128 random
  // bits (base64url) for HS256.
  static absl::StatusOr<std::unique_ptr<SigningKey>> Generate(Algorithm alg);

  // Rebuilds a key from PrivateBytes(): Ed25519 32-byte seed, P-256 32-byte scalar, HMAC 32-byte
  // secret. For public keys the kid must equal the thumbprint of the derived public key
  // (InvalidArgument otherwise: the bytes do not belong to that kid).
  static absl::StatusOr<std::unique_ptr<SigningKey>> FromPrivateBytes(Algorithm alg,
                                                                      std::string_view kid,
                                                                      std::string_view bytes);

  const std::string& kid() const { return verify_key_->kid(); }
  Algorithm algorithm() const { return verify_key_->algorithm(); }

  // The raw JWS signature of signing_input (64 bytes for EdDSA and ES256 r||s, 32 for HS256).
  virtual absl::StatusOr<std::string> Sign(std::string_view signing_input) const = 0;

  // The verifying half (for HMAC keys: the same secret, server-side only).
  const std::shared_ptr<const VerifyKey>& verify_key() const { return verify_key_; }

  // The private material, for sealing into the store. Handle as a secret: never log it.
  virtual std::string PrivateBytes() const = 0;

 protected:
  explicit SigningKey(std::shared_ptr<const VerifyKey> verify_key)
      : verify_key_(std::move(verify_key)) {}

 private:
  const std::shared_ptr<const VerifyKey> verify_key_;
};

}  // namespace signet::server

#endif  // SIGNET_TOKEN_SIGNING_SIGNING_KEY_H_
