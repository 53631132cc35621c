// One measured run of the load generator, and how it is printed: a readable summary and one
// RESULT line of key=value pairs for scripts.
#ifndef SIGNET_BENCH_LOAD_RUN_RESULT_H_
#define SIGNET_BENCH_LOAD_RUN_RESULT_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace signet::bench {

// ---- Running calls ------------------------------------------------------------------------------

struct RunResult {
  std::string name;
  double seconds = 0;
  uint64_t ok = 0;
  uint64_t unexpected = 0;          // OK status, but not the answer expected (e.g. valid=false).
  std::map<int, uint64_t> reasons;  // ValidateToken answers with valid=false, by reason.
  std::map<int, uint64_t> errors;   // By gRPC status code.
  double qps = 0;
  double p50_us = 0, p90_us = 0, p99_us = 0, p999_us = 0, max_bucket_us = 0;
  std::optional<double> server_cpu_s;
  double client_cpu_s = 0;
  uint64_t skipped = 0;  // Open loop: sends skipped because too many were in flight.
  double offered_rate = 0;

  uint64_t calls() const {
    uint64_t n = ok + unexpected;
    for (const auto& [code, count] : errors) n += count;
    return n;
  }
  // Server CPU seconds per 1000 calls.
  std::optional<double> server_cpu_per_1k() const {
    if (!server_cpu_s.has_value() || calls() == 0) return std::nullopt;
    return *server_cpu_s * 1000.0 / static_cast<double>(calls());
  }
};

// A readable one-line summary.
std::string Summary(const RunResult& r);

void PrintResultLine(const RunResult& r, const std::string& extra = "");

}  // namespace signet::bench

#endif  // SIGNET_BENCH_LOAD_RUN_RESULT_H_
