// Time and process figures for the load generator: a monotonic clock in nanoseconds, sleeping to a
// deadline, and a process's CPU time and RSS read from /proc.
#ifndef SIGNET_BENCH_LOAD_PROCESS_FIGURES_H_
#define SIGNET_BENCH_LOAD_PROCESS_FIGURES_H_

#include <cstdint>
#include <optional>

namespace signet::bench {

// CLOCK_MONOTONIC, in nanoseconds.
int64_t NowNs();

void SleepUntilNs(int64_t deadline);

// ---- Server process figures (from /proc) --------------------------------------------------------

// utime + stime of a process, in seconds; nullopt without a pid or when it cannot be read.
std::optional<double> ProcessCpuSeconds(int pid);

// The CPU time of every thread of a process, in seconds, to the nanosecond (the first field of
// each /proc/<pid>/task/<tid>/schedstat): ProcessCpuSeconds counts in 10 ms ticks, too coarse for
// a few hundred calls of some 50 us each.
std::optional<double> ThreadsCpuSeconds(int pid);

// VmRSS of a process (0: this one), in MiB.
std::optional<double> ProcessRssMiB(int pid);

double SelfCpuSeconds();

}  // namespace signet::bench

#endif  // SIGNET_BENCH_LOAD_PROCESS_FIGURES_H_
