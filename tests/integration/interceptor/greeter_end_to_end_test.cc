// End to end: a real signet server (in process), a LocalValidator kept current by WatchKeys, and
// the example greeter behind the interceptor. Tokens are issued by the server and judged locally.
#include <grpc/grpc_security_constants.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "examples/greeter.grpc.pb.h"
#include "examples/greeter_service.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "signet/call_credentials.h"
#include "signet/client.h"
#include "signet/clock.h"
#include "signet/local_validator.h"
#include "tests/integration/test_support.h"

namespace signet {
namespace {

using ::signet::examples::Greeter;
using ::signet::examples::SayHelloResponse;
using ::signet::examples::SignGuestBookRequest;
using ::signet::examples::SignGuestBookResponse;

constexpr absl::Duration kWait = absl::Seconds(5);
constexpr char kBackend[] = "django.contrib.auth.backends.ModelBackend";

// What a greeter call came to: "OK <subject>", "anonymous: <reason>" (SayHello) or
// "UNAUTHENTICATED: <message>".
std::string Outcome(const grpc::Status& status, const std::string& ok_text) {
  if (status.ok()) return ok_text;
  return absl::StrCat(status.error_code() == grpc::StatusCode::UNAUTHENTICATED
                          ? "UNAUTHENTICATED"
                          : absl::StrCat("code ", status.error_code()),
                      ": ", status.error_message());
}

class GreeterEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server::SignetServer::Options options;
    options.config = testing::TestConfig(dir_.path());
    options.clock = &clock_;
    options.run_maintenance = false;
    signet_ = testing::StartServer(std::move(options));
    ASSERT_NE(signet_, nullptr);
    signet_client_ = Client::Create(testing::NewChannel(signet_->port()));

    LocalValidator::Options validator_options;
    validator_options.channel = testing::NewChannel(signet_->port());
    validator_options.clock = &clock_;
    // The tests move the shared fake clock by hours between two heartbeats; staleness is
    // another test's subject (tests/integration/interceptor/partition_test.cc).
    validator_options.stale_after = absl::Hours(24);
    absl::StatusOr<std::unique_ptr<LocalValidator>> validator =
        LocalValidator::Create(std::move(validator_options));
    ASSERT_TRUE(validator.ok()) << validator.status();
    validator_ = std::shared_ptr<LocalValidator>(*std::move(validator));

    StartGreeter(/*with_processor=*/false);
  }

  void StartGreeter(bool with_processor) {
    if (greeter_server_) greeter_server_->Shutdown();
    greeter_server_.reset();
    greeter_ = std::make_unique<examples::GreeterService>();
    examples::GreeterServerOptions options;
    options.listen = "127.0.0.1:0";
    options.validator = validator_;
    options.audience = "greeter";
    std::shared_ptr<grpc::ChannelCredentials> channel_credentials =
        grpc::InsecureChannelCredentials();
    if (with_processor) {
      options.credentials =
          grpc::experimental::LocalServerCredentials(grpc_local_connect_type::LOCAL_TCP);
      options.use_auth_metadata_processor = true;
      channel_credentials =
          grpc::experimental::LocalCredentials(grpc_local_connect_type::LOCAL_TCP);
    }
    absl::StatusOr<examples::RunningGreeter> running =
        examples::StartGreeterServer(greeter_.get(), options);
    ASSERT_TRUE(running.ok()) << running.status();
    greeter_server_ = std::move(running->server);
    stub_ = Greeter::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", running->port), channel_credentials));
  }

  void TearDown() override {
    if (greeter_server_) greeter_server_->Shutdown();
    validator_.reset();
    if (signet_) signet_->Shutdown(absl::Seconds(1));
  }

  v1::IssueTokenResponse Issue(const std::string& subject,
                               std::vector<std::string> audiences = {"greeter"},
                               absl::Duration ttl = absl::Hours(1)) {
    v1::IssueTokenRequest request;
    request.set_subject(subject);
    request.set_backend(kBackend);
    for (const std::string& a : audiences) request.add_audience(a);
    request.mutable_ttl()->set_seconds(absl::ToInt64Seconds(ttl));
    absl::StatusOr<v1::IssueTokenResponse> issued = signet_client_->IssueToken(request);
    EXPECT_TRUE(issued.ok()) << issued.status();
    return issued.ok() ? *issued : v1::IssueTokenResponse();
  }

