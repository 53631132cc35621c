#include "server/watch_hub.h"

#include <deque>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/proto_convert.h"

namespace signet::server {

using signet::v1::WatchKeysResponse;

using SharedMessage = std::shared_ptr<const WatchKeysResponse>;

namespace {

// The heartbeat interval as the proto field clients read.
void SetInterval(absl::Duration interval, WatchKeysResponse* message) {
  google::protobuf::Duration* d = message->mutable_heartbeat_interval();
  const int64_t nanos = absl::ToInt64Nanoseconds(interval);
  d->set_seconds(nanos / 1'000'000'000);
  d->set_nanos(static_cast<int32_t>(nanos % 1'000'000'000));
}

}  // namespace

// One WatchKeys stream. Owned by gRPC: deletes itself in OnDone, after leaving the hub.
//
// Messages are shared between watchers (one copy per change, not per watcher). A full state is
// always built with no lock held, so neither the hub nor the key ring's writer ever waits for it:
// the watcher reserves its write slot, builds from the ring's current snapshot, then drops queued
// changes that the snapshot already covers (by version).
class WatchHub::Watcher final : public grpc::ServerWriteReactor<WatchKeysResponse> {
 public:
  Watcher(WatchHub* hub, std::string caller) : hub_(hub), caller_(std::move(caller)) {}
  const std::string& caller() const { return caller_; }
  // Whether this stream counts against its caller's max_watchers_per_caller; guarded by the
  // hub's mutex.
  bool counted = false;

  // Called under the hub's mutex, so never after Remove() returned.
  void Enqueue(const SharedMessage& msg) {
    absl::MutexLock lock(&mu_);
    if (finished_ || resync_) return;  // A full state is coming that includes this change.
    if (queue_.size() >= hub_->options_.max_queued_messages) {
      queue_.clear();
      resync_ = true;
    } else {
      queue_.push_back(msg);
    }
    MaybeWriteLocked();
  }

  // Called under the hub's mutex. Only an idle stream gets one (its full state sent, nothing queued
  // or being written): anything queued is news the client hears anyway, and a slow watcher's
  // bounded queue must not fill up with heartbeats.
  void Heartbeat() {
    absl::MutexLock lock(&mu_);
    if (!started_ || finished_ || resync_ || writing_ || !queue_.empty()) return;
    auto beat = std::make_shared<WatchKeysResponse>();
    beat->set_heartbeat(true);
    beat->set_version(sent_version_);
    SetInterval(hub_->options_.heartbeat_interval, beat.get());
    current_ = std::move(beat);
    writing_ = true;
    StartWrite(current_.get());
  }

  // A full state replaces whatever is queued. Called under the hub's mutex.
  void EnqueueSnapshot(const SharedMessage& msg) {
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    queue_.clear();
    resync_ = false;
    queue_.push_back(msg);
    MaybeWriteLocked();
  }

  // Starts the stream with the whole state (built on this thread, outside every lock but the
  // caller's).
  void Resync() {
    absl::MutexLock lock(&mu_);
    queue_.clear();
    resync_ = true;
    MaybeWriteLocked();
  }

  void End(grpc::Status status) {
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    finished_ = true;
    queue_.clear();
    pending_finish_ = std::move(status);
    if (!writing_) FinishOnceLocked(pending_finish_);
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    current_.reset();
    if (!ok) {
      // The client is gone (or the call was cancelled): end it, whatever End() asked for.
      finished_ = true;
      FinishOnceLocked(grpc::Status::CANCELLED);
      return;
    }
    if (finished_) {
      FinishOnceLocked(pending_finish_);
      return;
    }
    MaybeWriteLocked();
  }

  void OnDone() override {
    hub_->Remove(this);
    // gRPC calls OnDone after every other reaction, but orders them in its core, where
    // ThreadSanitizer cannot see: taking mu_ once makes the hand-over of the fields the
    // destructor reads explicit (docs/RELIABILITY.md).
    { absl::MutexLock lock(&mu_); }
    delete this;
  }

 private:
  void FinishOnceLocked(const grpc::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finish_called_) return;
    finish_called_ = true;
    Finish(status);
  }

  void MaybeWriteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (writing_ || finished_) return;
    if (resync_) {
      // Changes published from here on are queued; those the snapshot covers are dropped below.
      resync_ = false;
      queue_.clear();
      writing_ = true;
      mu_.Unlock();
      SharedMessage full = hub_->FullState(*hub_->ring_->Current());
      mu_.Lock();
      writing_ = false;
      if (finished_) {
        FinishOnceLocked(pending_finish_);
        return;
      }
      queue_.push_front(std::move(full));
    }
    while (!queue_.empty() && queue_.front()->version() <= sent_version_ &&
           !queue_.front()->snapshot()) {
      queue_.pop_front();
    }
    if (queue_.empty()) return;
    current_ = std::move(queue_.front());
    queue_.pop_front();
    if (current_->snapshot()) started_ = true;
    sent_version_ = std::max(sent_version_, current_->version());
    writing_ = true;
    StartWrite(current_.get());
  }

  WatchHub* const hub_;
  const std::string caller_;
  absl::Mutex mu_;
  std::deque<SharedMessage> queue_ ABSL_GUARDED_BY(mu_);
  SharedMessage current_ ABSL_GUARDED_BY(mu_);
  uint64_t sent_version_ ABSL_GUARDED_BY(mu_) = 0;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool finish_called_ ABSL_GUARDED_BY(mu_) = false;
  bool resync_ ABSL_GUARDED_BY(mu_) = false;
  bool started_ ABSL_GUARDED_BY(mu_) = false;  // Its first full state is written or being written.
  grpc::Status pending_finish_ ABSL_GUARDED_BY(mu_);
};

namespace {

class RefusedWatch final : public grpc::ServerWriteReactor<WatchKeysResponse> {
 public:
  explicit RefusedWatch(grpc::Status status) { Finish(std::move(status)); }
  void OnDone() override { delete this; }
};

}  // namespace

grpc::ServerWriteReactor<WatchKeysResponse>* WatchHub::Refuse(grpc::Status status) {
  return new RefusedWatch(std::move(status));
}

WatchHub::WatchHub(KeyRing* ring, const Clock* clock, Options options)
    : ring_(ring), clock_(clock), options_(options) {
  if (options_.heartbeat_interval > absl::ZeroDuration()) {
    heartbeat_thread_ = std::thread(&WatchHub::HeartbeatLoop, this);
  }
}

WatchHub::~WatchHub() {
  Shutdown();
  if (heartbeat_thread_.joinable()) heartbeat_thread_.join();
}

std::shared_ptr<const WatchKeysResponse> WatchHub::FullState(const StateSnapshot& snapshot) {
  auto full = std::make_shared<WatchKeysResponse>(SnapshotMessage(snapshot, clock_->Now()));
  if (options_.heartbeat_interval > absl::ZeroDuration()) {
    SetInterval(options_.heartbeat_interval, full.get());
  }
  return full;
}

void WatchHub::HeartbeatLoop() {
  absl::MutexLock lock(&mu_);
  // Real time: heartbeats pace the transport; token logic reads the injected clock.
  while (!mu_.AwaitWithTimeout(absl::Condition(&shut_down_), options_.heartbeat_interval)) {
    for (Watcher* w : watchers_) w->Heartbeat();
  }
}

grpc::ServerWriteReactor<WatchKeysResponse>* WatchHub::Watch(grpc::CallbackServerContext*,
                                                             const std::string& caller) {
  auto* watcher = new Watcher(this, caller);
  absl::ReleasableMutexLock lock(&mu_);
  if (shut_down_) {
    watcher->End(grpc::Status(grpc::StatusCode::UNAVAILABLE, "server shutting down"));
    watchers_.insert(watcher);  // Removed again in OnDone.
    return watcher;
  }
  if (watchers_.size() >= options_.max_watchers) {
    watcher->End(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                              absl::StrCat("this replica serves its most WatchKeys streams (",
                                           options_.max_watchers, "); retry later or elsewhere")));
    watchers_.insert(watcher);
    return watcher;
  }
  if (options_.max_watchers_per_caller > 0 && !caller.empty()) {
    size_t& count = per_caller_[caller];
    if (count >= options_.max_watchers_per_caller) {
      watcher->End(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                absl::StrCat("caller already holds ", count,
                                             " WatchKeys streams on this replica, the most one "
                                             "caller may; close one or retry later")));
      watchers_.insert(watcher);
      return watcher;
    }
    ++count;
    watcher->counted = true;
  }
  watchers_.insert(watcher);
  // Registered first, so every change from now on reaches it; the full state it starts with is
  // built outside the hub's lock.
  lock.Release();
  watcher->Resync();
  return watcher;
}

