// Lock-free metric primitives and a writer for the Prometheus text exposition format 0.0.4.
//
// Example:
//   Counter requests;
//   LatencyHistogram latency;
//   requests.Add();                        // any thread, no lock, no allocation
//   latency.Observe(absl::Microseconds(80));
//
//   PrometheusWriter out;
//   out.Family("signet_requests_total", "counter", "Requests served.");
//   out.Sample("signet_requests_total", {{"method", "IssueToken"}}, requests.value());
//   WriteHistogram(&out, "signet_latency_seconds", {{"method", "IssueToken"}}, latency);
//   std::string body = out.Release();
//
// Counters are relaxed atomics: a scrape may see one counter a moment ahead of another, which
// Prometheus tolerates; nothing is ever lost or counted twice.
#ifndef SIGNET_SERVER_METRICS_METRICS_H_
#define SIGNET_SERVER_METRICS_METRICS_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "absl/types/span.h"

namespace signet::server {

// A monotonically increasing count. Thread-safe.
class Counter {
 public:
  void Add(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// A latency distribution over fixed buckets from 100 µs to 10 s (the server answers in well under
// a millisecond; the upper buckets catch store writes and stalls). Thread-safe; Observe takes no
// lock and allocates nothing.
class LatencyHistogram {
 public:
  struct Bucket {
    int64_t upper_ns;
    const char* le;  // The bound as Prometheus writes it, in seconds.
  };
  static constexpr size_t kBuckets = 16;
  static const std::array<Bucket, kBuckets> kBounds;

  void Observe(absl::Duration latency) { ObserveNanos(absl::ToInt64Nanoseconds(latency)); }
  void ObserveNanos(int64_t ns);

  // Observations <= kBounds[i] but above the previous bound; index kBuckets is +Inf.
  uint64_t bucket_count(size_t i) const { return counts_[i].load(std::memory_order_relaxed); }
  // Sum of all observations, in nanoseconds.
  uint64_t sum_ns() const { return sum_ns_.load(std::memory_order_relaxed); }

 private:
  std::array<std::atomic<uint64_t>, kBuckets + 1> counts_{};
  std::atomic<uint64_t> sum_ns_{0};
};

struct MetricLabel {
  std::string_view name;
  std::string_view value;
};

// Builds one exposition in the text format 0.0.4. Not thread-safe (one per scrape).
class PrometheusWriter {
 public:
  // The content type of the format, for the HTTP response.
  static constexpr char kContentType[] = "text/plain; version=0.0.4; charset=utf-8";

  // Opens a metric family with its # HELP and # TYPE lines. `type`: counter, gauge, histogram.
  void Family(std::string_view name, std::string_view type, std::string_view help);
  // One sample line; label values are escaped as the format requires.
  void Sample(std::string_view name, absl::Span<const MetricLabel> labels, uint64_t value);
  void Sample(std::string_view name, std::initializer_list<MetricLabel> labels, uint64_t value) {
    Sample(name, absl::MakeConstSpan(labels.begin(), labels.size()), value);
  }
  void SampleDouble(std::string_view name, absl::Span<const MetricLabel> labels, double value);
  void SampleDouble(std::string_view name, std::initializer_list<MetricLabel> labels,
                    double value) {
    SampleDouble(name, absl::MakeConstSpan(labels.begin(), labels.size()), value);
  }

  std::string Release() { return std::move(text_); }

 private:
  void Series(std::string_view name, absl::Span<const MetricLabel> labels);
  std::string text_;
};

// Writes the _bucket (cumulative, with le), _sum (seconds) and _count samples of `histogram`
// under `name`, each with `labels` (the family line is the caller's).
void WriteHistogram(PrometheusWriter* out, std::string_view name,
                    absl::Span<const MetricLabel> labels, const LatencyHistogram& histogram);

}  // namespace signet::server

#endif  // SIGNET_SERVER_METRICS_METRICS_H_
