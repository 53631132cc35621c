// Gauges computed when /metrics is scraped: keys by state and revocation set sizes from the key
// ring's snapshot, WatchKeys watchers, and the process's CPU, memory and file descriptors.
//
// Example:
//   PrometheusWriter out;
//   ServerMetrics::Global().WriteTo(&out);
//   WriteStateMetrics(ring->Current().get(), hub->watcher_count(), &out);
//   WriteProcessMetrics(&out);
#ifndef SIGNET_SERVER_METRICS_STATE_METRICS_H_
#define SIGNET_SERVER_METRICS_STATE_METRICS_H_

#include <cstddef>

#include "server/keys/state_snapshot.h"
#include "server/metrics/metrics.h"

namespace signet::server {

// `snapshot` may be null (keys not loaded yet): the key gauges are then 0.
void WriteStateMetrics(const StateSnapshot* snapshot, size_t watchers, PrometheusWriter* out);

// process_cpu_seconds_total, process_resident_memory_bytes, process_open_fds, process_max_fds
// (the names Prometheus client libraries use). What cannot be read is left out.
void WriteProcessMetrics(PrometheusWriter* out);

}  // namespace signet::server

#endif  // SIGNET_SERVER_METRICS_STATE_METRICS_H_
