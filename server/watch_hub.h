// Fans the key ring's changes out to WatchKeys streams.
//
// Example:
//   WatchHub hub(ring.get(), &clock);
//   ring->AddListener(&hub);
//   // in the service: return hub.Watch(context);  // a reactor that lives until the call ends
//   hub.Shutdown();  // ends every stream so the server can drain
//
// Every watcher first gets the whole state, then each change in order. A slow watcher never
// blocks the ring: its queue is bounded, and when it overflows the queued changes are dropped and
// replaced by one fresh full-state message, so it catches up without missing anything. A watcher
// with nothing queued or being written gets a heartbeat every heartbeat_interval, so a client
// that hears nothing for longer knows its stream is dead (a silent partition sends no RST/FIN).
#ifndef SIGNET_SERVER_WATCH_HUB_H_
#define SIGNET_SERVER_WATCH_HUB_H_

#include <cstddef>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "server/keys/key_ring.h"
#include "signet/clock.h"
#include "signet/v1/token_service.grpc.pb.h"

namespace signet::server {

// Thread-safe.
class WatchHub final : public StateListener {
 public:
  struct Options {
    size_t max_watchers = 10000;
    size_t max_queued_messages = 64;
    // Streams one caller identity may hold; 0: no limit. Unidentified callers ("") share only
    // the global max_watchers. Callers are keyed by their typed name (Caller::Name()), so a CN and
    // a DNS name with the same text are two callers.
    size_t max_watchers_per_caller = 0;
    // Heartbeats to idle watchers this often (real time); zero: none.
    absl::Duration heartbeat_interval = absl::Seconds(5);
  };
  WatchHub(KeyRing* ring, const Clock* clock, Options options);
  WatchHub(KeyRing* ring, const Clock* clock) : WatchHub(ring, clock, Options{}) {}
  ~WatchHub() override;

  // A reactor serving one WatchKeys call. RESOURCE_EXHAUSTED past max_watchers (or past
  // max_watchers_per_caller streams of `caller`), UNAVAILABLE after Shutdown().
  grpc::ServerWriteReactor<signet::v1::WatchKeysResponse>* Watch(
      grpc::CallbackServerContext* context, const std::string& caller = "");

  // A reactor that ends the call at once with `status` (a refused caller).
  static grpc::ServerWriteReactor<signet::v1::WatchKeysResponse>* Refuse(grpc::Status status);

  // Ends every stream with UNAVAILABLE ("server shutting down"), refuses new ones and stops the
  // heartbeats.
  void Shutdown();

  size_t watcher_count() const;

  void OnStateChanged(const std::shared_ptr<const StateSnapshot>& snapshot,
                      const StateDelta& delta) override;

 private:
  class Watcher;
  friend class Watcher;
  void Remove(Watcher* watcher);
  // The whole state as one message (with the heartbeat interval clients check their bound
  // against).
  std::shared_ptr<const signet::v1::WatchKeysResponse> FullState(const StateSnapshot& snapshot);
  void HeartbeatLoop();

  KeyRing* const ring_;
  const Clock* const clock_;
  const Options options_;
  mutable absl::Mutex mu_;
  absl::flat_hash_set<Watcher*> watchers_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, size_t> per_caller_ ABSL_GUARDED_BY(mu_);
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  std::thread heartbeat_thread_;
};

}  // namespace signet::server

#endif  // SIGNET_SERVER_WATCH_HUB_H_