void WatchHub::OnStateChanged(const std::shared_ptr<const StateSnapshot>& snapshot,
                              const StateDelta& delta) {
  if (delta.full) {
    // A reload replaced everything: one full state, shared by every watcher. None is built for no
    // watcher (at start-up with 1,000,000 revocations it is a tenth of the start): a watcher that
    // arrives later is sent the state of its own moment.
    {
      absl::MutexLock lock(&mu_);
      if (watchers_.empty()) return;
    }
    SharedMessage full = FullState(*snapshot);
    absl::MutexLock lock(&mu_);
    for (Watcher* w : watchers_) w->EnqueueSnapshot(full);
    return;
  }
  bool has_content = false;
  auto msg =
      std::make_shared<const WatchKeysResponse>(DeltaMessage(*snapshot, delta, &has_content));
  if (!has_content) return;
  absl::MutexLock lock(&mu_);
  for (Watcher* w : watchers_) w->Enqueue(msg);
}

void WatchHub::Shutdown() {
  absl::MutexLock lock(&mu_);
  shut_down_ = true;
  for (Watcher* w : watchers_) {
    w->End(grpc::Status(grpc::StatusCode::UNAVAILABLE, "server shutting down"));
  }
}

size_t WatchHub::watcher_count() const {
  absl::MutexLock lock(&mu_);
  return watchers_.size();
}

void WatchHub::Remove(Watcher* watcher) {
  absl::MutexLock lock(&mu_);
  watchers_.erase(watcher);
  if (watcher->counted) {
    auto it = per_caller_.find(watcher->caller());
    if (it != per_caller_.end() && --it->second == 0) per_caller_.erase(it);
  }
}

}  // namespace signet::server
