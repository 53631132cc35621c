// Follows signet-server's WatchKeys stream into an immutable key state (usable keys, revoked keys,
// token and subject revocations) that LocalValidator reads without a lock.
//
// Example:
//   KeyStateFollower follower(options);           // opens the stream on its own thread
//   absl::Status s = follower.AwaitFirstState();  // up to options.initial_timeout
//   if (follower.Stale(now)) FailClosed();
//   const KeyState& state = follower.Read();      // any thread, no lock
//
// The stream's first message is the whole state; every later one is applied as it arrives. A
// broken stream is reopened with exponential backoff and jitter, and a stream from which nothing
// (no change, no heartbeat) has come for stale_after is torn down and reopened by a watchdog.
// Writers (the stream thread and RefetchFor) are serialized; readers take no lock.
#ifndef SIGNET_CLIENT_INTERNAL_KEY_STATE_FOLLOWER_H_
#define SIGNET_CLIENT_INTERNAL_KEY_STATE_FOLLOWER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "signet/client.h"
#include "signet/key_set.h"
#include "signet/local_validator.h"
#include "signet/published.h"
#include "signet/revocation_set.h"
#include "signet/verify_key.h"

namespace signet::internal {

// One state of the server's keys and revocations as this client knows it.
struct KeyState {
  // What verification reads, built from `usable` and `revoked` by BuildKeySet.
  KeySet keys;
  RevocationSet revocations;
  // The usable public keys (the server's JWK Set, plus keys a refetch added).
  std::vector<std::shared_ptr<const VerifyKey>> usable;
  // Revoked kids, with their public key when the server sent it (null otherwise).
  absl::flat_hash_map<std::string, std::shared_ptr<const VerifyKey>> revoked;
  uint64_t version = 0;

  void BuildKeySet();
};

// Thread-safe.
class KeyStateFollower {
 public:
  // Starts following at once. `options` must be valid (LocalValidator::Create checks them).
  explicit KeyStateFollower(const LocalValidatorOptions& options);
  // Cancels the stream and joins its threads.
  ~KeyStateFollower();

  KeyStateFollower(const KeyStateFollower&) = delete;
  KeyStateFollower& operator=(const KeyStateFollower&) = delete;

  // Waits up to options.initial_timeout for the first full state: OK once it is applied; the
  // stream's error if it is refused for good (UNAUTHENTICATED, PERMISSION_DENIED, UNIMPLEMENTED,
  // data this client cannot use); else the last stream error or DEADLINE_EXCEEDED.
  absl::Status AwaitFirstState();

  // True when nothing has been heard from the server for over stale_after at `now`.
  bool Stale(absl::Time now) const {
    return now - absl::FromUnixNanos(last_heard_.load(std::memory_order_acquire)) >
           options_.stale_after;
  }

  // The state now, without a lock (internal::Published::Read). Only after AwaitFirstState
  // succeeded; valid until this thread's next Read.
  const KeyState& Read() const { return state_.Read(); }

  // Refetches the JWK Set for an unknown kid (at most once per refetch_interval, across callers)
  // and adds the keys it did not know; true when the caller should judge again.
  bool RefetchFor(std::string_view kid, absl::Time now);

  // Everything but cache_hits, which the validator counts.
  LocalValidatorStats stats() const;

  // True once the applied state version is >= `version`; false if `timeout` passes first.
  bool WaitForVersion(uint64_t version, absl::Duration timeout);

 private:
  // Where one stream stands.
  struct StreamProgress {
    bool first = true;    // no message yet
    bool synced = false;  // its full state applied: its messages now count as heard
  };

  void StreamLoop();
  // Tears down a stream from which nothing has come for stale_after, every tick of real time.
  void WatchdogLoop();
  // Applies one stream message. An error means the server sent data this client cannot use.
  absl::Status Apply(const v1::WatchKeysResponse& message, StreamProgress* stream);
  // The state after `message`, built on `current` (null before the first full state).
  absl::StatusOr<std::shared_ptr<const KeyState>> Next(const v1::WatchKeysResponse& message,
                                                       const KeyState* current, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // FAILED_PRECONDITION when the server's announced heartbeat interval is not shorter than
  // stale_after.
  absl::Status CheckHeartbeatInterval(const v1::WatchKeysResponse& message);

  const LocalValidatorOptions& options_;
  std::unique_ptr<Client> client_;          // WatchKeys (no deadline)
  std::unique_ptr<Client> refetch_client_;  // GetJwks (refetch_timeout deadline)

  // Published under write_mu_.
  Published<KeyState> state_;
  absl::Mutex write_mu_;
  absl::Time last_prune_ ABSL_GUARDED_BY(write_mu_) = absl::InfinitePast();
  // Unix nanoseconds (options.clock) of the last message heard on a synced stream.
  std::atomic<int64_t> last_heard_;

  absl::Mutex refetch_mu_;
  absl::Time last_refetch_ ABSL_GUARDED_BY(refetch_mu_) = absl::InfinitePast();

  mutable absl::Mutex mu_;
  LocalValidatorStats stats_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool have_state_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status fatal_ ABSL_GUARDED_BY(mu_);       // Set when the stream is refused for good.
  absl::Status last_error_ ABSL_GUARDED_BY(mu_);  // The last stream error.
  // The open stream's cancellation (one per stream: a cancellation stays cancelled), null when
  // none is open or the watchdog already cancelled it; and when it was opened.
  std::shared_ptr<WatchCancellation> stream_cancellation_ ABSL_GUARDED_BY(mu_);
  absl::Time stream_opened_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool silent_reset_ ABSL_GUARDED_BY(mu_) = false;  // The watchdog ended the current stream.

  std::thread stream_thread_;
  std::thread watchdog_thread_;
};

}  // namespace signet::internal

#endif  // SIGNET_CLIENT_INTERNAL_KEY_STATE_FOLLOWER_H_
