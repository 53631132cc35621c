// The silent-partition attack on a LocalValidator: the network between a service and signet stops
// delivering (no RST, no FIN: a proxy that stops forwarding) right before a token is revoked.
// The service must not go on accepting the revoked token: it fails closed once it has heard
// nothing for stale_after, tears its stream down, and sees the revocation once the network heals.
//
// Real server in process, real sockets through a real TCP proxy (tests/integration/tcp_proxy.h),
// the example greeter behind the interceptor. The validator's clock is a fake one, moved by the
// test, so the bound is checked exactly without timing anything.
#include <functional>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "examples/greeter.grpc.pb.h"
#include "examples/greeter_service.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "signet/channel.h"
#include "signet/client.h"
#include "signet/clock.h"
#include "signet/local_validator.h"
#include "signet/remote_validator.h"
#include "tests/integration/tcp_proxy.h"
#include "tests/integration/test_support.h"

namespace signet {
namespace {

using ::signet::examples::Greeter;

constexpr absl::Duration kHeartbeat = absl::Milliseconds(500);
constexpr absl::Duration kStaleAfter = absl::Seconds(2);
// The documented bound on how long a revoked token can still pass: stale_after + one heartbeat.
const absl::Duration kBound = kStaleAfter + kHeartbeat;
// Generous: waiting for an expected state, not timing it.
constexpr absl::Duration kWait = absl::Seconds(60);

bool Eventually(const std::function<bool()>& done) {
  const absl::Time deadline = absl::Now() + kWait;
  while (absl::Now() < deadline) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return done();
}

class PartitionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server::SignetServer::Options options;
    options.config = testing::TestConfig(dir_.path());
    options.config.watch_heartbeat_interval = kHeartbeat;
    options.run_maintenance = false;
    signet_ = testing::StartServer(std::move(options));
    ASSERT_NE(signet_, nullptr);
    direct_ = testing::NewStub(signet_->port());
    proxy_ = std::make_unique<testing::TcpProxy>(signet_->port());
    ASSERT_NE(proxy_->port(), 0);

    ChannelOptions channel;
    channel.target = absl::StrCat("127.0.0.1:", proxy_->port());
    channel.max_reconnect_backoff = absl::Milliseconds(100);
    absl::StatusOr<std::shared_ptr<grpc::Channel>> made = MakeChannel(channel);
    ASSERT_TRUE(made.ok()) << made.status();
    through_proxy_ = *made;
  }

  void TearDown() override {
    if (greeter_server_) greeter_server_->Shutdown();
    validator_.reset();
    proxy_->Thaw();
    signet_->Shutdown(absl::Seconds(1));
  }

  LocalValidatorOptions ValidatorOptions() {
    LocalValidatorOptions options;
    options.channel = through_proxy_;
    // Starts at real time (the server's clock) so that the server's tokens are current.
    options.clock = &clock_;
    options.stale_after = kStaleAfter;
    options.initial_backoff = absl::Milliseconds(10);
    options.max_backoff = absl::Milliseconds(50);
    return options;
  }

  void StartValidatorAndGreeter(LocalValidatorOptions options) {
    absl::StatusOr<std::unique_ptr<LocalValidator>> v = LocalValidator::Create(std::move(options));
    ASSERT_TRUE(v.ok()) << v.status();
    validator_ = std::shared_ptr<LocalValidator>(*std::move(v));
    examples::GreeterServerOptions greeter;
    greeter.listen = "127.0.0.1:0";
    greeter.validator = validator_;
    greeter.audience = "greeter";
    absl::StatusOr<examples::RunningGreeter> running =
        examples::StartGreeterServer(&greeter_, greeter);
    ASSERT_TRUE(running.ok()) << running.status();
    greeter_server_ = std::move(running->server);
    greeter_stub_ = Greeter::NewStub(grpc::CreateChannel(absl::StrCat("127.0.0.1:", running->port),
                                                         grpc::InsecureChannelCredentials()));
  }

  v1::IssueTokenResponse Issue() {
    v1::IssueTokenRequest request;
    request.set_subject("alice");
    request.add_audience("greeter");
    v1::IssueTokenResponse issued;
    grpc::ClientContext context;
    EXPECT_TRUE(direct_->IssueToken(&context, request, &issued).ok());
    return issued;
  }

  // Straight to the server, not through the proxy.
  void Revoke(const v1::IssueTokenResponse& issued) {
    v1::RevokeTokenRequest request;
    request.set_token_id(issued.token_id());
    v1::RevokeTokenResponse revoked;
    grpc::ClientContext context;
    ASSERT_TRUE(direct_->RevokeToken(&context, request, &revoked).ok());
  }

