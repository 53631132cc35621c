// keys_curve: what the number of keys in the server's key ring costs (curve "keys").
//
// One signet-server (SQLite store, fresh data folder, gRPC and HTTP on free loopback ports) per
// algorithm. The ring starts with its two keys (ACTIVE and PENDING) and is grown with RotateKey
// (immediate): every rotation retires the ACTIVE key, which keeps verifying for --max_ttl, so the
// ring holds one more key. ListKeys checks that it holds exactly K keys at each point. Before the
// first rotation the benchmark issues the tokens of the "oldest" series: they are signed by the
// first key, which stays the oldest key of the ring (RETIRED from K = 3 on; at K = 2 it is still
// the ACTIVE key), so their validation looks a kid up among all K keys.
//
// At each K, per call (server CPU from /proc/<pid>/stat before and after each run, divided by the
// calls; latency measured by the client):
//   validate_unique_active   ValidateToken of tokens freshly issued by the ACTIVE key, each sent
//                            once (no cache hit can happen).
//   validate_unique_oldest   the same with tokens signed by the oldest key.
//   validate_hot_active      ValidateToken of one token of the ACTIVE key (cache hits).
//   validate_hot_oldest      the same for one token of the oldest key.
//   list_keys                ListKeys (include_revoked): returns K keys.
//   get_jwks                 the GetJwks RPC: the JWKS document and the keys' metadata.
//   jwks_http                GET /.well-known/jwks.json (keep-alive connections).
//   jwks_http_304            the same with If-None-Match of the current ETag (answer 304).
//   server                   RSS (VmRSS), CPU while idle (ms per second, over --duration) and the
//                            mean RotateKey latency while growing to K.
//
// Output: a table on stdout and, with --json_out, one JSON object per (series, K, metric)
// appended to that file: {"curve":"keys","series":"EdDSA validate_unique_active","x":K,
// "x_label":"keys in the ring","metric":"server_cpu_us","value":...}.
//
// Run (from the repository root, after building signet-server and keys_curve):
//   build/bench/keys_curve --keys=2,10,30,100,300,1000 --json_out=keys_curve.jsonl
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "bench/fleet/curve_points.h"
#include "bench/fleet/percentile.h"
#include "bench/fleet/scratch_dir.h"
#include "bench/fleet/server_process.h"
#include "bench/load/driver.h"
#include "bench/load/histogram.h"
#include "bench/load/process_figures.h"
#include "bench/load/run_result.h"
#include "bench/load/workload.h"
#include "httplib.h"
#include "signet/v1/token_service.grpc.pb.h"

ABSL_FLAG(std::string, server, signet::bench::DefaultServerBinary(),
          "The signet-server binary to run");
ABSL_FLAG(std::string, keys, "2,10,30,100,300,1000", "Key ring sizes K to measure, ascending");
ABSL_FLAG(std::string, algorithms, "EdDSA,ES256", "Algorithms of the keys (one server each)");
ABSL_FLAG(int, tokens, 10000, "Tokens per no-cache-hit run (each validated once)");
ABSL_FLAG(int, concurrency, 16, "ValidateToken runs: calls outstanding");
ABSL_FLAG(int, rpc_concurrency, 1,
          "ListKeys, GetJwks and HTTP JWKS runs: calls outstanding (1: latency of one call)");
ABSL_FLAG(int, channels, 2, "gRPC channels (each its own connection)");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(2), "Measured time of each timed run");
ABSL_FLAG(absl::Duration, warmup, absl::Milliseconds(500), "Unmeasured time before timed runs");
ABSL_FLAG(int64_t, server_cache_entries, 4096,
          "The server's --validation_cache_entries (small: the RSS then tells the keys' memory)");
ABSL_FLAG(std::string, json_out, "", "Append one JSON object per (series, K, metric) here");
ABSL_FLAG(std::string, work_dir, "", "Folder for the servers' data and logs (default: temporary)");

