#include "server/metrics/state_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <array>
#include <cstdio>

namespace signet::server {
namespace {

struct StateName {
  KeyState state;
  const char* label;
};
constexpr std::array<StateName, 4> kStates = {{
    {KeyState::kPending, "PENDING"},
    {KeyState::kActive, "ACTIVE"},
    {KeyState::kRetired, "RETIRED"},
    {KeyState::kRevoked, "REVOKED"},
}};

double Seconds(const timeval& tv) {
  return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
}

}  // namespace

void WriteStateMetrics(const StateSnapshot* snapshot, size_t watchers, PrometheusWriter* out) {
  std::array<uint64_t, kStates.size()> by_state{};
  if (snapshot != nullptr) {
    for (const KeyRecord& k : snapshot->key_records) {
      for (size_t i = 0; i < kStates.size(); ++i) {
        if (k.state == kStates[i].state) ++by_state[i];
      }
    }
  }
  out->Family("signet_keys", "gauge", "Stored signing keys by lifecycle state.");
  for (size_t i = 0; i < kStates.size(); ++i) {
    out->Sample("signet_keys", {{"state", kStates[i].label}}, by_state[i]);
  }
  out->Family("signet_revoked_tokens", "gauge",
              "Token ids (jti) refused until the tokens would have expired.");
  out->Sample("signet_revoked_tokens", {},
              snapshot ? static_cast<uint64_t>(snapshot->revocations.token_count()) : 0);
  out->Family("signet_revoked_subjects", "gauge",
              "Subjects whose tokens issued before a time are refused.");
  out->Sample("signet_revoked_subjects", {},
              snapshot ? static_cast<uint64_t>(snapshot->revocations.subject_count()) : 0);
  out->Family("signet_state_version", "gauge",
              "Version of the key and revocation state served; grows with every change.");
  out->Sample("signet_state_version", {}, snapshot ? snapshot->version : 0);
  out->Family("signet_watchkeys_watchers", "gauge", "Open WatchKeys streams.");
  out->Sample("signet_watchkeys_watchers", {}, static_cast<uint64_t>(watchers));
}

void WriteProcessMetrics(PrometheusWriter* out) {
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) == 0) {
    out->Family("process_cpu_seconds_total", "counter", "User and system CPU time spent.");
    out->SampleDouble("process_cpu_seconds_total", {},
                      Seconds(usage.ru_utime) + Seconds(usage.ru_stime));
  }
  if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
    unsigned long size = 0, resident = 0;  // NOLINT(runtime/int): the format's own type.
    if (std::fscanf(f, "%lu %lu", &size, &resident) == 2) {
      out->Family("process_resident_memory_bytes", "gauge", "Resident memory size.");
      out->Sample("process_resident_memory_bytes", {},
                  static_cast<uint64_t>(resident) * static_cast<uint64_t>(sysconf(_SC_PAGESIZE)));
    }
    std::fclose(f);
  }
  if (DIR* dir = opendir("/proc/self/fd")) {
    uint64_t fds = 0;
    while (dirent* e = readdir(dir)) {
      if (e->d_name[0] != '.') ++fds;
    }
    closedir(dir);
    out->Family("process_open_fds", "gauge", "Open file descriptors.");
    out->Sample("process_open_fds", {}, fds > 0 ? fds - 1 : 0);  // Less the one reading the dir.
  }
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    out->Family("process_max_fds", "gauge", "Limit on open file descriptors.");
    out->Sample("process_max_fds", {}, static_cast<uint64_t>(limit.rlim_cur));
  }
}

}  // namespace signet::server
