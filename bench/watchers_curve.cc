// The "watchers" scale curve: what one signet-server replica pays per WatchKeys stream, and how
// long a token revocation takes to reach every stream, at W = 1 .. 5,000 streams.
//
// For each W a fresh signet-server (SQLite, fresh data folder, loopback) is started with room for
// W streams (--max_watchers=W+16, --max_watchers_per_caller=0; at most --streams_per_channel
// streams share one connection, under the server's --max_concurrent_streams of 256). This process
// opens W WatchKeys streams, as a LocalValidator's KeyStateFollower holds them (a plain
// WatchKeysRequest, read for as long as it lasts), with gRPC's callback API over ceil(W /
// streams_per_channel) channels, each its own TCP connection, and waits for every stream's first
// (full-state) message. Then it sends --revocations RevokeToken calls (by token id), one at a
// time: from sending each call (t0) until the message carrying it arrives on each stream. Per
// revocation, "every watcher" is the latest of the W arrivals; "delivery" is each single arrival.
// A replica writes the change to its streams only after publishing the snapshot that refuses the
// token, so the arrival is when that watcher's validator would refuse it.
//
// Per W it reports: p50/p99 of every-watcher delays over the revocations, p99 over all (watcher,
// revocation) deliveries, server RSS per watcher ((VmRSS with W streams open - VmRSS before any
// connection) / W, KiB) and server CPU per broadcast (utime+stime of the server across the
// revocations / revocations, ms; it includes the RevokeToken call itself and the SQLite commit).
//
//   build/bench/watchers_curve [--watchers=1,10,100,1000,5000] [--revocations=100]
//       [--streams_per_channel=200] [--json_out=PATH]
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/fleet/curve_points.h"
#include "bench/fleet/flag_args.h"
#include "bench/fleet/percentile.h"
#include "bench/fleet/scratch_dir.h"
#include "bench/fleet/server_process.h"
#include "bench/load/driver.h"
#include "bench/load/process_figures.h"
#include "grpcpp/grpcpp.h"
#include "signet/v1/token_service.grpc.pb.h"

namespace signet::bench {
namespace {

namespace v1 = ::signet::v1;

constexpr char kXLabel[] = "WatchKeys streams";

// Where each stream's copy of each revocation arrived (NowNs), filled by the streams' reactors.
class Arrivals {
 public:
  Arrivals(std::vector<std::string> token_ids, int watchers)
      : watchers_(watchers),
        at_(token_ids.size() * static_cast<size_t>(watchers), 0),
        count_(token_ids.size()) {
    for (size_t r = 0; r < token_ids.size(); ++r) index_.emplace(std::move(token_ids[r]), r);
    for (auto& c : count_) c.store(0);
  }

  // Called on stream `watcher`'s reactor (one callback of a stream at a time). Repeats (a full
  // state sent again) keep the first arrival.
  void Arrived(const std::string& token_id, int watcher, int64_t now) {
    auto it = index_.find(token_id);  // Read-only after construction.
    if (it == index_.end()) return;
    int64_t& slot = at_[it->second * watchers_ + watcher];
    if (slot != 0) return;
    slot = now;
    if (count_[it->second].fetch_add(1) + 1 == watchers_) {
      std::lock_guard<std::mutex> lock(mu_);
      cv_.notify_all();
    }
  }

  // Waits until every stream has revocation `r`; false after `limit`.
  bool WaitAll(size_t r, std::chrono::milliseconds limit) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, limit, [&] { return count_[r].load() == watchers_; });
  }

  // Revocation r's arrival on `watcher`; only after WaitAll(r) returned true.
  int64_t at(size_t r, int watcher) const { return at_[r * watchers_ + watcher]; }

 private:
  const int watchers_;
  std::unordered_map<std::string, size_t> index_;
  std::vector<int64_t> at_;
  std::vector<std::atomic<int>> count_;
  std::mutex mu_;
  std::condition_variable cv_;
};

