// The counters signet-server keeps: gRPC calls by method and status code with latency histograms,
// validation outcomes by reason, store errors, and key rows refused. Gauges (keys by state,
// revocation set sizes, watchers) are not kept here: they are read from the key ring's snapshot
// when /metrics is scraped.
//
// Example:
//   ServerMetrics& metrics = ServerMetrics::Global();
//   metrics.RecordValidation(Reason::kExpired);
//   int method = ServerMetrics::MethodIndex("/signet.v1.TokenService/IssueToken");
//   metrics.RecordRpc(method, grpc::StatusCode::OK, absl::Microseconds(90));
//   PrometheusWriter out;
//   metrics.WriteTo(&out);
//
// One process-wide instance (Global()) is what signet-server exposes, as Prometheus clients do with
// their default registry; tests may make their own. Thread-safe; the Record* calls take no lock
// and allocate nothing.
#ifndef SIGNET_SERVER_METRICS_SERVER_METRICS_H_
#define SIGNET_SERVER_METRICS_SERVER_METRICS_H_

#include <array>
#include <cstdint>
#include <string_view>

#include "absl/time/time.h"
#include "grpcpp/support/status.h"
#include "server/metrics/metrics.h"
#include "signet/reason.h"

namespace signet::server {

class ServerMetrics {
 public:
  // The methods counted one by one; every other method (reflection, unknown) is "other".
  static constexpr int kMethodCount = 12;
  static constexpr int kOtherMethod = kMethodCount - 1;
  static constexpr int kCodeCount = 17;  // grpc::StatusCode OK .. UNAUTHENTICATED.

  // Where a failed store write was noticed.
  enum class StoreErrorSource {
    kChange,       // An admin change (RevokeKey, RotateKey, RevokeToken, RevokeSubject).
    kMaintenance,  // The maintenance loop (timed rotation, pruning, reload).
  };

  // Why a key row in the store was refused (not loaded, not published); see KeyRing.
  enum class KeyRecordRefusal {
    kBadTag,            // Its authentication tag does not match: written without the KEK.
    kKeyMismatch,       // Its kid, public key and private key do not belong together.
    kLegacyUnverified,  // No tag, and its sealed private key does not prove it.
    kRolledBack,        // A key this process saw revoked comes back unrevoked.
  };
  static constexpr int kKeyRecordRefusalCount = 4;

  static ServerMetrics& Global();

  // The index of a full method path ("/signet.v1.TokenService/IssueToken"); kOtherMethod when it
  // is not one of ours. Lock-free.
  static int MethodIndex(std::string_view path);
  // True for streaming methods, whose duration is not a latency (WatchKeys, Health/Watch).
  static bool IsStreaming(int method);

  // One finished call. `latency` is observed for unary methods only.
  void RecordRpc(int method, grpc::StatusCode code, absl::Duration latency);
  // One call that ended without a status sent (the client went away): counted as CANCELLED.
  void RecordAbandonedRpc(int method);
  void RecordValidation(Reason reason);
  void RecordStoreError(StoreErrorSource source);
  void RecordKeyRecordRefused(KeyRecordRefusal reason);
  // The label value of `reason` in signet_key_records_refused_total (also used in logs).
  static const char* KeyRecordRefusalName(KeyRecordRefusal reason);

  uint64_t rpc_count(int method, grpc::StatusCode code) const;
  uint64_t validation_count(Reason reason) const;
  uint64_t store_error_count(StoreErrorSource source) const;
  uint64_t key_record_refused_count(KeyRecordRefusal reason) const;

  // Appends every counter family, and the build info.
  void WriteTo(PrometheusWriter* out) const;

 private:
  static int CodeIndex(grpc::StatusCode code);

  std::array<std::array<Counter, kCodeCount>, kMethodCount> rpcs_;
  std::array<LatencyHistogram, kMethodCount> latency_;
  std::array<Counter, kReasonCount> validations_;
  std::array<Counter, 2> store_errors_;
  std::array<Counter, kKeyRecordRefusalCount> key_records_refused_;
};

}  // namespace signet::server

#endif  // SIGNET_SERVER_METRICS_SERVER_METRICS_H_
