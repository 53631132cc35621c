// Authenticates key records at rest: an HMAC-SHA256 tag over every field of a KeyRecord, under a
// key derived from the KEK, so that whoever can write the database but does not hold the KEK can
// neither add a key nor change an existing key's algorithm, public key, kid, lifecycle state or
// times, revoke reason or sealed private key.
//
// Example:
//   absl::StatusOr<KeyRecordAuthenticator> auth = KeyRecordAuthenticator::Create(envelope);
//   record.sealed_private = *envelope.Seal(private_bytes, SealedKeyAssociatedData(record.kid));
//   record.mac = *auth->Tag(record);                 // before writing the record
//   absl::Status s = auth->Verify(loaded_record);    // after reading it back
//
// What the tag covers, in this order, as one byte string (the encoding is unambiguous: every
// variable-length field is preceded by its length, every number has a fixed width):
//   "signet key record v1"  (domain label, 20 bytes)
//   u64 length + kid
//   u64 algorithm (the signet.v1 / store number)
//   u64 length + public_jwk
//   u64 state (the signet.v1.KeyState number)
//   i64 created_at, activated_at, retired_at, revoked_at (microseconds since the Unix epoch as
//       the stores keep them; "never" is the int64 minimum)
//   u64 length + revoke_reason
//   u64 length + sealed_private
// with every integer big-endian. The tag itself (KeyRecord::mac) is not covered. The MAC key is
// HKDF-SHA256(KEK, info = "signet key-record mac v1"): distinct from the KEK that seals private
// keys, and the same on every replica sharing the KEK.
#ifndef SIGNET_SERVER_STORE_KEY_RECORD_AUTHENTICATOR_H_
#define SIGNET_SERVER_STORE_KEY_RECORD_AUTHENTICATOR_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/store/envelope.h"
#include "server/store/guarded_secret.h"
#include "server/store/store.h"

namespace signet::server {

// The associated data private keys are sealed under from schema version 2 on. It differs from
// the kid alone (what earlier versions used), so a row whose tag was stripped to pass it off as a
// legacy row cannot be opened as one (see KeyRing's legacy upgrade).
std::string SealedKeyAssociatedData(std::string_view kid);

// Immutable and thread-safe. The MAC key lives in guarded memory (GuardedSecret).
class KeyRecordAuthenticator {
 public:
  static absl::StatusOr<KeyRecordAuthenticator> Create(const Envelope& envelope);

  // The 32-byte tag of `record` (its `mac` field is ignored).
  absl::StatusOr<std::string> Tag(const KeyRecord& record) const;

  // OK when record.mac is the tag of the record. FailedPrecondition when the record has no tag
  // (a row written before schema version 2); PermissionDenied when the tag does not match (the
  // row was written or changed without the KEK, or under another KEK).
  absl::Status Verify(const KeyRecord& record) const;

 private:
  explicit KeyRecordAuthenticator(GuardedSecret key) : key_(std::move(key)) {}
  GuardedSecret key_;
};

}  // namespace signet::server

#endif  // SIGNET_SERVER_STORE_KEY_RECORD_AUTHENTICATOR_H_
