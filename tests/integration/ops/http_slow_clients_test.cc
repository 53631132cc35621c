// The HTTP listeners under a slow-client attack, with real sockets against an in-process server:
// connections that trickle one header line a second (never finishing their request) must neither
// starve the probes (on --probe_listen) nor the JWKS (on --http_listen), must be closed by the
// server once their request deadline passes, and connections beyond --http_max_connections must
// be refused at once instead of waiting in a queue.
#include <httplib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/signet_server.h"
#include "tests/integration/loopback_socket.h"
#include "tests/integration/test_support.h"

namespace signet {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

using testing::ClosedByPeer;
using testing::ConnectLoopback;

// One slow client: sends a request line, then a header line every second, never the blank line
// that ends the headers. Records whether and when the server closed the connection.
class SlowClient {
 public:
  SlowClient(int port, int index) : index_(index), fd_(ConnectLoopback(port)) {}
  ~SlowClient() {
    Join();
    if (fd_ >= 0) ::close(fd_);
  }

  bool connected() const { return fd_ >= 0; }

  void Start(absl::Duration give_up) {
    thread_ = std::thread([this, give_up] {
      const absl::Time start = absl::Now();
      std::string line = "GET /.well-known/jwks.json HTTP/1.1\r\n";
      for (int i = 0; absl::Now() - start < give_up; ++i) {
        if (::send(fd_, line.data(), line.size(), MSG_NOSIGNAL) < 0 ||
            ClosedByPeer(fd_, absl::Seconds(1), &received_)) {
          closed_after_ = absl::Now() - start;
          closed_ = true;
          return;
        }
        line = absl::StrCat("X-Slow-", index_, "-", i, ": still typing\r\n");
      }
    });
  }
  void Join() {
    if (thread_.joinable()) thread_.join();
  }

  bool closed() const { return closed_; }
  absl::Duration closed_after() const { return closed_after_; }
  const std::string& received() const { return received_; }

 private:
  const int index_;
  const int fd_;
  std::thread thread_;
  std::atomic<bool> closed_{false};
  absl::Duration closed_after_ = absl::InfiniteDuration();
  std::string received_;
};

class HttpSlowClientsTest : public ::testing::Test {
 protected:
  void Start(int max_connections, absl::Duration request_timeout) {
    server::SignetServer::Options options;
    options.config = testing::TestConfig(dir_.path());
    options.config.http_listen = "127.0.0.1:0";
    options.config.probe_listen = "127.0.0.1:0";
    options.config.http_max_connections = max_connections;
    options.config.http_request_timeout = request_timeout;
    options.run_maintenance = false;
    server_ = testing::StartServer(std::move(options));
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(server_->http_port(), 0);
    ASSERT_NE(server_->probe_port(), 0);
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown(absl::Seconds(1));
  }

  // GET `path` on `port` with a fresh connection and a generous 3 s for each step.
  static httplib::Result Get(int port, const char* path) {
    httplib::Client client("127.0.0.1", port);
    client.set_connection_timeout(3, 0);
    client.set_read_timeout(3, 0);
    client.set_write_timeout(3, 0);
    return client.Get(path);
  }

  void ExpectProbesAndJwksAnswer(const std::string& when) {
    for (const char* path : {"/healthz", "/readyz"}) {
      httplib::Result r = Get(server_->probe_port(), path);
      ASSERT_TRUE(r) << when << ": " << path << " on the probe listener: " << r.error();
      EXPECT_EQ(r->status, 200) << when << ": " << path << " said " << r->body;
    }
    httplib::Result jwks = Get(server_->http_port(), "/.well-known/jwks.json");
    ASSERT_TRUE(jwks) << when << ": the JWKS: " << jwks.error();
    EXPECT_EQ(jwks->status, 200) << when;
    EXPECT_THAT(jwks->body, HasSubstr("\"keys\""));
  }

