// An immutable state that one writer replaces and many readers read without a lock: the pattern
// behind signet-server's key ring and the client library's LocalValidator.
//
// Example:
//   internal::Published<State> state;
//   state.Publish(std::make_shared<const State>(...));  // writers, serialized by the caller
//   const State& now = state.Read();                    // readers, any thread, no lock
//
// Why not std::atomic_load of a shared_ptr alone: libstdc++ implements it with a lock from a small
// process-wide pool, so every reader of every such pointer contends on a handful of mutexes. Read
// first loads a publication number (a plain atomic) and only when it has changed since this
// thread's last Read takes the pointer again; between publications a read costs one atomic load.
#ifndef SIGNET_PUBLISHED_H_
#define SIGNET_PUBLISHED_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <utility>

namespace signet::internal {

// A publication number never handed out before in this process, by any Published of any type:
// a reader keyed by it can never take one instance's value for another's.
uint64_t NextPublication();

template <typename T>
class Published {
 public:
  Published() = default;
  Published(const Published&) = delete;
  Published& operator=(const Published&) = delete;

  // The value now (null before the first Publish). Takes libstdc++'s pool lock: for writers and
  // for readers that keep the value past their next Read.
  std::shared_ptr<const T> Load() const { return std::atomic_load(&value_); }

  // The value now, without a lock: each thread keeps the last value it read and takes the pointer
  // again only when a publication happened since. Valid until the calling thread's next Read of a
  // Published<T> (of any instance). Must not be called before the first Publish.
  const T& Read() const {
    struct Kept {
      uint64_t publication = 0;
      std::shared_ptr<const T> value;
    };
    thread_local Kept kept;
    const uint64_t publication = publication_.load(std::memory_order_acquire);
    if (publication != kept.publication || kept.value == nullptr) {
      // Load() is at least as new as `publication` (stored first), so nothing is missed.
      kept.value = Load();
      kept.publication = publication;
    }
    return *kept.value;
  }

  // Replaces the value. Concurrent writers must be serialized by the caller.
  void Publish(std::shared_ptr<const T> value) {
    std::atomic_store(&value_, std::move(value));
    publication_.store(NextPublication(), std::memory_order_release);
  }

  // Changes after each Publish (once the new value is loadable). A plain atomic load.
  uint64_t publication() const { return publication_.load(std::memory_order_acquire); }

 private:
  std::shared_ptr<const T> value_;
  std::atomic<uint64_t> publication_{0};
};

}  // namespace signet::internal

#endif  // SIGNET_PUBLISHED_H_