namespace signet::bench {
namespace {

namespace v1 = ::signet::v1;

constexpr char kCurve[] = "keys";
constexpr char kXLabel[] = "keys in the ring";
constexpr char kAudience[] = "orders";
constexpr char kJwksPath[] = "/.well-known/jwks.json";

int Concurrency() { return absl::GetFlag(FLAGS_concurrency); }

// What one series measured at one K.
struct Figures {
  double server_cpu_us = 0;
  double qps = 0;
  Quantiles latency_ms;        // Its p50 and p99 (max: not measured).
  double response_bytes = -1;  // -1: not measured.
  uint64_t calls = 0;
  uint64_t failures = 0;  // Errors and unexpected answers (e.g. valid=false).
};

Figures FromRun(const RunResult& r) {
  Figures f;
  f.calls = r.calls();
  f.failures = r.calls() - r.ok;
  f.qps = r.qps;
  f.latency_ms.p50 = r.p50_us / 1000;
  f.latency_ms.p99 = r.p99_us / 1000;
  if (r.server_cpu_s.has_value() && r.calls() > 0) {
    f.server_cpu_us = *r.server_cpu_s * 1e6 / static_cast<double>(r.calls());
  }
  return f;
}

// ---- Talking to the server ----------------------------------------------------------------------

std::unique_ptr<grpc::ClientContext> Context() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  return context;
}

// `count` tokens from the ACTIVE key, issued on 8 threads.
std::vector<std::string> IssueTokens(const std::vector<std::shared_ptr<grpc::Channel>>& channels,
                                     int count) {
  std::vector<std::string> tokens(count);
  std::atomic<int> next{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      auto stub = v1::TokenService::NewStub(channels[t % channels.size()]);
      for (int i = next.fetch_add(1); i < count; i = next.fetch_add(1)) {
        v1::IssueTokenRequest request;
        request.set_subject(absl::StrCat("user-", 1000000 + i));
        request.set_backend("django.contrib.auth.backends.ModelBackend");
        request.add_audience(kAudience);
        v1::IssueTokenResponse response;
        grpc::Status s = stub->IssueToken(Context().get(), request, &response);
        if (!s.ok()) {
          if (failures.fetch_add(1) == 0)
            std::fprintf(stderr, "IssueToken: %s\n", s.error_message().c_str());
          continue;
        }
        tokens[i] = response.token();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  if (failures.load() > 0) Die(absl::StrCat(failures.load(), " IssueToken calls failed"));
  return tokens;
}

v1::ListKeysResponse ListKeys(v1::TokenService::Stub* stub) {
  v1::ListKeysRequest request;
  request.set_include_revoked(true);
  v1::ListKeysResponse response;
  grpc::Status s = stub->ListKeys(Context().get(), request, &response);
  if (!s.ok()) Die("ListKeys: " + s.error_message());
  return response;
}

CallSpec ValidateSpec(const std::string& token) {
  v1::ValidateTokenRequest request;
  request.set_token(token);
  request.set_audience(kAudience);
  return CallSpec{&MethodName("/signet.v1.TokenService/ValidateToken"), Serialized(request),
                  Expect::kValid};
}

// GET of the JWKS on `threads` keep-alive connections for the duration (after a warm-up);
// `etag` non-empty: sent as If-None-Match, and 304 is the answer expected.
Figures RunHttpJwks(int port, int pid, int threads, const std::string& etag) {
  const absl::Duration warmup = absl::GetFlag(FLAGS_warmup);
  const absl::Duration duration = absl::GetFlag(FLAGS_duration);
  Histogram histogram;
  std::atomic<bool> measuring{false}, stop{false};
  std::atomic<uint64_t> ok{0}, failed{0}, bytes{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      httplib::Client client("127.0.0.1", port);
      client.set_keep_alive(true);
      httplib::Headers headers;
      if (!etag.empty()) headers.emplace("If-None-Match", etag);
      const int expected = etag.empty() ? 200 : 304;
      while (!stop.load()) {
        const int64_t t0 = NowNs();
        httplib::Result r = client.Get(kJwksPath, headers);
        const int64_t t1 = NowNs();
        if (!measuring.load()) continue;
        histogram.Record(t1 - t0);
        if (r && r->status == expected) {
          ok.fetch_add(1);
          bytes.store(r->body.size());
        } else {
          failed.fetch_add(1);
        }
      }
    });
  }
  SleepUntilNs(NowNs() + absl::ToInt64Nanoseconds(warmup));
  const std::optional<double> cpu0 = ProcessCpuSeconds(pid);
  const int64_t t0 = NowNs();
  measuring.store(true);
  SleepUntilNs(t0 + absl::ToInt64Nanoseconds(duration));
  measuring.store(false);
  const int64_t t1 = NowNs();
  const std::optional<double> cpu1 = ProcessCpuSeconds(pid);
  stop.store(true);
  for (std::thread& w : workers) w.join();
  Figures f;
  f.calls = ok.load() + failed.load();
  f.failures = failed.load();
  f.qps = static_cast<double>(f.calls) / ((t1 - t0) / 1e9);
  f.latency_ms.p50 = histogram.Quantile(0.5) / 1e6;
  f.latency_ms.p99 = histogram.Quantile(0.99) / 1e6;
  if (cpu0.has_value() && cpu1.has_value() && f.calls > 0) {
    f.server_cpu_us = (*cpu1 - *cpu0) * 1e6 / static_cast<double>(f.calls);
  }
  if (etag.empty()) f.response_bytes = static_cast<double>(bytes.load());
  return f;
}

// ---- The curve ----------------------------------------------------------------------------------

class KeysCurve {
 public:
  KeysCurve(std::string algorithm, std::vector<int> points, const CurvePoints* output)
      : algorithm_(std::move(algorithm)), points_(std::move(points)), output_(output) {}

