#include "bench/load/run_result.h"

#include <cinttypes>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "signet/v1/token_service.pb.h"

namespace signet::bench {

std::string Summary(const RunResult& r) {
  std::string errors;
  for (const auto& [code, count] : r.errors) absl::StrAppend(&errors, " code", code, "=", count);
  for (const auto& [reason, count] : r.reasons) {
    absl::StrAppend(&errors, " ", signet::v1::Reason_Name(reason), "=", count);
  }
  std::string cpu = "n/a";
  if (auto c = r.server_cpu_per_1k()) cpu = absl::StrFormat("%.4f", *c);
  return absl::StrFormat(
      "%-28s qps=%9.0f p50=%7.0fus p90=%7.0fus p99=%7.0fus p99.9=%7.0fus ok=%" PRIu64
      " unexpected=%" PRIu64 " not_ok={%s } skipped=%" PRIu64
      " server_cpu_s_per_1k=%s client_cpu_s_per_1k=%.4f",
      r.name, r.qps, r.p50_us, r.p90_us, r.p99_us, r.p999_us, r.ok, r.unexpected, errors, r.skipped,
      cpu, r.calls() ? r.client_cpu_s * 1000.0 / r.calls() : 0.0);
}

void PrintResultLine(const RunResult& r, const std::string& extra) {
  std::string errors;
  for (const auto& [code, count] : r.errors) absl::StrAppend(&errors, code, ":", count, ";");
  std::string cpu = "nan";
  if (auto c = r.server_cpu_per_1k()) cpu = absl::StrFormat("%.5f", *c);
  std::printf("RESULT name=%s qps=%.1f p50_us=%.1f p90_us=%.1f p99_us=%.1f p999_us=%.1f ok=%" PRIu64
              " unexpected=%" PRIu64 " errors=%s skipped=%" PRIu64
              " server_cpu_s_per_1k=%s offered_rate=%.1f%s\n",
              r.name.c_str(), r.qps, r.p50_us, r.p90_us, r.p99_us, r.p999_us, r.ok, r.unexpected,
              errors.empty() ? "none" : errors.c_str(), r.skipped, cpu.c_str(), r.offered_rate,
              extra.c_str());
  std::fflush(stdout);
}

}  // namespace signet::bench
