// The PKCS#11 key backend (--key_backend=pkcs11): every new key is generated inside the token as
// a sensitive, non-extractable object whose CKA_ID is the kid; the row keeps the public JWK, the
// lifecycle and a reference ("pkcs11:v1") instead of a sealed private key. Signing is a call to
// the token; EdDSA and ES256 tokens are verified in process from the public key, HS256 tokens by
// the token (the secret never leaves it). Rows made by the local backend before the switch keep
// working (they are opened under the KEK) until they are spent, so a fleet can move to a token
// with one rotation.
//
// Example:
//   auto backend = std::make_shared<Pkcs11KeyBackend>(token, &envelope);
//   auto ring = KeyRing::Create(store, envelope, settings, clock, backend);
//
// Crash safety: a key is made under a temporary id and given its kid once its public key is
// known; the row commits after. A crash or an aborted transaction in between leaves an object
// no row names: CollectOrphans destroys such objects once they are older than any transaction
// could be (their label holds the time they were made). Labels also carry the KEK's fingerprint:
// fleets (or test and production) sharing one token never collect each other's keys. No key can
// sign without a row: the ring signs only with keys it opened from committed rows.
#ifndef SIGNET_SERVER_KEYS_PKCS11_PKCS11_KEY_BACKEND_H_
#define SIGNET_SERVER_KEYS_PKCS11_PKCS11_KEY_BACKEND_H_

#include <memory>
#include <string>
#include <vector>

#include "server/keys/key_backend.h"
#include "server/keys/local_key_backend.h"
#include "server/keys/pkcs11/pkcs11_token.h"
#include "server/store/envelope.h"

namespace signet::server {

class Pkcs11KeyBackend final : public KeyBackend {
 public:
  // What sealed_private holds in a row whose key lives in the token.
  static constexpr char kReference[] = "pkcs11:v1";

  // `envelope` (for rows the local backend made) must outlive the backend.
  Pkcs11KeyBackend(std::shared_ptr<Pkcs11Token> token, const Envelope* envelope);

  std::string_view name() const override { return "pkcs11"; }
  absl::StatusOr<KeyRecord> MakeKey(Algorithm alg, absl::Time now) const override;
  // Proves the token's key is the row's: a probe signed by the token verifies under the row's
  // public key (HS256: the token checks its own MAC).
  absl::StatusOr<std::unique_ptr<SigningKey>> OpenKey(const KeyRecord& record) const override;
  bool holds_keys_apart() const override { return true; }
  absl::Status Check() const override { return token_->Check(); }
  // HS256 rows in the token: a key whose MACs the token checks (nothing is asked of it now).
  absl::StatusOr<std::shared_ptr<const VerifyKey>> OpenVerifyKey(
      const KeyRecord& record) const override;
  absl::Status Forget(const KeyRecord& record) const override;
  absl::StatusOr<int> CollectOrphans(const std::vector<KeyRecord>& stored,
                                     absl::Time made_before) const override;

 private:
  const std::shared_ptr<Pkcs11Token> token_;
  const LocalKeyBackend local_;
  // "signet <KEK fingerprint> ": the label of this fleet's objects, before the time they were made.
  const std::string label_prefix_;
};

}  // namespace signet::server

#endif  // SIGNET_SERVER_KEYS_PKCS11_PKCS11_KEY_BACKEND_H_
