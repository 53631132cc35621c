// The server's keys and revocations: durable in a Store, served from an immutable StateSnapshot.
//
// Example:
//   absl::StatusOr<std::unique_ptr<KeyRing>> ring =
//       KeyRing::Create(store.get(), *envelope, lifecycle, &Clock::Real());
//   if (absl::Status s = (*ring)->Start(); !s.ok()) return s;       // load, then make keys due
//   const StateSnapshot& now = (*ring)->state().Read();  // lock-free, any thread
//   absl::StatusOr<KeyRing::RevokeKeyResult> r = (*ring)->RevokeKey(kid, "leaked");
//
// Every change is written to the store first and published (new snapshot, listeners told) only
// once the store has acknowledged it, so nothing a caller was told is done can be lost.
// Thread-safe: changes are serialized by a writer mutex; state().Read() takes no lock.
//
// Every key row is authenticated (KeyRecordAuthenticator) before it is used: a row written or
// changed without the KEK is refused (error log "key_record_refused" naming the kid and why, metric
// signet_key_records_refused_total), never loaded nor published; the other keys keep working.
// Rows written before schema version 2 (no tag) are accepted only when their sealed private key
// opens under the KEK and derives exactly the row's kid and public key; the next key write
// re-seals them and adds their tag.
#ifndef SIGNET_SERVER_KEYS_KEY_RING_H_
#define SIGNET_SERVER_KEYS_KEY_RING_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/keys/key_backend.h"
#include "server/keys/key_lifecycle.h"
#include "server/keys/state_snapshot.h"
#include "server/store/envelope.h"
#include "server/store/key_record_authenticator.h"
#include "server/store/store.h"
#include "signet/clock.h"
#include "signet/published.h"

namespace signet::server {

class KeyRing {
 public:
  struct RevokeKeyResult {
    KeyRecord key;  // As it now stands.
    std::string active_kid;
  };
  struct RotateResult {
    KeyRecord active;
    KeyRecord pending;
    KeyRecord retired;
  };

  // `store`, `clock` must outlive the ring.
  // `backend` makes and opens the keys; null: in process, sealed under `envelope`
  // (LocalKeyBackend). The envelope also derives the rows' authentication key either way.
  static std::unique_ptr<KeyRing> Create(Store* store, Envelope envelope,
                                         LifecycleSettings settings, const Clock* clock,
                                         std::shared_ptr<const KeyBackend> backend = nullptr);
  ~KeyRing();

  // Loads the stored state, makes the keys that are due (the first ones on a new store), and
  // subscribes to the store's changes. Fails (e.g. a wrong KEK, an unreachable store) without
  // publishing anything.
  absl::Status Start();

  // The state now. Never null after Start(); null before. Takes libstdc++'s shared_ptr lock: hot
  // paths read state().Read() instead.
  std::shared_ptr<const StateSnapshot> Current() const { return state_.Load(); }
  // The published state, for lock-free reads (internal::Published::Read). Read() only after
  // Start() succeeded.
  const internal::Published<StateSnapshot>& state() const { return state_; }

  absl::StatusOr<RotateResult> Rotate(bool immediate);
  absl::StatusOr<RevokeKeyResult> RevokeKey(std::string_view kid, std::string_view reason);
  // Refuses the token id until expires_at.
  absl::Status RevokeToken(std::string_view token_id, absl::Time expires_at);
  // Refuses the subject's tokens issued before not_before, until expires_at.
  absl::Status RevokeSubject(std::string_view subject, absl::Time not_before,
                             absl::Time expires_at);

  // Whether the key backend can sign now (readiness): Unavailable with the reason when a token
  // cannot be reached.
  absl::Status CheckBackend() const { return backend_->Check(); }
  // The maintenance tick: rotation when due, spent keys deleted, expired revocations pruned.
  absl::Status Maintain();
  // Replaces the whole state with the store's (the safety net for missed notifications).
  absl::Status Reload();

  // Listeners are told of every change after it is durable, in order. Add before Start().
  void AddListener(StateListener* listener);

  const KeyLifecycle& lifecycle() const { return lifecycle_; }

 private:
  // Destroys the backend's keys that no stored row names, made before `made_before`; failures are
  // logged (the next call retries).
  void CollectOrphans(absl::Time made_before);
  KeyRing(Store* store, Envelope envelope, LifecycleSettings settings, const Clock* clock,
          std::shared_ptr<const KeyBackend> backend);