// Counts streams that have their first message, and streams that have ended.
struct StreamCounts {
  std::mutex mu;
  std::condition_variable cv;
  int started = 0;
  int ended = 0;
  int failed = 0;  // Ended with a status other than CANCELLED (we cancel at the end).
  std::string first_error;
};

// One WatchKeys stream, read with the callback API.
class WatchStream final : public grpc::ClientReadReactor<v1::WatchKeysResponse> {
 public:
  WatchStream(v1::TokenService::Stub* stub, int index, Arrivals* arrivals, StreamCounts* counts)
      : index_(index), arrivals_(arrivals), counts_(counts) {
    stub->async()->WatchKeys(&context_, &request_, this);
    StartRead(&message_);
    StartCall();
  }

  void Cancel() { context_.TryCancel(); }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // OnDone follows.
    const int64_t now = NowNs();
    for (const v1::TokenRevocation& revocation : message_.token_revocations()) {
      arrivals_->Arrived(revocation.token_id(), index_, now);
    }
    if (!started_ && message_.snapshot()) {
      started_ = true;
      std::lock_guard<std::mutex> lock(counts_->mu);
      ++counts_->started;
      counts_->cv.notify_all();
    }
    StartRead(&message_);
  }

  void OnDone(const grpc::Status& status) override {
    std::lock_guard<std::mutex> lock(counts_->mu);
    ++counts_->ended;
    if (status.error_code() != grpc::StatusCode::CANCELLED) {
      if (counts_->failed++ == 0) {
        counts_->first_error = absl::StrCat(status.error_code(), ": ", status.error_message());
      }
    }
    counts_->cv.notify_all();
  }

 private:
  const int index_;
  Arrivals* const arrivals_;
  StreamCounts* const counts_;
  grpc::ClientContext context_;
  v1::WatchKeysRequest request_;
  v1::WatchKeysResponse message_;
  bool started_ = false;
};

struct Options {
  std::vector<int> watchers = {1, 10, 100, 1000, 5000};
  int revocations = 100;
  int streams_per_channel = 200;
  std::string json_out;
};

struct Figures {
  int watchers = 0;
  int channels = 0;
  double open_s = 0;
  double rss0_mib = 0;
  double rss_mib = 0;
  double kib_per_watcher = 0;
  Quantiles ack_ms;  // RevokeToken answered (committed to SQLite).
  Quantiles every_ms;
  Quantiles delivery_ms;
  double cpu_ms_per_broadcast = 0;
  double client_cpu_ms_per_broadcast = 0;
};

std::unique_ptr<grpc::ClientContext> Context() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return context;
}

double Ms(int64_t ns) { return static_cast<double>(ns) / 1e6; }

