// Drives a workload's calls over gRPC channels, closed or open loop, and measures them.
#ifndef SIGNET_BENCH_LOAD_DRIVER_H_
#define SIGNET_BENCH_LOAD_DRIVER_H_

#include <sys/prctl.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "bench/load/histogram.h"
#include "bench/load/process_figures.h"
#include "bench/load/run_result.h"
#include "bench/load/workload.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/support/byte_buffer.h"
#include "signet/v1/token_service.pb.h"

namespace signet::bench {

// Prints `what` to stderr and exits 1.
[[noreturn]] void Die(const std::string& what);

bool IsLoopbackTarget(const std::string& target);

std::vector<std::shared_ptr<grpc::Channel>> MakeChannels(const std::string& target, int count);

// Drives calls of one workload over a set of channels, closed or open loop.
class Driver {
 public:
  Driver(std::vector<std::shared_ptr<grpc::Channel>> channels, int server_pid)
      : channels_(std::move(channels)), server_pid_(server_pid) {
    for (const auto& channel : channels_)
      stubs_.push_back(std::make_unique<grpc::GenericStub>(channel));
  }

  RunResult RunClosed(const std::string& name, Workload* workload, int concurrency,
                      absl::Duration warmup, absl::Duration duration) {
    // A workload of limited calls (each token once) would spend them warming up: it is measured
    // from the start until it runs out, or for the duration.
    if (workload->limit() != 0) warmup = absl::ZeroDuration();
    Begin(workload);
    const int64_t start = NowNs();
    {
      std::lock_guard<std::mutex> lock(mu_);
      outstanding_ = concurrency;
    }
    for (int slot = 0; slot < concurrency; ++slot) StartCall(slot, NowNs());
    RunResult r = Measure(name, start, warmup, duration);
    Drain();
    return r;
  }

  RunResult RunOpen(const std::string& name, Workload* workload, double rate, absl::Duration warmup,
                    absl::Duration duration, int max_outstanding) {
    if (workload->limit() != 0) warmup = absl::ZeroDuration();
    Begin(workload);
    const int64_t start = NowNs();
    const int64_t end = start + absl::ToInt64Nanoseconds(warmup + duration);
    std::atomic<uint64_t> skipped{0};
    std::thread pacer([&] {
      prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
      const double interval = 1e9 / rate;
      for (uint64_t i = 0;; ++i) {
        const int64_t intended = start + static_cast<int64_t>(static_cast<double>(i) * interval);
        if (intended >= end || stop_.load()) break;
        SleepUntilNs(intended);
        {
          std::lock_guard<std::mutex> lock(mu_);
          if (outstanding_ >= max_outstanding) {
            if (measuring_.load()) skipped.fetch_add(1);
            continue;
          }
          ++outstanding_;
        }
        StartCall(static_cast<int>(i % channels_.size()), intended, /*chain=*/false);
      }
    });
    RunResult r = Measure(name, start, warmup, duration);
    pacer.join();
    Drain();
    r.skipped = skipped.load();
    r.offered_rate = rate;
    return r;
  }

 private:
  struct Call {
    grpc::ClientContext context;
    grpc::ByteBuffer request;
    grpc::ByteBuffer response;
    const CallSpec* spec = nullptr;
    int64_t intended_ns = 0;
    int slot = 0;
    bool chain = true;
  };

  void Begin(Workload* workload) {
    workload_ = workload;
    sequence_.store(0);
    stop_.store(false);
    measuring_.store(false);
    histogram_ = std::make_unique<Histogram>();
    ok_.store(0);
    unexpected_.store(0);
    for (auto& c : codes_) c.store(0);
    for (auto& c : reasons_) c.store(0);
  }

  void StartCall(int slot, int64_t intended_ns, bool chain = true) {
    const uint64_t sequence = sequence_.fetch_add(1);
    const uint64_t limit = workload_->limit();
    if (limit != 0 && sequence >= limit) {
      stop_.store(true);
      Finished();
      return;
    }
    auto* call = new Call;
    call->spec = &workload_->Next(sequence);
    call->intended_ns = intended_ns;
    call->slot = slot;
    call->chain = chain;
    grpc::Slice slice = call->spec->request;
    call->request = grpc::ByteBuffer(&slice, 1);
    call->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    if (!call->spec->authorization.empty()) {
      call->context.AddMetadata("authorization", call->spec->authorization);
    }
    stubs_[slot % stubs_.size()]->UnaryCall(
        &call->context, *call->spec->method, grpc::StubOptions(), &call->request, &call->response,
        [this, call](grpc::Status status) { OnDone(call, status); });
  }