  void Run(const std::string& work_dir) {
    const std::string dir = absl::StrCat(work_dir, "/", algorithm_);
    std::filesystem::create_directories(dir);
    if (!server_.Start({"--listen=127.0.0.1:0", "--http_listen=127.0.0.1:0",
                        absl::StrCat("--data_dir=", dir, "/data"), "--algorithm=" + algorithm_,
                        absl::StrCat("--audit_log=", dir, "/audit.log"),
                        absl::StrCat("--validation_cache_entries=",
                                     absl::GetFlag(FLAGS_server_cache_entries))},
                       dir + "/server.log")) {
      Die("signet-server did not start");
    }
    channels_ = MakeChannels(server_.target(), absl::GetFlag(FLAGS_channels));
    stub_ = v1::TokenService::NewStub(channels_.front());

    const v1::ListKeysResponse first = ListKeys(stub_.get());
    std::string oldest_kid;
    for (const v1::Key& k : first.keys()) {
      if (k.state() == v1::KEY_STATE_ACTIVE) oldest_kid = k.key_id();
    }
    if (oldest_kid.empty()) Die("no ACTIVE key at start");
    // The oldest key's tokens: one batch per point, and one for the hot runs.
    const int per_run = absl::GetFlag(FLAGS_tokens);
    const int64_t t0 = NowNs();
    const std::vector<std::string> oldest =
        IssueTokens(channels_, per_run * static_cast<int>(points_.size()) + 1);
    std::printf("%s: issued %zu tokens of the first key %s in %.1f s\n", algorithm_.c_str(),
                oldest.size(), oldest_kid.c_str(), (NowNs() - t0) / 1e9);

    PrintHeader();
    int keys = first.keys_size();
    for (size_t i = 0; i < points_.size(); ++i) {
      const int k = points_[i];
      // Grow the ring to K keys.
      const int rotations = k - keys;
      if (rotations < 0) Die(absl::StrCat("the ring already holds ", keys, " keys, more than ", k));
      double rotate_ms = 0;
      if (rotations > 0) {
        const int64_t r0 = NowNs();
        for (int r = 0; r < rotations; ++r) {
          v1::RotateKeyRequest request;
          request.set_immediate(true);
          v1::RotateKeyResponse response;
          grpc::Status s = stub_->RotateKey(Context().get(), request, &response);
          if (!s.ok()) Die("RotateKey: " + s.error_message());
        }
        rotate_ms = (NowNs() - r0) / 1e6 / rotations;
      }
      const v1::ListKeysResponse listed = ListKeys(stub_.get());
      keys = listed.keys_size();
      if (keys != k) Die(absl::StrCat("ListKeys returned ", keys, " keys, expected ", k));
      const bool oldest_verifies =
          std::any_of(listed.keys().begin(), listed.keys().end(), [&](const v1::Key& key) {
            return key.key_id() == oldest_kid &&
                   (key.state() == v1::KEY_STATE_ACTIVE || key.state() == v1::KEY_STATE_RETIRED);
          });
      if (!oldest_verifies) Die("the first key " + oldest_kid + " no longer verifies");

      Measure(k, "validate_unique_active", ValidateUnique(IssueTokens(channels_, per_run)));
      Measure(k, "validate_unique_oldest",
              ValidateUnique(std::vector<std::string>(oldest.begin() + per_run * i,
                                                      oldest.begin() + per_run * (i + 1))));
      const std::vector<std::string> one = IssueTokens(channels_, 1);
      Measure(k, "validate_hot_active", Timed(ValidateSpec(one.front()), Concurrency()));
      Measure(k, "validate_hot_oldest", Timed(ValidateSpec(oldest.back()), Concurrency()));

      v1::ListKeysRequest list_request;
      list_request.set_include_revoked(true);
      Figures list = Timed(CallSpec{&MethodName("/signet.v1.TokenService/ListKeys"),
                                    Serialized(list_request), Expect::kAny},
                           absl::GetFlag(FLAGS_rpc_concurrency));
      list.response_bytes = static_cast<double>(listed.ByteSizeLong());
      Measure(k, "list_keys", list);

      v1::GetJwksResponse jwks;
      grpc::Status s = stub_->GetJwks(Context().get(), v1::GetJwksRequest(), &jwks);
      if (!s.ok()) Die("GetJwks: " + s.error_message());
      Figures get_jwks = Timed(CallSpec{&MethodName("/signet.v1.TokenService/GetJwks"),
                                        Serialized(v1::GetJwksRequest()), Expect::kAny},
                               absl::GetFlag(FLAGS_rpc_concurrency));
      get_jwks.response_bytes = static_cast<double>(jwks.ByteSizeLong());
      Measure(k, "get_jwks", get_jwks);

      httplib::Client client("127.0.0.1", server_.http_port());
      httplib::Result document = client.Get(kJwksPath);
      if (!document || document->status != 200) Die("GET /.well-known/jwks.json failed");
      Measure(k, "jwks_http",
              RunHttpJwks(server_.http_port(), server_.pid(), absl::GetFlag(FLAGS_rpc_concurrency),
                          ""));
      Measure(k, "jwks_http_304",
              RunHttpJwks(server_.http_port(), server_.pid(), absl::GetFlag(FLAGS_rpc_concurrency),
                          document->get_header_value("ETag")));

      // Background work (maintenance and reload timers) that every per-call figure above shares.
      const std::optional<double> idle0 = ProcessCpuSeconds(server_.pid());
      const int64_t idle_start = NowNs();
      SleepUntilNs(idle_start + absl::ToInt64Nanoseconds(absl::GetFlag(FLAGS_duration)));
      const std::optional<double> idle1 = ProcessCpuSeconds(server_.pid());
      const double idle_ms_per_s = idle0.has_value() && idle1.has_value()
                                       ? (*idle1 - *idle0) * 1e3 / ((NowNs() - idle_start) / 1e9)
                                       : 0;
      output_->Add(Series("server"), k, kXLabel, "idle_cpu_ms_per_s", idle_ms_per_s);
      const double rss = ProcessRssMiB(server_.pid()).value_or(0);
      output_->Add(Series("server"), k, kXLabel, "rss_mib", rss);
      if (rotations > 0) output_->Add(Series("server"), k, kXLabel, "rotate_key_ms", rotate_ms);
      std::printf("%-26s %6d  rss %.1f MiB, idle CPU %.2f ms/s", "server", k, rss, idle_ms_per_s);
      if (rotations > 0) std::printf(", RotateKey %.2f ms each (%d)", rotate_ms, rotations);
      std::printf("\n\n");
      std::fflush(stdout);
    }
    server_.Stop(std::chrono::seconds(10));
  }