  // Runs `change` on the server and waits until the validator has applied it.
  template <typename Change>
  void AndWaitForValidator(Change change) {
    uint64_t before = validator_->stats().version;
    change();
    ASSERT_TRUE(validator_->WaitForVersion(before + 1, kWait));
  }

  std::string Hello(const std::string& authorization,
                    const std::vector<std::pair<std::string, std::string>>& extra = {}) {
    grpc::ClientContext context;
    if (!authorization.empty()) context.AddMetadata("authorization", authorization);
    for (const auto& [k, v] : extra) context.AddMetadata(k, v);
    SayHelloResponse response;
    grpc::Status status = stub_->SayHello(&context, {}, &response);
    if (!status.ok()) return Outcome(status, "");
    if (!response.authenticated()) return "anonymous: " + response.anonymous_reason();
    return response.message();
  }

  std::string Sign(const std::string& authorization, SignGuestBookResponse* out = nullptr) {
    grpc::ClientContext context;
    if (!authorization.empty()) context.AddMetadata("authorization", authorization);
    SignGuestBookRequest request;
    request.set_note("hello");
    SignGuestBookResponse response;
    grpc::Status status = stub_->SignGuestBook(&context, request, &response);
    if (out != nullptr) *out = response;
    return Outcome(status, "OK " + response.subject());
  }

  static std::string Bearer(const v1::IssueTokenResponse& issued) {
    return "Bearer " + issued.token();
  }