  void OnDone(Call* call, const grpc::Status& status) {
    const int64_t now = NowNs();
    if (measuring_.load(std::memory_order_relaxed)) {
      histogram_->Record(now - call->intended_ns);
      if (!status.ok()) {
        codes_[std::min<int>(status.error_code(), kCodes - 1)].fetch_add(1);
      } else if (Expected(*call)) {
        ok_.fetch_add(1, std::memory_order_relaxed);
      } else {
        unexpected_.fetch_add(1, std::memory_order_relaxed);
        if (call->spec->expect == Expect::kValid) {
          signet::v1::ValidateTokenResponse answer;
          grpc::Slice all;
          if (call->response.DumpToSingleSlice(&all).ok() &&
              answer.ParseFromArray(all.begin(), static_cast<int>(all.size()))) {
            reasons_[std::clamp<int>(answer.reason(), 0, kReasons - 1)].fetch_add(1);
          }
        }
      }
    }
    const int slot = call->slot;
    const bool chain = call->chain;
    delete call;
    if (chain && !stop_.load(std::memory_order_relaxed)) {
      StartCall(slot, NowNs());
    } else {
      Finished();
    }
  }

  static bool Expected(Call& call) {
    if (call.spec->expect == Expect::kAny) return true;
    if (call.spec->expect == Expect::kGreetedUser ||
        call.spec->expect == Expect::kGreetedAnonymous) {
      grpc::Slice all;
      if (!call.response.DumpToSingleSlice(&all).ok()) return false;
      const std::string_view text(reinterpret_cast<const char*>(all.begin()), all.size());
      const bool anonymous = text.find("Hello, anonymous!") != std::string_view::npos;
      return anonymous == (call.spec->expect == Expect::kGreetedAnonymous);
    }
    if (call.spec->expect == Expect::kAllowed) {
      // CheckResponse field 1 (status) first, empty: code 0 (OK).
      grpc::Slice first;
      if (!call.response.TrySingleSlice(&first).ok() &&
          !call.response.DumpToSingleSlice(&first).ok()) {
        return false;
      }
      return first.size() >= 2 && first.begin()[0] == 0x0a && first.begin()[1] == 0x00;
    }
    // Both answers start with field 1 as varint 1: HealthCheckResponse.status = SERVING,
    // ValidateTokenResponse.valid = true. Checking two bytes keeps the client cheap.
    grpc::Slice first;
    if (!call.response.TrySingleSlice(&first).ok() &&
        !call.response.DumpToSingleSlice(&first).ok()) {
      return false;
    }
    return first.size() >= 2 && first.begin()[0] == 0x08 && first.begin()[1] == 0x01;
  }

  void Finished() {
    std::lock_guard<std::mutex> lock(mu_);
    if (--outstanding_ == 0) done_.notify_all();
  }

  RunResult Measure(const std::string& name, int64_t start, absl::Duration warmup,
                    absl::Duration duration) {
    SleepUntilNs(start + absl::ToInt64Nanoseconds(warmup));
    const std::optional<double> cpu0 = ProcessCpuSeconds(server_pid_);
    const double self0 = SelfCpuSeconds();
    const int64_t t0 = NowNs();
    measuring_.store(true);
    // A run with a call limit may end early.
    const int64_t deadline = t0 + absl::ToInt64Nanoseconds(duration);
    while (NowNs() < deadline && !stop_.load()) {
      SleepUntilNs(std::min(deadline, NowNs() + 20 * 1000 * 1000));
    }
    measuring_.store(false);
    const int64_t t1 = NowNs();
    const std::optional<double> cpu1 = ProcessCpuSeconds(server_pid_);
    const double self1 = SelfCpuSeconds();
    stop_.store(true);

    RunResult r;
    r.name = name;
    r.seconds = (t1 - t0) / 1e9;
    r.ok = ok_.load();
    r.unexpected = unexpected_.load();
    for (int reason = 0; reason < kReasons; ++reason) {
      if (reasons_[reason].load() > 0) r.reasons[reason] = reasons_[reason].load();
    }
    for (int code = 0; code < kCodes; ++code) {
      if (codes_[code].load() > 0) r.errors[code] = codes_[code].load();
    }
    r.qps = static_cast<double>(r.calls()) / r.seconds;
    r.p50_us = histogram_->Quantile(0.50) / 1000;
    r.p90_us = histogram_->Quantile(0.90) / 1000;
    r.p99_us = histogram_->Quantile(0.99) / 1000;
    r.p999_us = histogram_->Quantile(0.999) / 1000;
    if (cpu0.has_value() && cpu1.has_value()) r.server_cpu_s = *cpu1 - *cpu0;
    r.client_cpu_s = self1 - self0;
    return r;
  }

  void Drain() {
    stop_.store(true);
    std::unique_lock<std::mutex> lock(mu_);
    done_.wait(lock, [this] { return outstanding_ <= 0; });
  }

  static constexpr int kCodes = 17;

  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  std::vector<std::unique_ptr<grpc::GenericStub>> stubs_;
  const int server_pid_;
  Workload* workload_ = nullptr;
  std::atomic<uint64_t> sequence_{0};
  std::atomic<bool> stop_{false};
  std::atomic<bool> measuring_{false};
  std::unique_ptr<Histogram> histogram_;
  std::atomic<uint64_t> ok_{0}, unexpected_{0};
  static constexpr int kReasons = 13;
  std::array<std::atomic<uint64_t>, kReasons> reasons_{};
  std::array<std::atomic<uint64_t>, kCodes> codes_{};
  std::mutex mu_;
  std::condition_variable done_;
  int outstanding_ = 0;
};

}  // namespace signet::bench

#endif  // SIGNET_BENCH_LOAD_DRIVER_H_
