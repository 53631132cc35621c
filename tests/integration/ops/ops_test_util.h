// Helpers for the operations tests: Prometheus text parsing, the gRPC health check the
// Kubernetes probe makes, and running commands (kubectl, openssl) with their output captured.
//
// Example:
//   std::map<std::string, double> m = signet::testing::ParseMetrics(body);
//   double ok = m["signet_build_info{version=\"0.1.0\"}"];
//   absl::StatusOr<int> serving = signet::testing::HealthCheck(channel, "");  // 1 = SERVING
#ifndef SIGNET_TESTS_INTEGRATION_OPS_OPS_TEST_UTIL_H_
#define SIGNET_TESTS_INTEGRATION_OPS_OPS_TEST_UTIL_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"

namespace signet::testing {

// Every sample of a Prometheus text exposition, keyed by the exact series text before the value
// (name and labels as written). Comment lines are skipped.
std::map<std::string, double> ParseMetrics(const std::string& text);

// grpc.health.v1.Health/Check for `service` ("" = the whole server, as the kubelet asks): the
// ServingStatus number (1 SERVING, 2 NOT_SERVING), or the call's error.
absl::StatusOr<int> HealthCheck(const std::shared_ptr<grpc::Channel>& channel,
                                const std::string& service);

struct CommandResult {
  int exit_code = -1;  // -1: did not exit normally (or could not start).
  std::string out;
  std::string err;
};
// Runs argv[0] (looked up on PATH) with `stdin_text` as its input, waits for it to exit.
CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& stdin_text = "");

// The full path of `program` on PATH, or "" when absent.
std::string FindOnPath(const std::string& program);

}  // namespace signet::testing

#endif  // SIGNET_TESTS_INTEGRATION_OPS_OPS_TEST_UTIL_H_
