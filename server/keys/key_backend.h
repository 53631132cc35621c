// Where signing keys are made and where their private halves live: in process, sealed under the
// KEK into the key row (LocalKeyBackend, the default), or inside a PKCS#11 token that never lets
// them out (Pkcs11KeyBackend, --key_backend=pkcs11). The key lifecycle, the store, the rows'
// authentication tags and publication are the same for both.
//
// Example:
//   absl::StatusOr<KeyRecord> row = backend.MakeKey(Algorithm::kEdDSA, now);  // PENDING
//   ... the row is committed, authenticated, published ...
//   absl::StatusOr<std::unique_ptr<SigningKey>> key = backend.OpenKey(row);    // ACTIVE: signs
#ifndef SIGNET_SERVER_KEYS_KEY_BACKEND_H_
#define SIGNET_SERVER_KEYS_KEY_BACKEND_H_

#include <memory>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/store/store.h"
#include "signet/algorithm.h"
#include "signet/verify_key.h"
#include "token/signing/signing_key.h"

namespace signet::server {

// Thread-safe.
class KeyBackend {
 public:
  virtual ~KeyBackend() = default;

  // "local" or "pkcs11", for logs and metrics.
  virtual std::string_view name() const = 0;

  // Whether private halves live apart from the rows (so that Forget and CollectOrphans matter).
  virtual bool holds_keys_apart() const = 0;

  // A new key's row, PENDING at `now`: kid, algorithm, public JWK (none for HS256) and
  // sealed_private, which holds the sealed private key or the backend's reference to it. Called
  // inside the store's write transaction: when that transaction does not commit, the key may
  // remain in the backend without a row (see CollectOrphans).
  virtual absl::StatusOr<KeyRecord> MakeKey(Algorithm alg, absl::Time now) const = 0;

  // The private half of an authenticated row, proven to belong to its kid and public key:
  // DataLoss or InvalidArgument when it does not open or match, FailedPrecondition when the
  // backend no longer holds it, Unavailable when the backend cannot be reached.
  virtual absl::StatusOr<std::unique_ptr<SigningKey>> OpenKey(const KeyRecord& record) const = 0;

  // A key that verifies the row's tokens without contacting the backend's store of private keys
  // at open time (for when OpenKey found it unreachable): the row's public key; HS256 rows have
  // none unless the backend checks MACs itself (a token). FailedPrecondition otherwise.
  virtual absl::StatusOr<std::shared_ptr<const VerifyKey>> OpenVerifyKey(
      const KeyRecord& record) const;

  // Whether the backend can sign now (readiness): OK for the local backend; for a token, whether
  // it answers. Unavailable with the reason otherwise.
  virtual absl::Status Check() const = 0;

  // After the store deleted `record` (a spent key): destroys its private half where it lives
  // apart from the row. Idempotent.
  virtual absl::Status Forget(const KeyRecord& record) const = 0;

  // Destroys the private halves that no row of `stored` refers to and that were made before
  // `made_before` (a crash, or a transaction that did not commit, between MakeKey and the row).
  // How many were destroyed.
  virtual absl::StatusOr<int> CollectOrphans(const std::vector<KeyRecord>& stored,
                                             absl::Time made_before) const = 0;
};

// A verify key that checks signatures in its backend (HS256 MACs inside a token) marks the
// verifying thread when the backend cannot answer, so that the caller can tell "the MAC is wrong"
// from "the MAC could not be checked". RingVerifier clears the mark before each verification and
// reads it after.
void MarkBackendUnavailableOnThisThread();
// Whether the mark was set since the last call, clearing it.
bool TakeBackendUnavailableOnThisThread();

// The row's public half against its kid: HS256 rows carry no public key; other rows carry a
// public JWK naming the row's kid and algorithm, whose RFC 7638 thumbprint is the kid. When
// `derived` (the public half of the opened private key) is given, the JWK must be exactly it.
absl::Status CheckPublicKey(const KeyRecord& record, const VerifyKey* derived);

}  // namespace signet::server

#endif  // SIGNET_SERVER_KEYS_KEY_BACKEND_H_