  // "OK", or "UNAUTHENTICATED: <message>".
  std::string SignGuestBook(const v1::IssueTokenResponse& issued) {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + issued.token());
    examples::SignGuestBookRequest request;
    examples::SignGuestBookResponse response;
    grpc::Status status = greeter_stub_->SignGuestBook(&context, request, &response);
    if (status.ok()) return "OK";
    return absl::StrCat(status.error_code() == grpc::StatusCode::UNAUTHENTICATED
                            ? "UNAUTHENTICATED"
                            : absl::StrCat("code ", status.error_code()),
                        ": ", status.error_message());
  }

  testing::TempDir dir_;
  FakeClock clock_{absl::Now()};
  std::unique_ptr<server::SignetServer> signet_;
  std::unique_ptr<v1::TokenService::Stub> direct_;
  std::unique_ptr<testing::TcpProxy> proxy_;
  std::shared_ptr<grpc::Channel> through_proxy_;
  std::shared_ptr<LocalValidator> validator_;
  examples::GreeterService greeter_;
  std::unique_ptr<grpc::Server> greeter_server_;
  std::unique_ptr<Greeter::Stub> greeter_stub_;
};

TEST_F(PartitionTest, ARevokedTokenIsRefusedWithinTheBoundAndTheRevocationArrivesAfterTheHeal) {
  StartValidatorAndGreeter(ValidatorOptions());
  v1::IssueTokenResponse alice = Issue();
  ASSERT_EQ(SignGuestBook(alice), "OK");
  // Heartbeats flow on the idle stream through the proxy.
  ASSERT_TRUE(Eventually([&] { return validator_->stats().heartbeats >= 2; }));
  EXPECT_EQ(validator_->stats().server_heartbeat_interval, kHeartbeat);

  // The attack: the network goes silent, then the token is revoked on the server.
  proxy_->Freeze();
  const uint64_t version_before = validator_->stats().version;
  Revoke(alice);
  const absl::Time revoked_at = clock_.Now();
  // The revocation cannot cross: inside the window the token still passes (the window exists).
  EXPECT_EQ(SignGuestBook(alice), "OK");

  // At the bound, measured from the revocation, it is refused: the validator has heard nothing
  // (not even a heartbeat) for longer than stale_after and fails closed.
  clock_.Set(revoked_at + kBound);
  absl::StatusOr<Validation> local =
      validator_->Validate(alice.token(), Audience::Expect("greeter"));
  EXPECT_EQ(local.status().code(), absl::StatusCode::kUnavailable) << local.status();
  EXPECT_THAT(std::string(local.status().message()), ::testing::HasSubstr("nothing heard"));
  EXPECT_EQ(SignGuestBook(alice), "UNAUTHENTICATED: cannot validate tokens right now");
  EXPECT_EQ(validator_->stats().version, version_before);  // Nothing crossed.
  // The silent stream is torn down and reopened (into the still frozen connection).
  ASSERT_TRUE(Eventually([&] { return validator_->stats().silent_resets >= 1; }));

  // The network heals: the validator hears the server again and knows of the revocation.
  proxy_->Thaw();
  ASSERT_TRUE(Eventually([&] {
    absl::StatusOr<Validation> v = validator_->Validate(alice.token(), Audience::Expect("greeter"));
    return v.ok() && v->reason == Reason::kTokenRevoked;
  }));
  EXPECT_EQ(SignGuestBook(alice), "UNAUTHENTICATED: token revoked");
  EXPECT_EQ(SignGuestBook(Issue()), "OK");
}

TEST_F(PartitionTest, TheFallbackWhenStaleFailsWithinItsDeadlineInsteadOfHanging) {
  // fallback_when_stale sends stale-time validations to a RemoteValidator over the same network;
  // the partition must not hang calls there either: the Client's deadline ends them.
  ClientOptions quick;
  quick.deadline = absl::Milliseconds(300);
  std::shared_ptr<const Client> remote_client(Client::Create(through_proxy_, quick));
  LocalValidatorOptions options = ValidatorOptions();
  options.fallback = RemoteValidator::Create(remote_client);
  options.fallback_when_stale = true;
  StartValidatorAndGreeter(std::move(options));
  v1::IssueTokenResponse alice = Issue();
  ASSERT_EQ(SignGuestBook(alice), "OK");

  proxy_->Freeze();
  Revoke(alice);
  clock_.Advance(kBound);
  absl::StatusOr<Validation> v = validator_->Validate(alice.token(), Audience::Expect("greeter"));
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(v.status().code(), ::testing::AnyOf(absl::StatusCode::kDeadlineExceeded,
                                                  absl::StatusCode::kUnavailable));
  EXPECT_EQ(SignGuestBook(alice), "UNAUTHENTICATED: cannot validate tokens right now");

  // Healed: the local state catches up again (and the remote one answers too).
  proxy_->Thaw();
  ASSERT_TRUE(Eventually([&] {
    absl::StatusOr<Validation> r = validator_->Validate(alice.token(), Audience::Expect("greeter"));
    return r.ok() && r->reason == Reason::kTokenRevoked;
  }));
}

}  // namespace
}  // namespace signet