  testing::TempDir dir_;
  std::unique_ptr<server::SignetServer> server_;
};

TEST_F(HttpSlowClientsTest, SixteenTricklingClientsStarveNeitherProbesNorJwksAndAreCutOff) {
  // More slow clients than the old four workers, fewer than the connection cap.
  constexpr int kSlow = 16;
  const absl::Duration kTimeout = absl::Seconds(3);
  Start(/*max_connections=*/24, kTimeout);

  std::vector<std::unique_ptr<SlowClient>> slow;
  for (int i = 0; i < kSlow; ++i) {
    slow.push_back(std::make_unique<SlowClient>(server_->http_port(), i));
    ASSERT_TRUE(slow.back()->connected());
  }
  for (auto& c : slow) c->Start(/*give_up=*/absl::Seconds(20));

  // While every slow client is mid-request, the probes and the JWKS answer.
  for (int round = 0; round < 3; ++round) {
    ExpectProbesAndJwksAnswer(absl::StrCat("round ", round, " under attack"));
    absl::SleepFor(absl::Milliseconds(500));
  }

  // The server closes each slow connection at its deadline, not after the client gives up (20
  // s): the deadline holds for the request as a whole, however often bytes arrive.
  for (int i = 0; i < kSlow; ++i) {
    slow[i]->Join();
    EXPECT_TRUE(slow[i]->closed()) << "slow client " << i << " was never cut off";
    EXPECT_LT(slow[i]->closed_after(), kTimeout + absl::Seconds(3)) << "slow client " << i;
    // Never a JWKS: its request never ended, so it was never answered 200.
    EXPECT_FALSE(absl::StrContains(slow[i]->received(), "200 OK")) << slow[i]->received();
  }
  ExpectProbesAndJwksAnswer("after the attack");
}

TEST_F(HttpSlowClientsTest, ConnectionsBeyondTheCapAreRefusedAtOnceAndCapacityReturns) {
  // A long deadline, so that an answer to the excess connection can only be the refusal, not a
  // worker freed by the deadline.
  constexpr int kCap = 4;
  Start(kCap, /*request_timeout=*/absl::Seconds(30));

  // kCap silent connections take every worker.
  std::vector<int> held;
  for (int i = 0; i < kCap; ++i) {
    held.push_back(ConnectLoopback(server_->http_port()));
    ASSERT_GE(held.back(), 0);
  }
  // Each one is accepted and handed to a worker; the next connections find none free.
  absl::SleepFor(absl::Milliseconds(300));
  for (int i = 0; i < 8; ++i) {
    httplib::Result r = Get(server_->http_port(), "/.well-known/jwks.json");
    ASSERT_TRUE(r) << "excess connection " << i << ": " << r.error();
    EXPECT_EQ(r->status, 503) << "excess connection " << i;
    EXPECT_EQ(r->get_header_value("Connection"), "close");
    // Refused without reading a request: a raw connection is closed at once, too.
    int fd = ConnectLoopback(server_->http_port());
    ASSERT_GE(fd, 0);
    std::string said;
    EXPECT_TRUE(ClosedByPeer(fd, absl::Seconds(3), &said)) << "excess connection " << i;
    EXPECT_THAT(said, HasSubstr("503"));
    ::close(fd);
  }
  // The probes have their own listener and answer all the while.
  for (const char* path : {"/healthz", "/readyz"}) {
    httplib::Result r = Get(server_->probe_port(), path);
    ASSERT_TRUE(r) << path << ": " << r.error();
    EXPECT_EQ(r->status, 200) << path;
  }
  // The probe listener serves the probes only.
  httplib::Result not_probe = Get(server_->probe_port(), "/.well-known/jwks.json");
  ASSERT_TRUE(not_probe);
  EXPECT_EQ(not_probe->status, 404);

  // Once the holders leave, their workers serve again.
  for (int fd : held) ::close(fd);
  // A worker notices its client left when it next polls: give it a moment, however loaded the
  // machine.
  int status = 0;
  for (int attempt = 0; attempt < 50 && status != 200; ++attempt) {
    if (attempt > 0) absl::SleepFor(absl::Milliseconds(100));
    httplib::Result again = Get(server_->http_port(), "/.well-known/jwks.json");
    status = again ? again->status : -1;
  }
  EXPECT_EQ(status, 200);
  // Each refusal was counted: 8 through the HTTP client, 8 raw (and any retry above).
  httplib::Result metrics = Get(server_->http_port(), "/metrics");
  ASSERT_TRUE(metrics) << metrics.error();
  EXPECT_THAT(metrics->body, HasSubstr("\nsignet_http_refused_connections_total "));
  EXPECT_THAT(metrics->body, Not(HasSubstr("\nsignet_http_refused_connections_total 0\n")));
}

TEST_F(HttpSlowClientsTest, StopClosesConnectionsThatAreMidRequest) {
  Start(/*max_connections=*/4, /*request_timeout=*/absl::Seconds(60));
  int fd = ConnectLoopback(server_->http_port());
  ASSERT_GE(fd, 0);
  const std::string partial = "GET /healthz HTTP/1.1\r\n";
  ASSERT_EQ(::send(fd, partial.data(), partial.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(partial.size()));
  absl::SleepFor(absl::Milliseconds(200));
  // A drain does not wait the 60 s request deadline out.
  std::thread stop([&] { server_->Shutdown(absl::Seconds(1)); });
  EXPECT_TRUE(ClosedByPeer(fd, absl::Seconds(10)));
  stop.join();
  server_.reset();
  ::close(fd);
}

TEST(HttpLimitsConfig, OutOfRangeLimitsAndAProbeListenerOnTheHttpAddressAreRefused) {
  testing::TempDir dir;
  auto start = [&](auto change) {
    server::SignetServer::Options options;
    options.config = testing::TestConfig(dir.path());
    options.config.http_listen = "127.0.0.1:0";
    change(options.config);
    return server::SignetServer::Start(std::move(options)).status();
  };
  absl::Status s = start([](server::ServerConfig& c) { c.http_max_connections = 0; });
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("--http_max_connections"));
  s = start([](server::ServerConfig& c) { c.http_request_timeout = absl::Milliseconds(10); });
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("--http_request_timeout"));
  s = start([](server::ServerConfig& c) { c.probe_listen = "127.0.0.1"; });
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("--probe_listen=127.0.0.1: no port"));
  s = start([](server::ServerConfig& c) { c.http_listen = c.probe_listen = "127.0.0.1:18081"; });
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("--probe_listen must differ"));
}

}  // namespace
}  // namespace signet
