// Durable state of a signet fleet: keys (with sealed private material), token revocations and
// subject revocations. Implementations: SQLite (one machine), PostgreSQL (replicas), memory (unit
// tests only).
//
// Example:
//   absl::StatusOr<std::unique_ptr<signet::server::Store>> store =
//       signet::server::OpenSqliteStore("./signet-data/signet.db");
//   absl::StatusOr<std::vector<KeyRecord>> keys = (*store)->UpdateKeys(
//       [&](const std::vector<KeyRecord>& current) -> absl::StatusOr<KeyChanges> {
//         return DecideRotation(current, now);  // pure: the store serializes the writers
//       });
//
// Every method is durable when it returns OK (SQLite: WAL + synchronous=FULL; PostgreSQL: commit).
// Errors: UNAVAILABLE when the database cannot be reached, is locked, or the disk is full;
// DATA_LOSS when it is corrupt; FAILED_PRECONDITION for a schema newer than this binary knows.
#ifndef SIGNET_SERVER_STORE_STORE_H_
#define SIGNET_SERVER_STORE_STORE_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "signet/algorithm.h"

namespace signet::server {

// Values match signet.v1.KeyState.
enum class KeyState { kPending = 1, kActive = 2, kRetired = 3, kRevoked = 4 };

struct KeyRecord {
  std::string kid;
  Algorithm algorithm = Algorithm::kEdDSA;
  KeyState state = KeyState::kPending;
  absl::Time created_at = absl::InfinitePast();
  // absl::InfinitePast() means "never" for the three below.
  absl::Time activated_at = absl::InfinitePast();
  absl::Time retired_at = absl::InfinitePast();
  absl::Time revoked_at = absl::InfinitePast();
  std::string revoke_reason;
  // The public JWK JSON object; empty for HMAC keys.
  std::string public_jwk;
  // Envelope-sealed private bytes (associated data: the kid). Never logged.
  std::string sealed_private;
  // HMAC-SHA256 over every field above, under a key derived from the KEK (see
  // KeyRecordAuthenticator): a database writer without the KEK cannot add or alter a key. Empty
  // in rows written before schema version 2.
  std::string mac;

  friend bool operator==(const KeyRecord& a, const KeyRecord& b);
};

struct TokenRevocationRecord {
  std::string token_id;
  absl::Time expires_at;
};

struct SubjectRevocationRecord {
  std::string subject;
  absl::Time not_before;
  absl::Time expires_at;
};

struct StoreSnapshot {
  std::vector<KeyRecord> keys;
  std::vector<TokenRevocationRecord> token_revocations;
  std::vector<SubjectRevocationRecord> subject_revocations;
};

// What a key transition writes: records inserted or replaced (by kid), and kids deleted.
struct KeyChanges {
  std::vector<KeyRecord> upserts;
  std::vector<std::string> deletes;
};

// A change another process made (PostgreSQL NOTIFY). kKeys: reload the keys. A revocation carries
// its record so it can be applied without a reload. kUnknown: reload everything.
struct StoreChange {
  enum class Kind { kKeys, kTokenRevocation, kSubjectRevocation, kUnknown };
  Kind kind = Kind::kUnknown;
  std::optional<TokenRevocationRecord> token;
  std::optional<SubjectRevocationRecord> subject;
};

// Thread-safe: any method may be called from any thread.
class Store {
 public:
  using KeyDecision =
      std::function<absl::StatusOr<KeyChanges>(const std::vector<KeyRecord>& current)>;

  virtual ~Store() = default;

  // Everything, as stored now.
  virtual absl::StatusOr<StoreSnapshot> Load() = 0;
  // The key records only.
  virtual absl::StatusOr<std::vector<KeyRecord>> LoadKeys() = 0;

  // Runs `decide` inside one write transaction that excludes every other UpdateKeys of every
  // process sharing the store (SQLite: BEGIN IMMEDIATE; PostgreSQL: transaction-level advisory
  // lock), with the key records as they stand; writes what it returns and commits. When `decide`
  // fails, nothing is written and its status is returned. Returns every key record after commit.
  virtual absl::StatusOr<std::vector<KeyRecord>> UpdateKeys(const KeyDecision& decide) = 0;

  // The schema version the store is at (after the migrations applied when it was opened).
  virtual int schema_version() const = 0;

  // Upsert; an existing entry keeps the later expires_at.
  virtual absl::Status AddTokenRevocation(const TokenRevocationRecord& record) = 0;
  // Upsert; an existing entry keeps the later not_before and the later expires_at.
  virtual absl::Status AddSubjectRevocation(const SubjectRevocationRecord& record) = 0;
  // Deletes revocations whose expires_at <= now.
  virtual absl::Status PruneRevocations(absl::Time now) = 0;

  // Whether other processes (replicas) use this store too, and may be in a transaction now.
  virtual bool shared() const { return false; }

  // `listener` is called (on a store thread) for changes made by other processes. Stores shared by
  // one process only never call it. Call before any other thread uses the store.
  virtual void SetChangeListener(std::function<void(const StoreChange&)> listener) {
    (void)listener;
  }
};

// SQLite in WAL mode at `path` (created with mode 0600, its folder 0700, when missing); applies
// schema migrations by version number.
absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path);

// For unit tests: nothing survives the process.
std::unique_ptr<Store> NewMemoryStore();

}  // namespace signet::server

#endif  // SIGNET_SERVER_STORE_STORE_H_
