#include "server/metrics/rpc_metrics_interceptor.h"

#include <chrono>

#include "absl/time/time.h"

namespace signet::server {
namespace {

using grpc::experimental::InterceptionHookPoints;

// Latency is measured on the monotonic clock: it times the call, it decides nothing.
class RpcMetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  RpcMetricsInterceptor(ServerMetrics* metrics, int method)
      : metrics_(metrics), method_(method), start_(std::chrono::steady_clock::now()) {}

  ~RpcMetricsInterceptor() override {
    if (!recorded_) metrics_->RecordAbandonedRpc(method_);
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      grpc::StatusCode code = methods->GetSendStatus().error_code();
      absl::Duration latency = absl::FromChrono(std::chrono::steady_clock::now() - start_);
      metrics_->RecordRpc(method_, code, latency);
      recorded_ = true;
    }
    methods->Proceed();
  }

 private:
  ServerMetrics* const metrics_;
  const int method_;
  const std::chrono::steady_clock::time_point start_;
  bool recorded_ = false;
};

class RpcMetricsInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit RpcMetricsInterceptorFactory(ServerMetrics* metrics) : metrics_(metrics) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new RpcMetricsInterceptor(metrics_, ServerMetrics::MethodIndex(info->method()));
  }

 private:
  ServerMetrics* const metrics_;
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
NewRpcMetricsInterceptorFactory(ServerMetrics* metrics) {
  return std::make_unique<RpcMetricsInterceptorFactory>(metrics);
}

}  // namespace signet::server
