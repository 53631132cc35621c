#include "server/metrics/server_metrics.h"

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"

#ifndef SIGNET_VERSION
#define SIGNET_VERSION "unknown"
#endif

namespace signet::server {
namespace {

struct MethodName {
  const char* service;
  const char* method;
  bool streaming;
};

constexpr std::array<MethodName, ServerMetrics::kMethodCount> kMethods = {{
    {"signet.v1.TokenService", "IssueToken", false},
    {"signet.v1.TokenService", "ValidateToken", false},
    {"signet.v1.TokenService", "RevokeKey", false},
    {"signet.v1.TokenService", "RotateKey", false},
    {"signet.v1.TokenService", "ListKeys", false},
    {"signet.v1.TokenService", "GetJwks", false},
    {"signet.v1.TokenService", "WatchKeys", true},
    {"signet.v1.TokenService", "RevokeToken", false},
    {"signet.v1.TokenService", "RevokeSubject", false},
    {"grpc.health.v1.Health", "Check", false},
    {"grpc.health.v1.Health", "Watch", true},
    {"other", "other", false},
}};

const absl::flat_hash_map<std::string, int>& MethodPaths() {
  static const auto* paths = [] {
    auto* m = new absl::flat_hash_map<std::string, int>();
    for (int i = 0; i < ServerMetrics::kOtherMethod; ++i) {
      (*m)[std::string("/") + kMethods[i].service + "/" + kMethods[i].method] = i;
    }
    return m;
  }();
  return *paths;
}

}  // namespace

ServerMetrics& ServerMetrics::Global() {
  static ServerMetrics* metrics = new ServerMetrics();
  return *metrics;
}

int ServerMetrics::MethodIndex(std::string_view path) {
  const absl::flat_hash_map<std::string, int>& paths = MethodPaths();
  auto it = paths.find(absl::string_view(path.data(), path.size()));
  return it == paths.end() ? kOtherMethod : it->second;
}

bool ServerMetrics::IsStreaming(int method) {
  return method >= 0 && method < kMethodCount && kMethods[method].streaming;
}

int ServerMetrics::CodeIndex(grpc::StatusCode code) {
  int i = static_cast<int>(code);
  return i >= 0 && i < kCodeCount ? i : static_cast<int>(grpc::StatusCode::UNKNOWN);
}

void ServerMetrics::RecordRpc(int method, grpc::StatusCode code, absl::Duration latency) {
  if (method < 0 || method >= kMethodCount) method = kOtherMethod;
  rpcs_[method][CodeIndex(code)].Add();
  if (!kMethods[method].streaming) latency_[method].Observe(latency);
}

void ServerMetrics::RecordAbandonedRpc(int method) {
  if (method < 0 || method >= kMethodCount) method = kOtherMethod;
  rpcs_[method][CodeIndex(grpc::StatusCode::CANCELLED)].Add();
}

void ServerMetrics::RecordValidation(Reason reason) {
  int i = static_cast<int>(reason);
  if (i >= 0 && i < kReasonCount) validations_[i].Add();
}

void ServerMetrics::RecordStoreError(StoreErrorSource source) {
  store_errors_[static_cast<int>(source)].Add();
}

void ServerMetrics::RecordKeyRecordRefused(KeyRecordRefusal reason) {
  key_records_refused_[static_cast<int>(reason)].Add();
}

const char* ServerMetrics::KeyRecordRefusalName(KeyRecordRefusal reason) {
  switch (reason) {
    case KeyRecordRefusal::kBadTag:
      return "bad_tag";
    case KeyRecordRefusal::kKeyMismatch:
      return "key_mismatch";
    case KeyRecordRefusal::kLegacyUnverified:
      return "legacy_unverified";
    case KeyRecordRefusal::kRolledBack:
      return "rolled_back";
  }
  return "unknown";
}

uint64_t ServerMetrics::key_record_refused_count(KeyRecordRefusal reason) const {
  return key_records_refused_[static_cast<int>(reason)].value();
}

uint64_t ServerMetrics::rpc_count(int method, grpc::StatusCode code) const {
  if (method < 0 || method >= kMethodCount) return 0;
  return rpcs_[method][CodeIndex(code)].value();
}

uint64_t ServerMetrics::validation_count(Reason reason) const {
  int i = static_cast<int>(reason);
  return i >= 0 && i < kReasonCount ? validations_[i].value() : 0;
}

uint64_t ServerMetrics::store_error_count(StoreErrorSource source) const {
  return store_errors_[static_cast<int>(source)].value();
}

void ServerMetrics::WriteTo(PrometheusWriter* out) const {
  out->Family("signet_build_info", "gauge", "Always 1; the labels name the build.");
  out->Sample("signet_build_info", {{"version", SIGNET_VERSION}}, 1);

  // OK is always written so every method has a series from the first scrape; other codes appear
  // once they happen ("other" methods only once they are called).
  out->Family("signet_grpc_server_handled_total", "counter",
              "gRPC calls completed, by method and status code.");
  for (int m = 0; m < kMethodCount; ++m) {
    for (int c = 0; c < kCodeCount; ++c) {
      uint64_t n = rpcs_[m][c].value();
      if (n == 0 && (c != 0 || m == kOtherMethod)) continue;
      out->Sample("signet_grpc_server_handled_total",
                  {{"grpc_service", kMethods[m].service},
                   {"grpc_method", kMethods[m].method},
                   {"grpc_code", absl::StatusCodeToString(static_cast<absl::StatusCode>(c))}},
                  n);
    }
  }

  out->Family("signet_grpc_server_handling_seconds", "histogram",
              "Time from the start of a unary call to its status being sent, by method.");
  for (int m = 0; m < kMethodCount; ++m) {
    if (kMethods[m].streaming) continue;
    if (m == kOtherMethod) {
      uint64_t calls = 0;
      for (const Counter& c : rpcs_[m]) calls += c.value();
      if (calls == 0) continue;
    }
    MetricLabel labels[] = {{"grpc_service", kMethods[m].service},
                            {"grpc_method", kMethods[m].method}};
    WriteHistogram(out, "signet_grpc_server_handling_seconds", labels, latency_[m]);
  }

  out->Family("signet_token_validations_total", "counter",
              "ValidateToken answers by reason (VALID for valid tokens).");
  for (int r = 0; r < kReasonCount; ++r) {
    std::string_view name = ReasonName(static_cast<Reason>(r));
    out->Sample("signet_token_validations_total", {{"reason", name}}, validations_[r].value());
  }

  out->Family("signet_store_errors_total", "counter",
              "Changes the store failed to make durable (the caller got UNAVAILABLE), by source.");
  out->Sample("signet_store_errors_total", {{"source", "change"}},
              store_errors_[static_cast<int>(StoreErrorSource::kChange)].value());
  out->Sample("signet_store_errors_total", {{"source", "maintenance"}},
              store_errors_[static_cast<int>(StoreErrorSource::kMaintenance)].value());

  out->Family("signet_key_records_refused_total", "counter",
              "Key rows in the store refused (not loaded, not published) each time the keys were "
              "loaded, by reason: a database writer without the KEK added or changed them.");
  for (int i = 0; i < kKeyRecordRefusalCount; ++i) {
    const auto reason = static_cast<KeyRecordRefusal>(i);
    out->Sample("signet_key_records_refused_total", {{"reason", KeyRecordRefusalName(reason)}},
                key_records_refused_[i].value());
  }
}

}  // namespace signet::server
