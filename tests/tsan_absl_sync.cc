// ThreadSanitizer builds only (-DSIGNET_SANITIZE=thread): teaches TSan the happens-before edges of
// absl::Mutex, absl::CondVar and absl::Notification.
//
// Debian's Abseil is not built with -fsanitize=thread, so its synchronization is invisible to TSan
// (it locks with atomics and futexes inside libabsl_synchronization.so), and every field an
// absl::Mutex guards would be reported as racing. Abseil built with TSan annotates these very
// functions itself (ABSL_TSAN_MUTEX_* in mutex.cc); this file does the same from outside: each
// function is interposed (an executable's definition wins over a shared library's, for calls from
// the library too), forwards to the real one found with dlsym(RTLD_NEXT), and tells TSan
// "acquire" after taking and "release" before giving up. It only ever adds the edges the real
// primitives provide, so it hides no race between code that does not synchronize through them.
//
// The mangled names are those of Debian 12's Abseil 20220623 (inline namespace "debian3"). If a
// name is not found (another Abseil), the program aborts with a message rather than run blind.
#include <dlfcn.h>
#include <sanitizer/tsan_interface.h>

#include <cstdio>
#include <cstdlib>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace {

template <typename Fn>
Fn Real(const char* mangled) {
  void* f = dlsym(RTLD_NEXT, mangled);
  if (f == nullptr) {
    std::fprintf(stderr, "tsan_absl_sync: %s not found in the loaded Abseil\n", mangled);
    std::abort();
  }
  return reinterpret_cast<Fn>(f);
}

#define SIGNET_REAL(type, mangled)              \
  static const auto real = Real<type>(mangled); \
  static_assert(sizeof(real) == sizeof(void*), mangled)

using absl::Condition;
using absl::CondVar;
using absl::Duration;
using absl::Mutex;
using absl::Notification;
using absl::Time;

void Acquire(const void* p) { __tsan_acquire(const_cast<void*>(p)); }
void Release(const void* p) { __tsan_release(const_cast<void*>(p)); }

// A waiter's condition is evaluated with the mutex held, but inside Abseil: by the waiter after it
// re-took the mutex on its own, or by the thread unlocking it on the waiter's behalf. Wrapping the
// condition puts an "acquire" before and a "release" after each evaluation, as the lock hand-over
// around it would.
class AcquiringCondition {
 public:
  AcquiringCondition(const Condition& cond, const Mutex* mu)
      : inner_(&cond), mu_(mu), wrapped_(&AcquiringCondition::Eval, this) {}
  const Condition& get() const { return wrapped_; }

 private:
  static bool Eval(AcquiringCondition* self) {
    Acquire(self->mu_);
    const bool met = self->inner_->Eval();
    Release(self->mu_);
    return met;
  }
  const Condition* inner_;
  const Mutex* mu_;
  Condition wrapped_;
};

}  // namespace

