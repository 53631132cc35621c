#include "server/metrics/metrics.h"

#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace signet::server {
namespace {

// Label values escape backslash, double quote and line feed; HELP text escapes the first and last.
void AppendEscaped(std::string* out, std::string_view value, bool quote) {
  for (char c : value) {
    switch (c) {
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '"':
        out->append(quote ? "\\\"" : "\"");
        break;
      default:
        out->push_back(c);
    }
  }
}

}  // namespace

const std::array<LatencyHistogram::Bucket, LatencyHistogram::kBuckets> LatencyHistogram::kBounds = {
    {
        {100'000, "0.0001"},
        {250'000, "0.00025"},
        {500'000, "0.0005"},
        {1'000'000, "0.001"},
        {2'500'000, "0.0025"},
        {5'000'000, "0.005"},
        {10'000'000, "0.01"},
        {25'000'000, "0.025"},
        {50'000'000, "0.05"},
        {100'000'000, "0.1"},
        {250'000'000, "0.25"},
        {500'000'000, "0.5"},
        {1'000'000'000, "1"},
        {2'500'000'000, "2.5"},
        {5'000'000'000, "5"},
        {10'000'000'000, "10"},
    }};

void LatencyHistogram::ObserveNanos(int64_t ns) {
  if (ns < 0) ns = 0;
  size_t i = 0;
  while (i < kBuckets && ns > kBounds[i].upper_ns) ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<uint64_t>(ns), std::memory_order_relaxed);
}

void PrometheusWriter::Family(std::string_view name, std::string_view type, std::string_view help) {
  text_.append("# HELP ").append(name).append(" ");
  AppendEscaped(&text_, help, /*quote=*/false);
  text_.append("\n# TYPE ").append(name).append(" ").append(type).append("\n");
}

void PrometheusWriter::Series(std::string_view name, absl::Span<const MetricLabel> labels) {
  text_.append(name.data(), name.size());
  if (labels.empty()) return;
  text_.push_back('{');
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) text_.push_back(',');
    text_.append(labels[i].name).append("=\"");
    AppendEscaped(&text_, labels[i].value, /*quote=*/true);
    text_.push_back('"');
  }
  text_.push_back('}');
}

void PrometheusWriter::Sample(std::string_view name, absl::Span<const MetricLabel> labels,
                              uint64_t value) {
  Series(name, labels);
  absl::StrAppend(&text_, " ", value, "\n");
}

void PrometheusWriter::SampleDouble(std::string_view name, absl::Span<const MetricLabel> labels,
                                    double value) {
  Series(name, labels);
  if (std::isnan(value)) {
    text_.append(" NaN\n");
  } else if (std::isinf(value)) {
    text_.append(value > 0 ? " +Inf\n" : " -Inf\n");
  } else {
    absl::StrAppend(&text_, " ", absl::StrFormat("%.17g", value), "\n");
  }
}

void WriteHistogram(PrometheusWriter* out, std::string_view name,
                    absl::Span<const MetricLabel> labels, const LatencyHistogram& histogram) {
  std::vector<MetricLabel> with_le(labels.begin(), labels.end());
  with_le.push_back({"le", ""});
  std::string bucket_name = std::string(name) + "_bucket";
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= LatencyHistogram::kBuckets; ++i) {
    cumulative += histogram.bucket_count(i);
    with_le.back().value =
        i < LatencyHistogram::kBuckets ? LatencyHistogram::kBounds[i].le : "+Inf";
    out->Sample(bucket_name, with_le, cumulative);
  }
  out->SampleDouble(std::string(name) + "_sum", labels,
                    static_cast<double>(histogram.sum_ns()) / 1e9);
  out->Sample(std::string(name) + "_count", labels, cumulative);
}

}  // namespace signet::server
