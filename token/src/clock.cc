#include "signet/clock.h"

namespace signet {
namespace {

class RealClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

}  // namespace

Clock& Clock::Real() {
  // Never destroyed, so it outlives every static that might read it at exit.
  static RealClock* const clock = new RealClock();
  return *clock;
}

}  // namespace signet
