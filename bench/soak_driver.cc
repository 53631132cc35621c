// soak_driver: mixed traffic against a running signet-server for a long time, sampling latency
// and the server's memory every --interval into a CSV (see bench/soak.sh, which starts the server
// and runs this).
//
// Example:
//   soak_driver --target=127.0.0.1:50051 --server_pid=$PID --duration=10m --interval=10s
//       --rate=1000 --csv=soak.csv
//
// Traffic: --threads workers share --rate calls per second, each paced to its schedule (latency
// counts from the scheduled send time, so a stall shows up instead of slowing the load down).
// The mix: 88% ValidateToken of a token from a rolling pool, 10% IssueToken (into the pool),
// 1.5% RevokeToken of a pool token, 0.4% RevokeSubject, 0.1% RotateKey(immediate).
//
// CSV columns: elapsed_s, calls, errors, qps, p50_us, p90_us, p99_us, max_us, rss_kb,
// threads, fds, revoked_tokens, revoked_subjects, rotations.
#include <dirent.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "signet/v1/token_service.grpc.pb.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "signet-server address (loopback only)");
ABSL_FLAG(int, server_pid, 0, "PID of the server, for its RSS, threads and open files");
ABSL_FLAG(absl::Duration, duration, absl::Minutes(10), "How long to run");
ABSL_FLAG(absl::Duration, interval, absl::Seconds(10), "Sampling period");
ABSL_FLAG(double, rate, 1000, "Calls per second, all workers together");
ABSL_FLAG(int, threads, 8, "Workers (each a synchronous caller on its own channel)");
ABSL_FLAG(int, pool, 2000, "Tokens kept for validation");
ABSL_FLAG(std::string, csv, "soak.csv", "Where the samples go");

namespace {

using signet::v1::TokenService;

int64_t ProcStatusKb(int pid, const char* field) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (absl::StartsWith(line, field)) return std::stoll(line.substr(std::string(field).size()));
  }
  return -1;
}

int CountFds(int pid) {
  DIR* d = opendir(absl::StrCat("/proc/", pid, "/fd").c_str());
  if (d == nullptr) return -1;
  int n = 0;
  while (readdir(d) != nullptr) ++n;
  closedir(d);
  return n - 2;
}

struct Token {
  std::string token, jti, subject;
};

// Shared state of the run: the token pool, the latencies of the current interval, counters.
class Soak {
 public:
  explicit Soak(size_t pool_size) : pool_size_(pool_size) {}

  void AddToken(Token t) {
    absl::MutexLock lock(&mu_);
    if (pool_.size() < pool_size_) {
      pool_.push_back(std::move(t));
    } else {
      pool_[next_slot_++ % pool_size_] = std::move(t);
    }
  }
  bool PickToken(std::mt19937_64* rng, Token* out) {
    absl::MutexLock lock(&mu_);
    if (pool_.empty()) return false;
    *out = pool_[std::uniform_int_distribution<size_t>(0, pool_.size() - 1)(*rng)];
    return true;
  }
  void Record(absl::Duration latency, bool ok) {
    absl::MutexLock lock(&mu_);
    latencies_us_.push_back(absl::ToInt64Microseconds(latency));
    if (!ok) ++errors_;
  }
  // Takes the interval's latencies and errors, leaving empty ones.
  void Drain(std::vector<int64_t>* latencies, int64_t* errors) {
    absl::MutexLock lock(&mu_);
    latencies->swap(latencies_us_);
    latencies_us_.clear();
    *errors = errors_;
    errors_ = 0;
  }

  std::atomic<int64_t> revoked_tokens{0}, revoked_subjects{0}, rotations{0};
  std::atomic<bool> stop{false};

 private:
  const size_t pool_size_;
  absl::Mutex mu_;
  std::vector<Token> pool_ ABSL_GUARDED_BY(mu_);
  size_t next_slot_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<int64_t> latencies_us_ ABSL_GUARDED_BY(mu_);
  int64_t errors_ ABSL_GUARDED_BY(mu_) = 0;
};

void Deadline(grpc::ClientContext* ctx) {
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
}

bool Issue(TokenService::Stub* stub, const std::string& subject, Soak* soak) {
  signet::v1::IssueTokenRequest req;
  req.set_subject(subject);
  req.add_audience("orders");
  signet::v1::IssueTokenResponse resp;
  grpc::ClientContext ctx;
  Deadline(&ctx);
  if (!stub->IssueToken(&ctx, req, &resp).ok()) return false;
  soak->AddToken({resp.token(), resp.token_id(), subject});
  return true;
}

