// One immutable view of everything validation and issuing need: the verification key set, the
// revocation sets, the signing key, key metadata and the published JWKS. Writers build a new one
// and swap it in atomically; readers never lock.
#ifndef SIGNET_SERVER_KEYS_STATE_SNAPSHOT_H_
#define SIGNET_SERVER_KEYS_STATE_SNAPSHOT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "server/store/store.h"
#include "signet/key_set.h"
#include "signet/revocation_set.h"
#include "token/signing/signing_key.h"

namespace signet::server {

struct StateSnapshot {
  // Grows by one with every change published.
  uint64_t version = 0;
  // Every known key: PENDING/ACTIVE/RETIRED usable, REVOKED flagged.
  KeySet keys;
  RevocationSet revocations;
  // Metadata of every stored key (sealed_private cleared), sorted by created_at.
  std::vector<KeyRecord> key_records;
  // Signs new tokens. Set whenever the ring has started.
  std::shared_ptr<const SigningKey> active;
  // RFC 7517 JWK Set of the PENDING, ACTIVE and RETIRED public keys.
  std::string jwks_json;
};

// What a change brought, for watchers. `full` says: replace everything (the other fields are
// then empty and the snapshot is the content).
struct StateDelta {
  bool full = false;
  std::vector<KeyRecord> keys;  // Changed or new keys (sealed_private cleared).
  std::vector<std::string> deleted_kids;
  std::vector<RevocationSet::TokenEntry> tokens;
  std::vector<RevocationSet::SubjectEntry> subjects;
};

// Told of every published change, in order, on the writer's thread. Must not block.
class StateListener {
 public:
  virtual ~StateListener() = default;
  virtual void OnStateChanged(const std::shared_ptr<const StateSnapshot>& snapshot,
                              const StateDelta& delta) = 0;
};

}  // namespace signet::server

#endif  // SIGNET_SERVER_KEYS_STATE_SNAPSHOT_H_
