// Overload: far more concurrent calls than the server can serve at once. Waves of 5,000
// outstanding async ValidateToken and IssueToken calls with short deadlines, from 16 connections,
// against an in-process server. Every call ends answered (and correctly), or shed with
// DEADLINE_EXCEEDED or RESOURCE_EXHAUSTED; memory does not grow from wave to wave; and once the
// load stops a normal call succeeds.
#include <atomic>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/integration/reliability/reliability_util.h"
#include "tests/integration/test_support.h"

namespace signet {
namespace {

constexpr int kCallsPerWave = 5000;
constexpr int kChannels = 16;

// One outstanding call: everything gRPC needs until its callback runs.
struct PendingCall {
  grpc::ClientContext ctx;
  v1::ValidateTokenRequest validate_req;
  v1::ValidateTokenResponse validate_resp;
  v1::IssueTokenRequest issue_req;
  v1::IssueTokenResponse issue_resp;
};

struct Tally {
  absl::Mutex mu;
  int done ABSL_GUARDED_BY(mu) = 0;
  std::map<grpc::StatusCode, int> codes ABSL_GUARDED_BY(mu);
  int wrong_answers ABSL_GUARDED_BY(mu) = 0;
};

class OverloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server::SignetServer::Options options;
    options.config = testing::TestConfig(dir_.path());
    options.run_maintenance = false;
    server_ = testing::StartServer(std::move(options));
    ASSERT_NE(server_, nullptr);
    for (int i = 0; i < kChannels; ++i) {
      grpc::ChannelArguments args;
      // A connection of its own per channel (channels otherwise share one subchannel).
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
      stubs_.push_back(v1::TokenService::NewStub(grpc::CreateCustomChannel(
          absl::StrCat("127.0.0.1:", server_->port()), grpc::InsecureChannelCredentials(), args)));
    }
    v1::IssueTokenRequest req;
    req.set_subject("load");
    v1::IssueTokenResponse resp;
    grpc::ClientContext ctx;
    ASSERT_TRUE(stubs_[0]->IssueToken(&ctx, req, &resp).ok());
    token_ = resp.token();
  }

  // Starts kCallsPerWave calls at once (two in three ValidateToken, one IssueToken), deadlines
  // of 50 to 500 ms, and waits for every one to end.
  void Wave(Tally* tally) {
    // The previous wave's calls are freed only now: a callback may still be returning when the
    // wave's last count arrives.
    previous_wave_.clear();
    std::vector<std::unique_ptr<PendingCall>>& calls = previous_wave_;
    calls.reserve(kCallsPerWave);
    int target;
    {
      absl::MutexLock lock(&tally->mu);
      target = tally->done + kCallsPerWave;
    }
    for (int i = 0; i < kCallsPerWave; ++i) {
      auto call = std::make_unique<PendingCall>();
      call->ctx.set_deadline(std::chrono::system_clock::now() +
                             std::chrono::milliseconds(50 + (i * 7919) % 450));
      v1::TokenService::Stub* stub = stubs_[i % kChannels].get();
      PendingCall* c = call.get();
      if (i % 3 != 2) {
        c->validate_req.set_token(token_);
        c->validate_req.set_any_audience(true);
        stub->async()->ValidateToken(&c->ctx, &c->validate_req, &c->validate_resp,
                                     [tally, c](grpc::Status st) {
                                       absl::MutexLock lock(&tally->mu);
                                       ++tally->codes[st.error_code()];
                                       if (st.ok() && !c->validate_resp.valid()) {
                                         ++tally->wrong_answers;
                                       }
                                       ++tally->done;
                                     });
      } else {
        c->issue_req.set_subject(absl::StrCat("user-", i));
        stub->async()->IssueToken(&c->ctx, &c->issue_req, &c->issue_resp,
                                  [tally, c](grpc::Status st) {
                                    absl::MutexLock lock(&tally->mu);
                                    ++tally->codes[st.error_code()];
                                    if (st.ok() && c->issue_resp.token().empty()) {
                                      ++tally->wrong_answers;
                                    }
                                    ++tally->done;
                                  });
      }
      calls.push_back(std::move(call));
    }
    absl::MutexLock lock(&tally->mu);
    auto all_done = [tally, target]()
                        ABSL_EXCLUSIVE_LOCKS_REQUIRED(tally->mu) { return tally->done >= target; };
    tally->mu.Await(absl::Condition(&all_done));
  }

  testing::TempDir dir_;
  std::unique_ptr<server::SignetServer> server_;
  std::vector<std::unique_ptr<v1::TokenService::Stub>> stubs_;
  std::string token_;
  std::vector<std::unique_ptr<PendingCall>> previous_wave_;
};

TEST_F(OverloadTest, ThousandsOfOutstandingCallsAreAnsweredOrShedMemoryIsBoundedAndItRecovers) {
  const int64_t idle_kb = reliability::RssKb();
  std::vector<int64_t> after_wave_kb;
  Tally tally;
  const int waves = 4;
  for (int w = 0; w < waves; ++w) {
    Wave(&tally);
    after_wave_kb.push_back(reliability::RssKb());
  }

  absl::MutexLock lock(&tally.mu);
  std::printf(
      "overload: %d calls in %d waves of %d over %d connections; RSS idle %lld KiB, "
      "after each wave:",
      tally.done, waves, kCallsPerWave, kChannels, static_cast<long long>(idle_kb));
  for (int64_t kb : after_wave_kb) std::printf(" %lld", static_cast<long long>(kb));
  std::printf(" KiB\n");
  int shed = 0;
  for (const auto& [code, n] : tally.codes) {
    std::printf("overload:   status %d: %d calls\n", static_cast<int>(code), n);
    EXPECT_TRUE(code == grpc::StatusCode::OK || code == grpc::StatusCode::DEADLINE_EXCEEDED ||
                code == grpc::StatusCode::RESOURCE_EXHAUSTED)
        << "unexpected status " << code << " for " << n << " calls";
    if (code != grpc::StatusCode::OK) shed += n;
  }
  EXPECT_EQ(tally.done, waves * kCallsPerWave);
  EXPECT_EQ(tally.wrong_answers, 0);
  EXPECT_GT(tally.codes[grpc::StatusCode::OK], 0) << "nothing was served under load";

  if (!reliability::kSanitizedBuild) {
    // Bounded: the first wave sets the working size; later waves stay near it.
    EXPECT_LT(after_wave_kb.back() - after_wave_kb.front(), 32 * 1024);
    EXPECT_LT(after_wave_kb.back() - idle_kb, 256 * 1024);
  }

  // The load has stopped: a normal call on a fresh connection succeeds.
  auto stub = testing::NewStub(server_->port());
  v1::ValidateTokenRequest req;
  req.set_token(token_);
  req.set_any_audience(true);
  v1::ValidateTokenResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::Status st = stub->ValidateToken(&ctx, req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_TRUE(resp.valid());
  std::printf("overload: %d of %d calls shed\n", shed, tally.done);
}

}  // namespace
}  // namespace signet
