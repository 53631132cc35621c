// Counts every gRPC call by method and status code and times unary calls, for /metrics.
//
// Example:
//   std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
//   creators.push_back(NewRpcMetricsInterceptorFactory(&ServerMetrics::Global()));
//   builder.experimental().SetInterceptorCreators(std::move(creators));
//
// Per call it costs what gRPC's interceptor API itself requires (one small object gRPC owns), one
// hash lookup of the method name, two monotonic clock reads and three relaxed atomic adds: no lock,
// and no allocation of its own for calls that end OK.
#ifndef SIGNET_SERVER_METRICS_RPC_METRICS_INTERCEPTOR_H_
#define SIGNET_SERVER_METRICS_RPC_METRICS_INTERCEPTOR_H_

#include <memory>

#include "grpcpp/support/server_interceptor.h"
#include "server/metrics/server_metrics.h"

namespace signet::server {

// `metrics` must outlive every call of the server the factory is registered with.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
NewRpcMetricsInterceptorFactory(ServerMetrics* metrics);

}  // namespace signet::server

#endif  // SIGNET_SERVER_METRICS_RPC_METRICS_INTERCEPTOR_H_
