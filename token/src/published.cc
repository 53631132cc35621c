#include "signet/published.h"

namespace signet::internal {

uint64_t NextPublication() {
  static std::atomic<uint64_t> publications{0};
  return publications.fetch_add(1, std::memory_order_relaxed) + 1;
}

}  // namespace signet::internal
