// The load generator's latency histogram.
#ifndef SIGNET_BENCH_LOAD_HISTOGRAM_H_
#define SIGNET_BENCH_LOAD_HISTOGRAM_H_

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace signet::bench {

// ---- Latency histogram
// ---------------------------------------------------------------------------

// Log-linear buckets (32 per power of two: under 3% relative error) from 1 us to ~70 s; atomic so
// that completions on any gRPC thread record without a lock.
class Histogram {
 public:
  void Record(int64_t ns) {
    buckets_[Index(ns)].fetch_add(1, std::memory_order_relaxed);
    count_.fetch_add(1, std::memory_order_relaxed);
  }
  uint64_t count() const { return count_.load(); }
  // The latency (ns) below which a fraction q of the recorded values lie (upper bucket edge).
  double Quantile(double q) const {
    const uint64_t total = count();
    if (total == 0) return 0;
    const uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(total)));
    uint64_t seen = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
      seen += buckets_[i].load(std::memory_order_relaxed);
      if (seen >= rank) return UpperEdge(i);
    }
    return UpperEdge(kBuckets - 1);
  }

 private:
  static constexpr int kSubBits = 5;   // 32 sub-buckets per octave.
  static constexpr int kOctaves = 27;  // 1 us * 2^26 = 67 s.
  static constexpr size_t kBuckets = kOctaves << kSubBits;
  static constexpr int64_t kUnitNs = 1000;

  static size_t Index(int64_t ns) {
    const uint64_t units =
        static_cast<uint64_t>(std::max<int64_t>(ns, 0) * (1 << kSubBits) / kUnitNs);
    if (units < (1u << kSubBits)) return 0;
    const int msb = 63 - __builtin_clzll(units);  // >= kSubBits
    const int octave = msb - kSubBits + 1;
    const size_t sub = (units >> (msb - kSubBits)) & ((1u << kSubBits) - 1);
    const size_t i = (static_cast<size_t>(octave) << kSubBits) | sub;
    return std::min(i, kBuckets - 1);
  }
  static double UpperEdge(size_t i) {
    const size_t octave = i >> kSubBits;
    const size_t sub = i & ((1u << kSubBits) - 1);
    if (octave == 0) return kUnitNs;
    const double base = std::ldexp(1.0, static_cast<int>(octave) - 1);  // in units of kUnitNs
    return kUnitNs * base * (1.0 + (sub + 1) / static_cast<double>(1 << kSubBits));
  }

  std::array<std::atomic<uint64_t>, kBuckets> buckets_{};
  std::atomic<uint64_t> count_{0};
};

}  // namespace signet::bench

#endif  // SIGNET_BENCH_LOAD_HISTOGRAM_H_