std::optional<Figures> Measure(const Options& options, int watchers, const std::string& dir) {
  ServerProcess server;
  const std::string data = absl::StrCat(dir, "/data-", watchers);
  if (!server.Start({"--store=sqlite", "--data_dir=" + data, "--http_listen=",
                     "--listen=127.0.0.1:0", "--audit_log=" + data + "-audit.jsonl",
                     absl::StrCat("--max_watchers=", watchers + 16), "--max_watchers_per_caller=0"},
                    absl::StrCat(dir, "/server-", watchers, ".log"))) {
    return std::nullopt;
  }
  Figures f;
  f.watchers = watchers;
  std::vector<std::shared_ptr<grpc::Channel>> control_channel = MakeChannels(server.target(), 1);
  auto control = v1::TokenService::NewStub(control_channel.front());
  // One revocation first, so that its first-time costs (the SQLite table's pages, the audit file)
  // are paid before the baseline.
  {
    v1::RevokeTokenRequest revoke;
    revoke.set_token_id("watchers-curve-warmup");
    v1::RevokeTokenResponse revoked;
    grpc::Status status = control->RevokeToken(Context().get(), revoke, &revoked);
    if (!status.ok()) {
      std::fprintf(stderr, "RevokeToken: %s\n", status.error_message().c_str());
      return std::nullopt;
    }
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  f.rss0_mib = ProcessRssMiB(server.pid()).value_or(0);

  std::vector<std::string> token_ids;
  for (int r = 0; r < options.revocations; ++r) {
    token_ids.push_back(absl::StrFormat("watchers-%d-%d", watchers, r));
  }
  Arrivals arrivals(token_ids, watchers);
  StreamCounts counts;
  f.channels = (watchers + options.streams_per_channel - 1) / options.streams_per_channel;
  std::vector<std::shared_ptr<grpc::Channel>> channels = MakeChannels(server.target(), f.channels);
  std::vector<std::unique_ptr<v1::TokenService::Stub>> stubs;
  for (const auto& channel : channels) stubs.push_back(v1::TokenService::NewStub(channel));
  std::vector<std::unique_ptr<WatchStream>> streams;
  const int64_t open_start = NowNs();
  for (int i = 0; i < watchers; ++i) {
    streams.push_back(
        std::make_unique<WatchStream>(stubs[i % stubs.size()].get(), i, &arrivals, &counts));
  }
  bool all_started = false;
  {
    std::unique_lock<std::mutex> lock(counts.mu);
    all_started = counts.cv.wait_for(lock, std::chrono::seconds(120), [&] {
      return counts.started == watchers || counts.ended > 0;
    });
    all_started = all_started && counts.started == watchers;
  }
  f.open_s = (NowNs() - open_start) / 1e9;
  auto end_streams = [&] {
    for (auto& s : streams) s->Cancel();
    std::unique_lock<std::mutex> lock(counts.mu);
    counts.cv.wait_for(lock, std::chrono::seconds(60), [&] { return counts.ended == watchers; });
    return counts.ended == watchers;
  };
  if (!all_started) {
    std::fprintf(stderr, "W=%d: %d of the streams started (%d failed: %s)\n", watchers,
                 counts.started, counts.failed, counts.first_error.c_str());
    if (!end_streams()) std::_Exit(1);  // Reactors still referenced: cannot unwind safely.
    return std::nullopt;
  }
  std::this_thread::sleep_for(std::chrono::seconds(1));
  f.rss_mib = ProcessRssMiB(server.pid()).value_or(0);
  f.kib_per_watcher = (f.rss_mib - f.rss0_mib) * 1024.0 / watchers;

  std::vector<double> acks;
  std::vector<double> every;
  std::vector<double> deliveries;
  deliveries.reserve(static_cast<size_t>(options.revocations) * watchers);
  const std::optional<double> cpu0 = ProcessCpuSeconds(server.pid());
  const double self0 = SelfCpuSeconds();
  bool ok = true;
  for (int r = 0; r < options.revocations && ok; ++r) {
    v1::RevokeTokenRequest revoke;
    revoke.set_token_id(token_ids[r]);
    v1::RevokeTokenResponse revoked;
    const int64_t t0 = NowNs();
    grpc::Status status = control->RevokeToken(Context().get(), revoke, &revoked);
    acks.push_back(Ms(NowNs() - t0));
    if (!status.ok()) {
      std::fprintf(stderr, "RevokeToken: %s\n", status.error_message().c_str());
      ok = false;
      break;
    }
    if (!arrivals.WaitAll(r, std::chrono::seconds(10))) {
      std::fprintf(stderr, "W=%d: revocation %d did not reach every stream within 10 s\n", watchers,
                   r);
      ok = false;
      break;
    }
    int64_t latest = 0;
    for (int w = 0; w < watchers; ++w) {
      const int64_t at = arrivals.at(r, w);
      latest = std::max(latest, at);
      deliveries.push_back(Ms(at - t0));
    }
    every.push_back(Ms(latest - t0));
  }
  const std::optional<double> cpu1 = ProcessCpuSeconds(server.pid());
  const double self1 = SelfCpuSeconds();
  {
    std::lock_guard<std::mutex> lock(counts.mu);
    if (counts.failed > 0) {
      std::fprintf(stderr, "W=%d: %d streams ended early: %s\n", watchers, counts.failed,
                   counts.first_error.c_str());
      ok = false;
    }
  }
  if (!end_streams()) std::_Exit(1);
  if (!ok) return std::nullopt;
  f.ack_ms = QuantilesOf(std::move(acks));
  f.every_ms = QuantilesOf(std::move(every));
  f.delivery_ms = QuantilesOf(std::move(deliveries));
  if (cpu0 && cpu1) f.cpu_ms_per_broadcast = (*cpu1 - *cpu0) * 1e3 / options.revocations;
  f.client_cpu_ms_per_broadcast = (self1 - self0) * 1e3 / options.revocations;
  return f;
}

int Run(const Options& options) {
  ScratchDir dir("signet-watchers");
  if (!dir.ok()) return 1;
  CurvePoints points(options.json_out, "watchers");
  const std::string series =
      absl::StrCat("one signet-server, SQLite; ", options.streams_per_channel,
                   options.streams_per_channel == 1 ? " stream" : " streams", " per connection");
  std::printf("%d revocations per point; delays from sending RevokeToken (ms)\n\n",
              options.revocations);
  std::printf("%6s %5s %7s %8s %8s %9s | %7s %7s | %8s %8s %8s | %8s %8s | %9s %9s\n", "W", "chans",
              "open s", "RSS0 MiB", "RSS MiB", "KiB/watch", "ack50", "ack99", "every50", "every99",
              "everyMax", "deliv50", "deliv99", "srv ms/bc", "cli ms/bc");
  bool targets_met = true;
  for (int w : options.watchers) {
    std::optional<Figures> f = Measure(options, w, dir.path());
    if (!f) return 1;
    std::printf(
        "%6d %5d %7.2f %8.1f %8.1f %9.1f | %7.2f %7.2f | %8.2f %8.2f %8.2f | %8.2f %8.2f | %9.3f "
        "%9.3f\n",
        f->watchers, f->channels, f->open_s, f->rss0_mib, f->rss_mib, f->kib_per_watcher,
        f->ack_ms.p50, f->ack_ms.p99, f->every_ms.p50, f->every_ms.p99, f->every_ms.max,
        f->delivery_ms.p50, f->delivery_ms.p99, f->cpu_ms_per_broadcast,
        f->client_cpu_ms_per_broadcast);
    std::fflush(stdout);
    points.Add(series, w, kXLabel, "every_watcher_p50_ms", f->every_ms.p50);
    points.Add(series, w, kXLabel, "every_watcher_p99_ms", f->every_ms.p99);
    points.Add(series, w, kXLabel, "delivery_p99_ms", f->delivery_ms.p99);
    points.Add(series, w, kXLabel, "revoke_ack_p99_ms", f->ack_ms.p99);
    points.Add(series, w, kXLabel, "rss_kib_per_watcher", f->kib_per_watcher);
    points.Add(series, w, kXLabel, "server_cpu_ms_per_broadcast", f->cpu_ms_per_broadcast);
    if (w == 1000) {
      targets_met = f->every_ms.p99 < 100 && f->kib_per_watcher < 64;
      std::printf(
          "       targets at W=1,000 (every watcher p99 < 100 ms, < 64 KiB per watcher): "
          "%s\n",
          targets_met ? "met" : "MISSED");
    }
  }
  return 0;
}

// Parses the command line (usage on stderr: 2), then Run().
int Main(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    if (PositiveListFlag(argv[i], "watchers", INT_MAX, &options.watchers) ||
        IntFlag(argv[i], "revocations", 1, INT_MAX, &options.revocations) ||
        IntFlag(argv[i], "streams_per_channel", 1, 256, &options.streams_per_channel) ||
        StringFlag(argv[i], "json_out", &options.json_out)) {
      continue;
    }
    std::fprintf(stderr,
                 "usage: %s [--watchers=1,10,100,1000,5000] [--revocations=100] "
                 "[--streams_per_channel=200 (at most 256)] [--json_out=PATH]\n",
                 argv[0]);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  return Run(options);
}

}  // namespace
}  // namespace signet::bench

int main(int argc, char** argv) { return signet::bench::Main(argc, argv); }