 private:
  std::string Series(const std::string& what) const { return algorithm_ + " " + what; }

  Figures ValidateUnique(const std::vector<std::string>& tokens) {
    std::vector<CallSpec> specs;
    specs.reserve(tokens.size());
    for (const std::string& t : tokens) specs.push_back(ValidateSpec(t));
    SpecsWorkload once(std::move(specs), /*each_once=*/true);
    // Runs until every token has been sent once.
    return FromRun(
        Driver(channels_, server_.pid())
            .RunClosed("unique", &once, Concurrency(), absl::ZeroDuration(), absl::Hours(1)));
  }

  Figures Timed(CallSpec spec, int concurrency) {
    FixedWorkload workload(std::move(spec));
    return FromRun(Driver(channels_, server_.pid())
                       .RunClosed("timed", &workload, concurrency, absl::GetFlag(FLAGS_warmup),
                                  absl::GetFlag(FLAGS_duration)));
  }

  static void PrintHeader() {
    std::printf("%-26s %6s %14s %10s %9s %9s %10s %9s\n", "series", "K", "server CPU/call", "QPS",
                "p50 ms", "p99 ms", "bytes", "failures");
  }

  void Measure(int keys, const std::string& what, const Figures& f) {
    const std::string series = Series(what);
    output_->Add(series, keys, kXLabel, "server_cpu_us", f.server_cpu_us);
    output_->Add(series, keys, kXLabel, "qps", f.qps);
    output_->Add(series, keys, kXLabel, "p50_ms", f.latency_ms.p50);
    output_->Add(series, keys, kXLabel, "p99_ms", f.latency_ms.p99);
    if (f.response_bytes >= 0)
      output_->Add(series, keys, kXLabel, "response_bytes", f.response_bytes);
    std::printf("%-26s %6d %11.1f us %10.0f %9.3f %9.3f %10s %9llu\n", what.c_str(), keys,
                f.server_cpu_us, f.qps, f.latency_ms.p50, f.latency_ms.p99,
                f.response_bytes >= 0 ? absl::StrCat(f.response_bytes).c_str() : "",
                static_cast<unsigned long long>(f.failures));
    std::fflush(stdout);
    if (f.failures > 0) {
      std::fprintf(stderr, "%s at K=%d: %llu of %llu calls failed or were refused\n",
                   series.c_str(), keys, static_cast<unsigned long long>(f.failures),
                   static_cast<unsigned long long>(f.calls));
    }
  }

