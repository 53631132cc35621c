// The key lifecycle as pure decisions over the stored key records:
// PENDING -> ACTIVE -> RETIRED -> deleted; REVOKED from any state (DESIGN.md section 3).
//
// Example:
//   KeyLifecycle lifecycle(settings, factory);
//   store->UpdateKeys([&](const std::vector<KeyRecord>& current) {
//     return lifecycle.Revoke(current, kid, "leaked", now);
//   });
//
// Each decision reads the records as the store holds them inside its write transaction, so the
// same code decides correctly for one process (SQLite) and for a fleet of replicas (PostgreSQL).
#ifndef SIGNET_SERVER_KEYS_KEY_LIFECYCLE_H_
#define SIGNET_SERVER_KEYS_KEY_LIFECYCLE_H_

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/store/store.h"
#include "signet/algorithm.h"

namespace signet::server {

struct LifecycleSettings {
  Algorithm algorithm = Algorithm::kEdDSA;  // Of the keys made from now on.
  absl::Duration publish_ahead = absl::Minutes(10);
  absl::Duration rotation_period = absl::Hours(24);
  absl::Duration max_ttl = absl::Hours(24);
  absl::Duration leeway = absl::Seconds(30);
};

// Makes a fresh PENDING key record (generated and sealed) created at `now`.
using KeyFactory = std::function<absl::StatusOr<KeyRecord>(Algorithm, absl::Time now)>;

// Thread-safe (immutable).
class KeyLifecycle {
 public:
  KeyLifecycle(LifecycleSettings settings, KeyFactory factory)
      : settings_(settings), factory_(std::move(factory)) {}

  // Start-up and the maintenance timer: makes sure there is one ACTIVE key and one PENDING key of
  // the configured algorithm (the very first key of a new fleet becomes ACTIVE at once, since no
  // token or validator can exist yet), rotates when the ACTIVE key is older than rotation_period
  // and the PENDING key has been published for publish_ahead, and deletes RETIRED and REVOKED keys
  // whose last token has expired. No changes when nothing is due.
  absl::StatusOr<KeyChanges> Maintain(const std::vector<KeyRecord>& current, absl::Time now) const;

  // RotateKey: PENDING -> ACTIVE, ACTIVE -> RETIRED, a new PENDING. FailedPrecondition when the
  // PENDING key is younger than publish_ahead and not `immediate`.
  absl::StatusOr<KeyChanges> Rotate(const std::vector<KeyRecord>& current, absl::Time now,
                                    bool immediate) const;

  // RevokeKey: NotFound for an unknown kid; no changes for a key already revoked. Revoking the
  // ACTIVE key promotes the PENDING key (already published) and makes a new PENDING key; revoking
  // the PENDING key makes a new one. A key the factory cannot make now (Unavailable: a PKCS#11
  // token out of reach) does not hold the revocation back: it is left for Maintain to make.
  absl::StatusOr<KeyChanges> Revoke(const std::vector<KeyRecord>& current, std::string_view kid,
                                    std::string_view reason, absl::Time now) const;

  // True when Maintain would change something; cheap, for deciding whether to open a transaction.
  bool MaintenanceDue(const std::vector<KeyRecord>& current, absl::Time now) const;

  // When a RETIRED key retired at `retired_at` has verified its last token.
  absl::Time VerifiesUntil(absl::Time retired_at) const {
    return retired_at + settings_.max_ttl + settings_.leeway;
  }

  const LifecycleSettings& settings() const { return settings_; }

 private:
  // A new key of the configured algorithm, ACTIVE from `now`.
  absl::StatusOr<KeyRecord> FreshActiveKey(absl::Time now) const;

  LifecycleSettings settings_;
  KeyFactory factory_;
};

}  // namespace signet::server

#endif  // SIGNET_SERVER_KEYS_KEY_LIFECYCLE_H_