  testing::TempDir dir_;
  FakeClock clock_{absl::FromUnixSeconds(1'800'000'000)};
  std::unique_ptr<server::SignetServer> signet_;
  std::unique_ptr<Client> signet_client_;
  std::shared_ptr<LocalValidator> validator_;
  std::unique_ptr<examples::GreeterService> greeter_;
  std::unique_ptr<grpc::Server> greeter_server_;
  std::unique_ptr<Greeter::Stub> stub_;
};

TEST_F(GreeterEndToEndTest, AValidTokenReachesBothHandlersWithItsIdentity) {
  v1::IssueTokenResponse alice = Issue("alice");
  EXPECT_EQ(Hello(Bearer(alice)), "Hello, alice!");
  SignGuestBookResponse signed_as;
  EXPECT_EQ(Sign(Bearer(alice), &signed_as), "OK alice");
  EXPECT_EQ(signed_as.backend(), kBackend);
  EXPECT_EQ(signed_as.token_id(), alice.token_id());
  EXPECT_EQ(signed_as.entries(), 1);
  ASSERT_EQ(greeter_->book().Entries().size(), 1u);
  EXPECT_EQ(greeter_->book().Entries()[0].subject, "alice");
  EXPECT_EQ(greeter_->book().Entries()[0].note, "hello");
}

TEST_F(GreeterEndToEndTest, SignetsOwnCallCredentialsCarryTheToken) {
  v1::IssueTokenResponse alice = Issue("alice");
  grpc::ClientContext context;
  context.set_credentials(BearerTokenCredentials(alice.token(), GRPC_SECURITY_NONE));
  SignGuestBookResponse response;
  grpc::Status status = stub_->SignGuestBook(&context, {}, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.subject(), "alice");
}

TEST_F(GreeterEndToEndTest, WithoutATokenTheCallerIsAnonymousOrRefused) {
  EXPECT_EQ(Hello(""), "anonymous: missing bearer token");
  EXPECT_EQ(Sign(""), "UNAUTHENTICATED: missing bearer token");
  ASSERT_TRUE(greeter_->WaitForSignCalls(1, kWait));
  EXPECT_TRUE(greeter_->book().Entries().empty());
}

TEST_F(GreeterEndToEndTest, AnExpiredTokenIsAnonymousOrRefused) {
  v1::IssueTokenResponse alice = Issue("alice", {"greeter"}, absl::Minutes(5));
  EXPECT_EQ(Hello(Bearer(alice)), "Hello, alice!");
  clock_.Advance(absl::Minutes(5) + absl::Seconds(31));  // Past exp and the 30 s leeway.
  EXPECT_EQ(Hello(Bearer(alice)), "anonymous: token expired");
  EXPECT_EQ(Sign(Bearer(alice)), "UNAUTHENTICATED: token expired");
  ASSERT_TRUE(greeter_->WaitForSignCalls(1, kWait));
  EXPECT_TRUE(greeter_->book().Entries().empty());
}

TEST_F(GreeterEndToEndTest, ATamperedTokenIsAnonymousOrRefused) {
  v1::IssueTokenResponse alice = Issue("alice");
  std::string token = alice.token();
  // A character in the middle of the signature: still canonical base64url, no longer the
  // signature.
  size_t sig = token.rfind('.') + 20;
  token[sig] = token[sig] == 'A' ? 'B' : 'A';
  EXPECT_EQ(Hello("Bearer " + token), "anonymous: token signature does not verify");
  EXPECT_EQ(Sign("Bearer " + token), "UNAUTHENTICATED: token signature does not verify");

  // Another subject pasted into the payload.
  v1::IssueTokenResponse bob = Issue("bob");
  std::vector<std::string> a = absl::StrSplit(alice.token(), '.');
  std::vector<std::string> b = absl::StrSplit(bob.token(), '.');
  std::string spliced = absl::StrCat(a[0], ".", b[1], ".", a[2]);
  EXPECT_EQ(Sign("Bearer " + spliced), "UNAUTHENTICATED: token signature does not verify");
  ASSERT_TRUE(greeter_->WaitForSignCalls(2, kWait));
  EXPECT_TRUE(greeter_->book().Entries().empty());
}

TEST_F(GreeterEndToEndTest, ATokenForAnotherAudienceIsRefused) {
  v1::IssueTokenResponse other = Issue("alice", {"billing"});
  EXPECT_EQ(Sign(Bearer(other)),
            "UNAUTHENTICATED: token not meant for this service (audience mismatch)");
}

TEST_F(GreeterEndToEndTest, ATokenWithoutAudienceIsRefusedWhereAnAudienceIsExpected) {
  v1::IssueTokenResponse no_aud = Issue("alice", {});
  EXPECT_EQ(Sign(Bearer(no_aud)),
            "UNAUTHENTICATED: token not meant for this service (audience mismatch)");
  // And again from the validator's cache of verified tokens.
  EXPECT_EQ(Sign(Bearer(no_aud)),
            "UNAUTHENTICATED: token not meant for this service (audience mismatch)");
}

TEST_F(GreeterEndToEndTest, ARevokedTokenIsRefusedOnceTheValidatorHearsOfIt) {
  v1::IssueTokenResponse alice = Issue("alice");
  v1::IssueTokenResponse bob = Issue("bob");
  EXPECT_EQ(Sign(Bearer(alice)), "OK alice");
  AndWaitForValidator([&] {
    v1::RevokeTokenRequest request;
    request.set_token_id(alice.token_id());
    ASSERT_TRUE(signet_client_->RevokeToken(request).ok());
  });
  EXPECT_EQ(Hello(Bearer(alice)), "anonymous: token revoked");
  EXPECT_EQ(Sign(Bearer(alice)), "UNAUTHENTICATED: token revoked");
  EXPECT_EQ(Sign(Bearer(bob)), "OK bob");
  EXPECT_EQ(greeter_->book().Entries().size(), 2u);
}

TEST_F(GreeterEndToEndTest, ARevokedSubjectIsRefused) {
  v1::IssueTokenResponse alice = Issue("alice");
  clock_.Advance(absl::Seconds(1));
  AndWaitForValidator([&] {
    v1::RevokeSubjectRequest request;
    request.set_subject("alice");
    ASSERT_TRUE(signet_client_->RevokeSubject(request).ok());
  });
  EXPECT_EQ(Sign(Bearer(alice)), "UNAUTHENTICATED: token subject's tokens revoked");
}

TEST_F(GreeterEndToEndTest, RevokingTheKeyRefusesItsTokensAndNewTokensWork) {
  v1::IssueTokenResponse alice = Issue("alice");
  EXPECT_EQ(Sign(Bearer(alice)), "OK alice");
  AndWaitForValidator([&] {
    v1::RevokeKeyRequest request;
    request.set_key_id(alice.key_id());
    request.set_reason("test");
    ASSERT_TRUE(signet_client_->RevokeKey(request).ok());
  });
  EXPECT_EQ(Hello(Bearer(alice)), "anonymous: token signing key revoked");
  EXPECT_EQ(Sign(Bearer(alice)), "UNAUTHENTICATED: token signing key revoked");
  v1::IssueTokenResponse again = Issue("alice");
  EXPECT_NE(again.key_id(), alice.key_id());
  EXPECT_EQ(Sign(Bearer(again)), "OK alice");
}

TEST_F(GreeterEndToEndTest, ASpoofedIdentityHeaderIsIgnored) {
  v1::IssueTokenResponse bob = Issue("bob");
  EXPECT_EQ(Hello("", {{"x-signet-subject", "alice"}}), "anonymous: missing bearer token");
  EXPECT_EQ(Hello(Bearer(bob), {{"x-signet-subject", "alice"}, {"x-signet-identity", "alice"}}),
            "Hello, bob!");
}

TEST_F(GreeterEndToEndTest, HeaderRulesHoldWithRealTokens) {
  v1::IssueTokenResponse alice = Issue("alice");
  EXPECT_EQ(Hello("bEaReR " + alice.token()), "Hello, alice!");
  EXPECT_EQ(Sign("Bearer "), "UNAUTHENTICATED: empty bearer token");
  grpc::ClientContext two;
  two.AddMetadata("authorization", Bearer(alice));
  two.AddMetadata("authorization", Bearer(alice));
  SignGuestBookResponse response;
  grpc::Status status = stub_->SignGuestBook(&two, {}, &response);
  EXPECT_EQ(Outcome(status, "OK"), "UNAUTHENTICATED: more than one authorization header");
  grpc::ClientContext binary;
  binary.AddMetadata("authorization-bin", Bearer(alice));
  status = stub_->SignGuestBook(&binary, {}, &response);
  EXPECT_EQ(Outcome(status, "OK"), "UNAUTHENTICATED: authorization-bin header not accepted");
}

TEST_F(GreeterEndToEndTest, ConcurrentCallsWithDifferentTokensEachSeeTheirOwnIdentity) {
  constexpr int kUsers = 6;
  constexpr int kCalls = 30;
  std::vector<std::string> tokens;
  for (int u = 0; u < kUsers; ++u) tokens.push_back(Bearer(Issue(absl::StrCat("user", u))));
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int u = 0; u < kUsers; ++u) {
    threads.emplace_back([&, u] {
      for (int i = 0; i < kCalls; ++i) {
        std::string want = absl::StrCat("user", u);
        if (Sign(tokens[u]) != "OK " + want) ++wrong;
        if (Hello(tokens[u]) != absl::StrCat("Hello, ", want, "!")) ++wrong;
        if (Hello("") != "anonymous: missing bearer token") ++wrong;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(greeter_->book().Entries().size(), static_cast<size_t>(kUsers * kCalls));
}

TEST_F(GreeterEndToEndTest, TheProcessorRefusesBeforeAnyHandlerRuns) {
  StartGreeter(/*with_processor=*/true);
  v1::IssueTokenResponse alice = Issue("alice");
  EXPECT_EQ(Sign(""), "UNAUTHENTICATED: missing bearer token");
  clock_.Advance(absl::Hours(2));
  EXPECT_EQ(Sign(Bearer(alice)), "UNAUTHENTICATED: token expired");
  EXPECT_EQ(Hello(""), "anonymous: missing bearer token");
  v1::IssueTokenResponse fresh = Issue("alice");
  EXPECT_EQ(Sign(Bearer(fresh)), "OK alice");
  // Only the good call ever reached the handler.
  EXPECT_EQ(greeter_->sign_calls(), 1);
  EXPECT_EQ(greeter_->book().Entries().size(), 1u);
}

}  // namespace
}  // namespace signet