  const std::string algorithm_;
  const std::vector<int> points_;
  const CurvePoints* const output_;
  ServerProcess server_{absl::GetFlag(FLAGS_server)};
  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  std::unique_ptr<v1::TokenService::Stub> stub_;
};

int Main(int argc, char** argv) {
  absl::SetProgramUsageMessage("Key ring size curve; see the comment at the top of keys_curve.cc");
  absl::ParseCommandLine(argc, argv);
  std::vector<int> points;
  for (absl::string_view p : absl::StrSplit(absl::GetFlag(FLAGS_keys), ',', absl::SkipEmpty())) {
    int k = 0;
    if (!absl::SimpleAtoi(p, &k) || k < 2 || (!points.empty() && k <= points.back())) {
      Die("--keys: ascending numbers of at least 2");
    }
    points.push_back(k);
  }
  std::optional<ScratchDir> scratch;
  std::string work_dir = absl::GetFlag(FLAGS_work_dir);
  if (work_dir.empty()) {
    scratch.emplace("keys_curve");
    if (!scratch->ok()) Die("mkdtemp failed");
    work_dir = scratch->path();
  }
  const CurvePoints output(absl::GetFlag(FLAGS_json_out), kCurve);
  std::printf(
      "keys curve: K = %s; %d tokens per no-cache run; timed runs %s after %s; "
      "ValidateToken at %d outstanding, other calls at %d\n\n",
      absl::StrJoin(points, ", ").c_str(), absl::GetFlag(FLAGS_tokens),
      absl::FormatDuration(absl::GetFlag(FLAGS_duration)).c_str(),
      absl::FormatDuration(absl::GetFlag(FLAGS_warmup)).c_str(), Concurrency(),
      absl::GetFlag(FLAGS_rpc_concurrency));
  for (absl::string_view alg : absl::StrSplit(absl::GetFlag(FLAGS_algorithms), ',')) {
    KeysCurve(std::string(alg), points, &output).Run(work_dir);
  }
  return 0;
}

}  // namespace
}  // namespace signet::bench

int main(int argc, char** argv) { return signet::bench::Main(argc, argv); }
