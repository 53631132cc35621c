// Concurrency, for ThreadSanitizer above all (scripts/test.sh runs it in the TSan phase): the key
// ring's snapshot swap under readers, and WatchKeys fan-out, while keys rotate and revocations
// land. Also checks what concurrency must never break: a good token stays valid through every
// rotation, an acknowledged revocation is refused at once, and every watcher sees every version in
// order.
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/integration/test_support.h"

namespace signet {
namespace {

constexpr int kValidators = 3;
constexpr int kWatchers = 6;
constexpr int kChanges = 40;

std::string IssueFor(v1::TokenService::Stub* stub, const std::string& subject) {
  return testing::IssueFor(stub, subject).token();
}

v1::ValidateTokenResponse ValidateOnce(v1::TokenService::Stub* stub, const std::string& token) {
  return testing::ValidateAnyAudience(stub, token);
}

// One WatchKeys stream read on its own thread: versions must only grow.
class Watcher {
 public:
  explicit Watcher(int port) : stub_(testing::NewStub(port)) {
    thread_ = std::thread([this] { Run(); });
  }
  ~Watcher() {
    ctx_.TryCancel();
    thread_.join();
  }
  // Waits until a message with at least `version` arrived; false after 60 s.
  bool WaitFor(uint64_t version) {
    absl::MutexLock lock(&mu_);
    auto reached = [this, version]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return last_version_ >= version || ended_;
    };
    mu_.AwaitWithTimeout(absl::Condition(&reached), absl::Seconds(60));
    return last_version_ >= version;
  }
  int out_of_order() {
    absl::MutexLock lock(&mu_);
    return out_of_order_;
  }
  int messages() {
    absl::MutexLock lock(&mu_);
    return messages_;
  }

 private:
  void Run() {
    std::unique_ptr<grpc::ClientReader<v1::WatchKeysResponse>> reader =
        stub_->WatchKeys(&ctx_, v1::WatchKeysRequest());
    v1::WatchKeysResponse msg;
    while (reader->Read(&msg)) {
      if (msg.heartbeat()) continue;  // "Still current at version N": no change to order.
      absl::MutexLock lock(&mu_);
      if (messages_ == 0 ? !msg.snapshot() : msg.version() <= last_version_) ++out_of_order_;
      last_version_ = msg.version();
      ++messages_;
    }
    reader->Finish();
    absl::MutexLock lock(&mu_);
    ended_ = true;
  }

  std::unique_ptr<v1::TokenService::Stub> stub_;
  grpc::ClientContext ctx_;
  std::thread thread_;
  absl::Mutex mu_;
  uint64_t last_version_ ABSL_GUARDED_BY(mu_) = 0;
  int messages_ ABSL_GUARDED_BY(mu_) = 0;
  int out_of_order_ ABSL_GUARDED_BY(mu_) = 0;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
};

TEST(ConcurrencyTest, RotationsAndRevocationsUnderValidatorsAndWatchersBreakNothing) {
  testing::TempDir dir;
  server::SignetServer::Options options;
  options.config = testing::TestConfig(dir.path());
  options.run_maintenance = false;
  std::unique_ptr<server::SignetServer> server = testing::StartServer(std::move(options));
  ASSERT_NE(server, nullptr);
  auto admin = testing::NewStub(server->port());

  std::vector<std::string> good;
  for (int i = 0; i < 8; ++i) good.push_back(IssueFor(admin.get(), absl::StrCat("good-", i)));
  std::vector<std::unique_ptr<Watcher>> watchers;
  for (int i = 0; i < kWatchers; ++i) watchers.push_back(std::make_unique<Watcher>(server->port()));

  std::atomic<bool> done{false};
  std::atomic<int> good_refused{0}, validations{0}, snapshot_reads{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kValidators; ++i) {
    threads.emplace_back([&, i] {
      auto stub = testing::NewStub(server->port());
      for (int n = 0; !done.load(); ++n) {
        v1::ValidateTokenResponse r = ValidateOnce(stub.get(), good[(i + n) % good.size()]);
        if (!r.valid()) ++good_refused;
        ++validations;
      }
    });
  }
  // Readers of the ring's snapshot in process, as the service's handlers are.
  threads.emplace_back([&] {
    while (!done.load()) {
      std::shared_ptr<const server::StateSnapshot> snap = server->key_ring()->Current();
      if (snap->active == nullptr || snap->keys.Find(snap->active->kid()) == nullptr) {
        ++good_refused;
      }
      ++snapshot_reads;
      std::this_thread::yield();
    }
  });
  threads.emplace_back([&] {
    auto stub = testing::NewStub(server->port());
    while (!done.load()) {
      const std::string t = IssueFor(stub.get(), "issuer-thread");
      if (!ValidateOnce(stub.get(), t).valid()) ++good_refused;
    }
  });

  // The admin: rotations, key and token and subject revocations, each checked at once.
  for (int i = 0; i < kChanges; ++i) {
    const std::string victim = absl::StrCat("victim-", i);
    const std::string token = IssueFor(admin.get(), victim);
    switch (i % 3) {
      case 0: {
        v1::RotateKeyRequest req;
        req.set_immediate(true);
        v1::RotateKeyResponse resp;
        grpc::ClientContext ctx;
        ASSERT_TRUE(admin->RotateKey(&ctx, req, &resp).ok());
        EXPECT_TRUE(ValidateOnce(admin.get(), token).valid()) << "rotation broke a token";
        break;
      }
      case 1: {
        v1::RevokeTokenRequest req;
        req.set_token(token);
        v1::RevokeTokenResponse resp;
        grpc::ClientContext ctx;
        ASSERT_TRUE(admin->RevokeToken(&ctx, req, &resp).ok());
        EXPECT_EQ(ValidateOnce(admin.get(), token).reason(), v1::REASON_TOKEN_REVOKED);
        break;
      }
      case 2: {
        v1::RevokeSubjectRequest req;
        req.set_subject(victim);
        v1::RevokeSubjectResponse resp;
        grpc::ClientContext ctx;
        ASSERT_TRUE(admin->RevokeSubject(&ctx, req, &resp).ok());
        EXPECT_EQ(ValidateOnce(admin.get(), token).reason(), v1::REASON_SUBJECT_REVOKED);
        break;
      }
    }
  }
  done = true;
  for (std::thread& t : threads) t.join();

  const uint64_t final_version = server->key_ring()->Current()->version;
  for (auto& w : watchers) {
    EXPECT_TRUE(w->WaitFor(final_version)) << "a watcher did not reach version " << final_version;
    EXPECT_EQ(w->out_of_order(), 0);
  }
  EXPECT_EQ(good_refused.load(), 0);
  EXPECT_GT(validations.load(), 0);
  EXPECT_GT(snapshot_reads.load(), 0);
  std::printf(
      "concurrency: %d validations, %d snapshot reads, %d changes, watchers at version "
      "%llu\n",
      validations.load(), snapshot_reads.load(), kChanges,
      static_cast<unsigned long long>(final_version));
  watchers.clear();
  server->Shutdown(absl::Seconds(5));
}

}  // namespace
}  // namespace signet