  // The stored rows split into those that may be used (legacy rows upgraded in memory: re-sealed
  // and tagged) and the legacy rows among them to write back upgraded.
  struct Screened {
    std::vector<KeyRecord> trusted;
    std::vector<KeyRecord> upgrades;
  };
  // Authenticates every row; when `report`, each refused row is logged and counted.
  Screened Screen(const std::vector<KeyRecord>& records, bool report) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(writer_mu_);
  // The row as it may be used, or why it is refused. *upgraded tells a legacy row was re-sealed.
  absl::StatusOr<KeyRecord> Authenticate(const KeyRecord& record, bool* upgraded,
                                         int* refusal) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(writer_mu_);
  // Screens `records` and publishes the trusted ones. Fails, publishing nothing, when there are
  // rows and none of them can be trusted (a wrong KEK, or a key table rewritten without it).
  absl::Status PublishStored(const std::vector<KeyRecord>& records, bool full_reload,
                             RevocationSet revocations) ABSL_EXCLUSIVE_LOCKS_REQUIRED(writer_mu_);
  absl::Status CheckSomeTrusted(const std::vector<KeyRecord>& records,
                                const Screened& screened) const;

  // `decide` over the trusted rows of `current`; tags every row it writes and adds the legacy
  // rows to write back upgraded. Refused rows are left as they are, for the operator to inspect.
  // Runs inside Store::UpdateKeys, called by ApplyKeyDecision with writer_mu_ held (the analysis
  // cannot follow the lock through the store's callback).
  absl::StatusOr<KeyChanges> DecideOnTrusted(const Store::KeyDecision& decide,
                                             const std::vector<KeyRecord>& current)
      ABSL_NO_THREAD_SAFETY_ANALYSIS;
  // Runs one lifecycle decision in a store transaction and publishes the result.
  absl::StatusOr<std::vector<KeyRecord>> ApplyKeyDecision(const Store::KeyDecision& decide);
  // The keys of one trusted row, reused from the last publication when it had them. `verify` null:
  // the row's private key does not open or match (reported), so the row is left out.
  struct OpenedKey {
    std::shared_ptr<const VerifyKey> verify;
    // The private half's backend could not be reached: `verify` only, nothing signs with it yet.
    bool signer_unavailable = false;
    std::shared_ptr<const SigningKey> signing;  // ACTIVE and HS256 keys only
  };
  absl::StatusOr<OpenedKey> OpenKey(const KeyRecord& record) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(writer_mu_);
  // Rebuilds keys from trusted `records` with `revocations` and publishes.
  absl::Status PublishKeys(const std::vector<KeyRecord>& records, bool full_reload,
                           RevocationSet revocations) ABSL_EXCLUSIVE_LOCKS_REQUIRED(writer_mu_);
  void Publish(std::shared_ptr<StateSnapshot> next, const StateDelta& delta)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(writer_mu_);
  // A new snapshot with these revocations added.
  void PublishRevocations(std::vector<RevocationSet::TokenEntry> tokens,
                          std::vector<RevocationSet::SubjectEntry> subjects)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(writer_mu_);
  void OnStoreChange(const StoreChange& change);
  absl::Status ReloadKeys();

  Store* const store_;
  const Envelope envelope_;
  // After envelope_, which the default backend uses.
  const std::shared_ptr<const KeyBackend> backend_;
  const KeyLifecycle lifecycle_;
  const Clock* const clock_;
  // Set by Start(), before any other thread uses the ring.
  std::optional<KeyRecordAuthenticator> authenticator_;

  absl::Mutex writer_mu_;
  // Kids this process has seen revoked: a row that later says otherwise is a rollback of the
  // database and is refused (a restarted process no longer remembers; see SECURITY.md).
  absl::flat_hash_set<std::string> revoked_kids_ ABSL_GUARDED_BY(writer_mu_);
  // Parsed keys by kid, so a change re-opens only the keys it brings.
  absl::flat_hash_map<std::string, std::shared_ptr<const SigningKey>> signing_keys_
      ABSL_GUARDED_BY(writer_mu_);
  absl::flat_hash_map<std::string, std::shared_ptr<const VerifyKey>> verify_keys_
      ABSL_GUARDED_BY(writer_mu_);
  std::vector<StateListener*> listeners_ ABSL_GUARDED_BY(writer_mu_);
  // Set when a change the store committed could not be published; Maintain() reloads.
  std::atomic<bool> needs_reload_{false};
  // Set when the last publication left out a signer its backend could not open (a token out of
  // reach); Maintain() reloads until they open.
  std::atomic<bool> signers_missing_{false};
  // Published under writer_mu_.
  internal::Published<StateSnapshot> state_;
};

// A key's metadata without its sealed private material and authentication tag.
KeyRecord PublicMetadata(KeyRecord record);

}  // namespace signet::server

#endif  // SIGNET_SERVER_KEYS_KEY_RING_H_
