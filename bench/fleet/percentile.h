// Nearest-rank percentiles of measured delays.
#ifndef SIGNET_BENCH_FLEET_PERCENTILE_H_
#define SIGNET_BENCH_FLEET_PERCENTILE_H_

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace signet::bench {

// The nearest-rank percentile `p` (0..100] of `sorted` (ascending, not empty).
inline double Percentile(const std::vector<double>& sorted, double p) {
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::min(std::max<size_t>(rank, 1), sorted.size()) - 1];
}

// The median, 99th percentile and largest of a set of delays.
struct Quantiles {
  double p50 = 0, p99 = 0, max = 0;
};

// Those of `values` (not empty).
inline Quantiles QuantilesOf(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return {Percentile(values, 50), Percentile(values, 99), values.back()};
}

}  // namespace signet::bench

#endif  // SIGNET_BENCH_FLEET_PERCENTILE_H_