void Worker(int id, double rate, absl::Time end, Soak* soak) {
  auto stub = TokenService::NewStub(grpc::CreateCustomChannel(
      absl::GetFlag(FLAGS_target), grpc::InsecureChannelCredentials(), [] {
        grpc::ChannelArguments args;
        args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
        return args;
      }()));
  std::mt19937_64 rng(0x5eed + id);
  std::uniform_real_distribution<double> dice(0, 100);
  const absl::Duration period = absl::Seconds(1.0 / rate);
  absl::Time next = absl::Now();
  int64_t n = 0;
  while (!soak->stop.load() && absl::Now() < end) {
    absl::SleepFor(next - absl::Now());
    const absl::Time scheduled = next;
    next += period;
    const double d = dice(rng);
    bool ok = true;
    Token t;
    if (d < 88 && soak->PickToken(&rng, &t)) {
      signet::v1::ValidateTokenRequest req;
      req.set_token(t.token);
      req.set_audience("orders");
      signet::v1::ValidateTokenResponse resp;
      grpc::ClientContext ctx;
      Deadline(&ctx);
      ok = stub->ValidateToken(&ctx, req, &resp).ok();
    } else if (d < 98 || !soak->PickToken(&rng, &t)) {
      ok = Issue(stub.get(), absl::StrCat("user-", id, "-", n++ % 500), soak);
    } else if (d < 99.5) {
      signet::v1::RevokeTokenRequest req;
      req.set_token_id(t.jti);
      signet::v1::RevokeTokenResponse resp;
      grpc::ClientContext ctx;
      Deadline(&ctx);
      ok = stub->RevokeToken(&ctx, req, &resp).ok();
      if (ok) ++soak->revoked_tokens;
    } else if (d < 99.9) {
      signet::v1::RevokeSubjectRequest req;
      req.set_subject(t.subject);
      signet::v1::RevokeSubjectResponse resp;
      grpc::ClientContext ctx;
      Deadline(&ctx);
      ok = stub->RevokeSubject(&ctx, req, &resp).ok();
      if (ok) ++soak->revoked_subjects;
    } else {
      signet::v1::RotateKeyRequest req;
      req.set_immediate(true);
      signet::v1::RotateKeyResponse resp;
      grpc::ClientContext ctx;
      Deadline(&ctx);
      ok = stub->RotateKey(&ctx, req, &resp).ok();
      if (ok) ++soak->rotations;
    }
    soak->Record(absl::Now() - scheduled, ok);
  }
}

int64_t Percentile(const std::vector<int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t i = static_cast<size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const std::string target = absl::GetFlag(FLAGS_target);
  if (!absl::StartsWith(target, "127.") && !absl::StartsWith(target, "localhost:")) {
    std::fprintf(stderr, "soak_driver: loopback targets only\n");
    return 2;
  }
  const int pid = absl::GetFlag(FLAGS_server_pid);
  const int threads = std::max(1, absl::GetFlag(FLAGS_threads));
  const double rate = absl::GetFlag(FLAGS_rate);
  const absl::Duration interval = absl::GetFlag(FLAGS_interval);
  Soak soak(static_cast<size_t>(std::max(1, absl::GetFlag(FLAGS_pool))));

  std::FILE* csv = std::fopen(absl::GetFlag(FLAGS_csv).c_str(), "w");
  if (csv == nullptr) {
    std::fprintf(stderr, "soak_driver: cannot write %s\n", absl::GetFlag(FLAGS_csv).c_str());
    return 1;
  }
  std::fprintf(csv,
               "elapsed_s,calls,errors,qps,p50_us,p90_us,p99_us,max_us,rss_kb,threads,fds,"
               "revoked_tokens,revoked_subjects,rotations\n");

  {
    auto stub =
        TokenService::NewStub(grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
    for (int i = 0; i < 200; ++i) {
      if (!Issue(stub.get(), absl::StrCat("seed-", i), &soak)) {
        std::fprintf(stderr, "soak_driver: cannot issue tokens at %s\n", target.c_str());
        return 1;
      }
    }
  }

  const absl::Time start = absl::Now();
  const absl::Time end = start + absl::GetFlag(FLAGS_duration);
  std::vector<std::thread> workers;
  for (int i = 0; i < threads; ++i) {
    workers.emplace_back(Worker, i, rate / threads, end, &soak);
  }
  absl::Time next_sample = start + interval;
  std::vector<int64_t> latencies;
  while (next_sample <= end) {
    absl::SleepFor(next_sample - absl::Now());
    int64_t errors = 0;
    soak.Drain(&latencies, &errors);
    std::sort(latencies.begin(), latencies.end());
    const double elapsed = absl::ToDoubleSeconds(absl::Now() - start);
    std::fprintf(csv,
                 "%.0f,%zu,%" PRId64 ",%.0f,%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64
                 ",%" PRId64 ",%" PRId64 ",%d,%" PRId64 ",%" PRId64 ",%" PRId64 "\n",
                 elapsed, latencies.size(), errors,
                 static_cast<double>(latencies.size()) / absl::ToDoubleSeconds(interval),
                 Percentile(latencies, 0.5), Percentile(latencies, 0.9),
                 Percentile(latencies, 0.99), latencies.empty() ? 0 : latencies.back(),
                 pid > 0 ? ProcStatusKb(pid, "VmRSS:") : -1,
                 pid > 0 ? ProcStatusKb(pid, "Threads:") : -1, pid > 0 ? CountFds(pid) : -1,
                 soak.revoked_tokens.load(), soak.revoked_subjects.load(), soak.rotations.load());
    std::fflush(csv);
    next_sample += interval;
  }
  soak.stop = true;
  for (std::thread& t : workers) t.join();
  std::fclose(csv);
  return 0;
}