namespace absl {
ABSL_NAMESPACE_BEGIN

void Mutex::Lock() {
  SIGNET_REAL(void (*)(Mutex*), "_ZN4absl7debian35Mutex4LockEv");
  real(this);
  Acquire(this);
}

void Mutex::Unlock() {
  SIGNET_REAL(void (*)(Mutex*), "_ZN4absl7debian35Mutex6UnlockEv");
  Release(this);
  real(this);
}

bool Mutex::TryLock() {
  SIGNET_REAL(bool (*)(Mutex*), "_ZN4absl7debian35Mutex7TryLockEv");
  const bool locked = real(this);
  if (locked) Acquire(this);
  return locked;
}

void Mutex::ReaderLock() {
  SIGNET_REAL(void (*)(Mutex*), "_ZN4absl7debian35Mutex10ReaderLockEv");
  real(this);
  Acquire(this);
}

void Mutex::ReaderUnlock() {
  SIGNET_REAL(void (*)(Mutex*), "_ZN4absl7debian35Mutex12ReaderUnlockEv");
  Release(this);
  real(this);
}

bool Mutex::ReaderTryLock() {
  SIGNET_REAL(bool (*)(Mutex*), "_ZN4absl7debian35Mutex13ReaderTryLockEv");
  const bool locked = real(this);
  if (locked) Acquire(this);
  return locked;
}

void Mutex::LockWhen(const Condition& cond) {
  SIGNET_REAL(void (*)(Mutex*, const Condition&),
              "_ZN4absl7debian35Mutex8LockWhenERKNS0_9ConditionE");
  const AcquiringCondition acquiring(cond, this);
  real(this, acquiring.get());
  Acquire(this);
}

void Mutex::ReaderLockWhen(const Condition& cond) {
  SIGNET_REAL(void (*)(Mutex*, const Condition&),
              "_ZN4absl7debian35Mutex14ReaderLockWhenERKNS0_9ConditionE");
  const AcquiringCondition acquiring(cond, this);
  real(this, acquiring.get());
  Acquire(this);
}

bool Mutex::LockWhenWithTimeout(const Condition& cond, Duration timeout) {
  SIGNET_REAL(bool (*)(Mutex*, const Condition&, Duration),
              "_ZN4absl7debian35Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  const AcquiringCondition acquiring(cond, this);
  const bool met = real(this, acquiring.get(), timeout);
  Acquire(this);  // Held on return either way.
  return met;
}

bool Mutex::LockWhenWithDeadline(const Condition& cond, Time deadline) {
  SIGNET_REAL(bool (*)(Mutex*, const Condition&, Time),
              "_ZN4absl7debian35Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  const AcquiringCondition acquiring(cond, this);
  const bool met = real(this, acquiring.get(), deadline);
  Acquire(this);
  return met;
}

bool Mutex::ReaderLockWhenWithTimeout(const Condition& cond, Duration timeout) {
  SIGNET_REAL(bool (*)(Mutex*, const Condition&, Duration),
              "_ZN4absl7debian35Mutex25ReaderLockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  const AcquiringCondition acquiring(cond, this);
  const bool met = real(this, acquiring.get(), timeout);
  Acquire(this);
  return met;
}

bool Mutex::ReaderLockWhenWithDeadline(const Condition& cond, Time deadline) {
  SIGNET_REAL(bool (*)(Mutex*, const Condition&, Time),
              "_ZN4absl7debian35Mutex26ReaderLockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  const AcquiringCondition acquiring(cond, this);
  const bool met = real(this, acquiring.get(), deadline);
  Acquire(this);
  return met;
}

// Await releases the mutex while it waits and holds it again on return.
void Mutex::Await(const Condition& cond) {
  SIGNET_REAL(void (*)(Mutex*, const Condition&), "_ZN4absl7debian35Mutex5AwaitERKNS0_9ConditionE");
  const AcquiringCondition acquiring(cond, this);
  Release(this);
  real(this, acquiring.get());
  Acquire(this);
}

bool Mutex::AwaitWithTimeout(const Condition& cond, Duration timeout) {
  SIGNET_REAL(bool (*)(Mutex*, const Condition&, Duration),
              "_ZN4absl7debian35Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  const AcquiringCondition acquiring(cond, this);
  Release(this);
  const bool met = real(this, acquiring.get(), timeout);
  Acquire(this);
  return met;
}

bool Mutex::AwaitWithDeadline(const Condition& cond, Time deadline) {
  SIGNET_REAL(bool (*)(Mutex*, const Condition&, Time),
              "_ZN4absl7debian35Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  const AcquiringCondition acquiring(cond, this);
  Release(this);
  const bool met = real(this, acquiring.get(), deadline);
  Acquire(this);
  return met;
}

void CondVar::Wait(Mutex* mu) {
  SIGNET_REAL(void (*)(CondVar*, Mutex*), "_ZN4absl7debian37CondVar4WaitEPNS0_5MutexE");
  Release(mu);
  real(this, mu);
  Acquire(this);
  Acquire(mu);
}

bool CondVar::WaitWithTimeout(Mutex* mu, Duration timeout) {
  SIGNET_REAL(bool (*)(CondVar*, Mutex*, Duration),
              "_ZN4absl7debian37CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE");
  Release(mu);
  const bool timed_out = real(this, mu, timeout);
  Acquire(this);
  Acquire(mu);
  return timed_out;
}

bool CondVar::WaitWithDeadline(Mutex* mu, Time deadline) {
  SIGNET_REAL(bool (*)(CondVar*, Mutex*, Time),
              "_ZN4absl7debian37CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE");
  Release(mu);
  const bool timed_out = real(this, mu, deadline);
  Acquire(this);
  Acquire(mu);
  return timed_out;
}

void CondVar::Signal() {
  SIGNET_REAL(void (*)(CondVar*), "_ZN4absl7debian37CondVar6SignalEv");
  Release(this);
  real(this);
}

void CondVar::SignalAll() {
  SIGNET_REAL(void (*)(CondVar*), "_ZN4absl7debian37CondVar9SignalAllEv");
  Release(this);
  real(this);
}

void Notification::Notify() {
  SIGNET_REAL(void (*)(Notification*), "_ZN4absl7debian312Notification6NotifyEv");
  Release(this);
  real(this);
}

void Notification::WaitForNotification() const {
  SIGNET_REAL(void (*)(const Notification*),
              "_ZNK4absl7debian312Notification19WaitForNotificationEv");
  real(this);
  Acquire(this);
}

bool Notification::WaitForNotificationWithTimeout(Duration timeout) const {
  SIGNET_REAL(bool (*)(const Notification*, Duration),
              "_ZNK4absl7debian312Notification30WaitForNotificationWithTimeoutENS0_8DurationE");
  const bool notified = real(this, timeout);
  if (notified) Acquire(this);
  return notified;
}

bool Notification::WaitForNotificationWithDeadline(Time deadline) const {
  SIGNET_REAL(bool (*)(const Notification*, Time),
              "_ZNK4absl7debian312Notification31WaitForNotificationWithDeadlineENS0_4TimeE");
  const bool notified = real(this, deadline);
  if (notified) Acquire(this);
  return notified;
}

ABSL_NAMESPACE_END
}  // namespace absl
