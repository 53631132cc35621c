// gateway-bench: what asking signet on every request costs behind a real nginx. Runs nginx with
// auth_request to signet's /v1/authz and nginx alone, both in front of the same upstream, and
// alternates closed-loop HTTP/1.1 load on them (A B B A ...): QPS ratio and the latency each adds.
//
// Example:
//   gateway-bench --rounds=5 --duration=5s --connections=16
//
// Signet runs in this process (SQLite in a temporary folder, gRPC and HTTP on loopback port 0);
// the upstream is an HTTP server in this process answering "ok"; nginx is Debian's, run as a child
// (tests/integration/gateway/nginx_process.h). Every request carries one valid token (the hot
// path: validation cache hits). Load, nginx, signet and the upstream share the machine's cores.
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "server/signet_server.h"
#include "tests/integration/gateway/nginx_process.h"
#include "tests/integration/test_support.h"

ABSL_FLAG(int, rounds, 5, "Rounds (each runs nginx+signet and nginx alone once)");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(5), "Measured time per run");
ABSL_FLAG(absl::Duration, warmup, absl::Seconds(1), "Unmeasured time before each run");
ABSL_FLAG(int, connections, 16, "Keep-alive connections, one client thread each");

namespace {

struct Run {
  double qps = 0;
  double p50_us = 0;
  double p99_us = 0;
  int errors = 0;
};

Run Load(int port, const std::string& token, absl::Duration warmup, absl::Duration duration,
         int connections) {
  std::atomic<bool> measuring{false}, stop{false};
  std::vector<std::vector<double>> latencies(connections);
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < connections; ++c) {
    threads.emplace_back([&, c] {
      httplib::Client client("127.0.0.1", port);
      client.set_keep_alive(true);
      const httplib::Headers headers = {{"Authorization", "Bearer " + token}};
      while (!stop.load()) {
        const auto t0 = std::chrono::steady_clock::now();
        httplib::Result r = client.Get("/orders/42", headers);
        const auto t1 = std::chrono::steady_clock::now();
        if (!measuring.load()) continue;
        if (!r || r->status != 200) ++errors;
        latencies[c].push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
      }
    });
  }
  std::this_thread::sleep_for(absl::ToChronoNanoseconds(warmup));
  measuring = true;
  const auto start = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(absl::ToChronoNanoseconds(duration));
  measuring = false;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  stop = true;
  for (std::thread& t : threads) t.join();
  std::vector<double> all;
  for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  Run run;
  run.errors = errors.load();
  if (all.empty()) return run;
  run.qps = all.size() / seconds;
  run.p50_us = all[all.size() / 2];
  run.p99_us = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  return run;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  std::string why;
  const std::string nginx_binary = signet::testing::NginxProcess::Binary(&why);
  if (nginx_binary.empty()) {
    std::fprintf(stderr, "gateway-bench: %s\n", why.c_str());
    return 1;
  }
  signet::testing::TempDir dir, with_dir, alone_dir;
  signet::server::SignetServer::Options options;
  options.config = signet::testing::TestConfig(dir.path());
  options.config.http_listen = "127.0.0.1:0";
  absl::StatusOr<std::unique_ptr<signet::server::SignetServer>> server =
      signet::server::SignetServer::Start(std::move(options));
  if (!server.ok()) {
    std::fprintf(stderr, "gateway-bench: %s\n", server.status().ToString().c_str());
    return 1;
  }
  std::unique_ptr<signet::v1::TokenService::Stub> stub =
      signet::testing::NewStub((*server)->port());
  signet::v1::IssueTokenRequest issue;
  issue.set_subject("42");
  issue.set_backend("django.contrib.auth.backends.ModelBackend");
  signet::v1::IssueTokenResponse issued;
  grpc::ClientContext ctx;
  if (grpc::Status s = stub->IssueToken(&ctx, issue, &issued); !s.ok()) {
    std::fprintf(stderr, "gateway-bench: IssueToken: %s\n", s.error_message().c_str());
    return 1;
  }

  httplib::Server upstream;
  upstream.Get(".*", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  const int upstream_port = upstream.bind_to_any_port("127.0.0.1");
  std::thread upstream_thread([&] { upstream.listen_after_bind(); });
  while (!upstream.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));

  std::string error;
  auto with = signet::testing::NginxProcess::Start(nginx_binary, with_dir.path(),
                                                   (*server)->http_port(), upstream_port, &error);
  auto alone = signet::testing::NginxProcess::Start(nginx_binary, alone_dir.path(), 0,
                                                    upstream_port, &error);
  if (with == nullptr || alone == nullptr) {
    std::fprintf(stderr, "gateway-bench: %s\n", error.c_str());
    return 1;
  }

  const int rounds = absl::GetFlag(FLAGS_rounds);
  const absl::Duration duration = absl::GetFlag(FLAGS_duration);
  const absl::Duration warmup = absl::GetFlag(FLAGS_warmup);
  const int connections = absl::GetFlag(FLAGS_connections);
  std::vector<double> ratios, p50_added, p99_added;
  for (int r = 0; r < rounds; ++r) {
    Run a, b;
    // A B in even rounds, B A in odd ones: drift in the machine's load hits both alike.
    if (r % 2 == 0) {
      a = Load(with->port(), issued.token(), warmup, duration, connections);
      b = Load(alone->port(), issued.token(), warmup, duration, connections);
    } else {
      b = Load(alone->port(), issued.token(), warmup, duration, connections);
      a = Load(with->port(), issued.token(), warmup, duration, connections);
    }
    std::printf(
        "round %d: nginx+signet %.0f req/s p50 %.0f us p99 %.0f us (errors %d) | nginx alone %.0f "
        "req/s p50 %.0f us p99 %.0f us (errors %d)\n",
        r + 1, a.qps, a.p50_us, a.p99_us, a.errors, b.qps, b.p50_us, b.p99_us, b.errors);
    ratios.push_back(a.qps / b.qps);
    p50_added.push_back(a.p50_us - b.p50_us);
    p99_added.push_back(a.p99_us - b.p99_us);
  }
  std::printf(
      "RESULT name=nginx_auth_request rounds=%d connections=%d qps_ratio_median=%.3f "
      "qps_ratio_min=%.3f qps_ratio_max=%.3f added_p50_us_median=%.0f added_p99_us_median=%.0f\n",
      rounds, connections, Median(ratios), *std::min_element(ratios.begin(), ratios.end()),
      *std::max_element(ratios.begin(), ratios.end()), Median(p50_added), Median(p99_added));
  with.reset();
  alone.reset();
  upstream.stop();
  upstream_thread.join();
  (*server)->Shutdown(absl::Seconds(1));
  return 0;
}
