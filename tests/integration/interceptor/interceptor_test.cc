// The interceptor and the auth metadata processor in process, in front of the example greeter (a
// callback service) and a probe (a sync service), with a FakeValidator: every header rule, both
// requirements, the hand-off's thread safety, and the gRPC 1.51 facts the design rests on.
#include <grpc/grpc.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "examples/greeter.grpc.pb.h"
#include "examples/greeter_service.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/security/server_credentials.h"
#include "gtest/gtest.h"
#include "internal/identity_table.h"
#include "signet/auth_interceptor.h"
#include "signet/call_identity.h"
#include "tests/integration/interceptor/fake_validator.h"

namespace signet {
namespace {

using ::signet::examples::Greeter;
using ::signet::examples::SayHelloResponse;
using ::signet::examples::SignGuestBookRequest;
using ::signet::examples::SignGuestBookResponse;
using ::signet::testing::FakeValidator;

constexpr absl::Duration kWait = absl::Seconds(10);

// A sync-API greeter that records what its handlers saw.
class ProbeGreeter final : public Greeter::Service {
 public:
  grpc::Status SayHello(grpc::ServerContext* context, const examples::SayHelloRequest*,
                        SayHelloResponse* response) override {
    std::vector<std::string> keys;
    for (const auto& [key, value] : context->client_metadata()) {
      keys.emplace_back(key.data(), key.size());
    }
    CallIdentity call = IdentityOf(context);
    {
      absl::MutexLock lock(&mu_);
      seen_keys_ = keys;
    }
    response->set_authenticated(call.authenticated());
    response->set_message(call.authenticated() ? call.identity()->subject : "anonymous");
    response->set_anonymous_reason(std::string(call.message()));
    return grpc::Status::OK;
  }

  grpc::Status SignGuestBook(grpc::ServerContext* context, const SignGuestBookRequest*,
                             SignGuestBookResponse* response) override {
    CallIdentity call = IdentityOf(context);
    {
      absl::MutexLock lock(&mu_);
      ++entered_;
    }
    const Identity* who = call.identity();
    if (who == nullptr) return call.status();
    {
      absl::MutexLock lock(&mu_);
      ++worked_;
    }
    response->set_subject(who->subject);
    return grpc::Status::OK;
  }

  std::vector<std::string> seen_keys() const {
    absl::MutexLock lock(&mu_);
    return seen_keys_;
  }
  bool WaitEntered(int n) const {
    absl::MutexLock lock(&mu_);
    auto reached = [this, n]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return entered_ >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&reached), kWait);
  }
  int worked() const {
    absl::MutexLock lock(&mu_);
    return worked_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<std::string> seen_keys_ ABSL_GUARDED_BY(mu_);
  int entered_ ABSL_GUARDED_BY(mu_) = 0;
  int worked_ ABSL_GUARDED_BY(mu_) = 0;
};

// One header to add to a call.
struct Header {
  std::string key;
  std::string value;
};

bool WaitForEmptyTable() {
  absl::Time deadline = absl::Now() + kWait;
  while (internal::IdentityTable::Global().size() != 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  return internal::IdentityTable::Global().size() == 0;
}

class InterceptorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    validator_->AddValid("tok-alice", "alice");
    validator_->AddValid("tok-bob", "bob");
    validator_->AddInvalid("tok-expired", Reason::kExpired);
    validator_->AddInvalid("tok-revoked", Reason::kTokenRevoked);
    validator_->AddInvalid("tok-tampered", Reason::kBadSignature);
    StartGreeter();
  }

  void StartGreeter() {
    examples::GreeterServerOptions options;
    options.listen = "127.0.0.1:0";
    options.validator = validator_;
    options.audience = "greeter";
    absl::StatusOr<examples::RunningGreeter> running =
        examples::StartGreeterServer(&greeter_, options);
    ASSERT_TRUE(running.ok()) << running.status();
    greeter_server_ = std::move(running->server);
    greeter_stub_ = Greeter::NewStub(grpc::CreateChannel(absl::StrCat("127.0.0.1:", running->port),
                                                         grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    if (greeter_server_) greeter_server_->Shutdown();
  }

  static void Prepare(grpc::ClientContext* context, const std::vector<Header>& headers) {
    for (const Header& h : headers) context->AddMetadata(h.key, h.value);
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  }

  grpc::Status Hello(const std::vector<Header>& headers, SayHelloResponse* response) {
    grpc::ClientContext context;
    Prepare(&context, headers);
    return greeter_stub_->SayHello(&context, {}, response);
  }

  grpc::Status Sign(const std::vector<Header>& headers, SignGuestBookResponse* response) {
    grpc::ClientContext context;
    Prepare(&context, headers);
    SignGuestBookRequest request;
    request.set_note("hi");
    return greeter_stub_->SignGuestBook(&context, request, response);
  }

  // SayHello's message for these headers ("Hello, alice!", or the error).
  std::string HelloMessage(const std::vector<Header>& headers) {
    SayHelloResponse response;
    grpc::Status status = Hello(headers, &response);
    if (!status.ok()) return "error: " + status.error_message();
    return response.message();
  }
  std::string AnonymousReason(const std::vector<Header>& headers) {
    SayHelloResponse response;
    grpc::Status status = Hello(headers, &response);
    if (!status.ok()) return "error: " + status.error_message();
    return response.anonymous_reason();
  }

  // SignGuestBook's refusal: "UNAUTHENTICATED: <message>", or "OK <subject>".
  std::string SignOutcome(const std::vector<Header>& headers) {
    SignGuestBookResponse response;
    grpc::Status status = Sign(headers, &response);
    if (status.ok()) return "OK " + response.subject();
    return absl::StrCat(status.error_code() == grpc::StatusCode::UNAUTHENTICATED
                            ? "UNAUTHENTICATED"
                            : absl::StrCat("code ", status.error_code()),
                        ": ", status.error_message());
  }

  std::shared_ptr<FakeValidator> validator_ = std::make_shared<FakeValidator>();
  examples::GreeterService greeter_;
  std::unique_ptr<grpc::Server> greeter_server_;
  std::unique_ptr<Greeter::Stub> greeter_stub_;
};

Header Auth(const std::string& value) { return {"authorization", value}; }

TEST_F(InterceptorTest, AValidTokenReachesTheOptionalHandlerWithItsIdentity) {
  EXPECT_EQ(HelloMessage({Auth("Bearer tok-alice")}), "Hello, alice!");
}

TEST_F(InterceptorTest, AValidTokenReachesTheRequiredHandlerWithItsIdentity) {
  SignGuestBookResponse response;
  grpc::Status status = Sign({Auth("Bearer tok-alice")}, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.subject(), "alice");
  EXPECT_EQ(response.backend(), "test-backend");
  EXPECT_EQ(response.token_id(), "jti-alice");
  EXPECT_EQ(response.entries(), 1);
  ASSERT_EQ(greeter_.book().Entries().size(), 1u);
  EXPECT_EQ(greeter_.book().Entries()[0].subject, "alice");
}

TEST_F(InterceptorTest, TheValidatorIsAskedWithTheConfiguredAudience) {
  HelloMessage({Auth("Bearer tok-alice")});
  std::vector<FakeValidator::Question> asked = validator_->asked();
  ASSERT_EQ(asked.size(), 1u);
  EXPECT_EQ(asked[0].token, "tok-alice");
  EXPECT_EQ(asked[0].audience, "greeter");
}

TEST_F(InterceptorTest, WithoutATokenTheOptionalMethodGreetsAnonymous) {
  SayHelloResponse response;
  ASSERT_TRUE(Hello({}, &response).ok());
  EXPECT_EQ(response.message(), "Hello, anonymous!");
  EXPECT_FALSE(response.authenticated());
  EXPECT_EQ(response.anonymous_reason(), "missing bearer token");
}

TEST_F(InterceptorTest, BadTokensMakeTheOptionalCallerAnonymousWithTheReason) {
  EXPECT_EQ(AnonymousReason({Auth("Bearer tok-expired")}), "token expired");
  EXPECT_EQ(AnonymousReason({Auth("Bearer tok-revoked")}), "token revoked");
  EXPECT_EQ(AnonymousReason({Auth("Bearer tok-tampered")}), "token signature does not verify");
  EXPECT_EQ(AnonymousReason({Auth("Bearer garbage")}), "malformed token");
  EXPECT_EQ(HelloMessage({Auth("Bearer tok-expired")}), "Hello, anonymous!");
}

TEST_F(InterceptorTest, TheRequiredMethodRefusesEachBadCredentialWithItsReason) {
  EXPECT_EQ(SignOutcome({}), "UNAUTHENTICATED: missing bearer token");
  EXPECT_EQ(SignOutcome({Auth("Bearer tok-expired")}), "UNAUTHENTICATED: token expired");
  EXPECT_EQ(SignOutcome({Auth("Bearer tok-revoked")}), "UNAUTHENTICATED: token revoked");
  EXPECT_EQ(SignOutcome({Auth("Bearer tok-tampered")}),
            "UNAUTHENTICATED: token signature does not verify");
  EXPECT_EQ(SignOutcome({Auth("Basic YWxpY2U6cHc=")}),
            "UNAUTHENTICATED: authorization header is not a bearer token");
}

// The gRPC 1.51 fact the guard exists for: the handler of a refused call still runs; the guard
// keeps it from working, and nothing it writes reaches the client.
TEST_F(InterceptorTest, ARefusedCallStillEntersTheHandlerButTheGuardStopsItsWork) {
  EXPECT_EQ(SignOutcome({Auth("Bearer tok-expired")}), "UNAUTHENTICATED: token expired");
  ASSERT_TRUE(greeter_.WaitForSignCalls(1, kWait));
  EXPECT_EQ(greeter_.sign_calls(), 1);
  EXPECT_TRUE(greeter_.book().Entries().empty());
  // A good call afterwards does the work exactly once.
  EXPECT_EQ(SignOutcome({Auth("Bearer tok-bob")}), "OK bob");
  EXPECT_EQ(greeter_.book().Entries().size(), 1u);
}

TEST_F(InterceptorTest, TheBearerSchemeMatchesInAnyCase) {
  for (const char* scheme : {"Bearer", "bearer", "BEARER", "bEaReR"}) {
    EXPECT_EQ(HelloMessage({Auth(absl::StrCat(scheme, " tok-alice"))}), "Hello, alice!") << scheme;
  }
}

TEST_F(InterceptorTest, SpacesAroundTheTokenAreIgnored) {
  EXPECT_EQ(HelloMessage({Auth("Bearer    tok-alice  ")}), "Hello, alice!");
}

TEST_F(InterceptorTest, ASchemeThatOnlyStartsWithBearerIsNotBearer) {
  EXPECT_EQ(AnonymousReason({Auth("Bearertok-alice")}),
            "authorization header is not a bearer token");
  EXPECT_EQ(AnonymousReason({Auth("Bear tok-alice")}),
            "authorization header is not a bearer token");
}

TEST_F(InterceptorTest, AnEmptyBearerTokenIsInvalid) {
  EXPECT_EQ(AnonymousReason({Auth("Bearer")}), "empty bearer token");
  EXPECT_EQ(AnonymousReason({Auth("Bearer    ")}), "empty bearer token");
  EXPECT_EQ(AnonymousReason({Auth("")}), "authorization header is not a bearer token");
  EXPECT_EQ(SignOutcome({Auth("Bearer ")}), "UNAUTHENTICATED: empty bearer token");
  EXPECT_TRUE(validator_->asked().empty());
}

TEST_F(InterceptorTest, TwoAuthorizationHeadersAreRefusedEvenWhenBothAreValid) {
  std::vector<Header> two = {Auth("Bearer tok-alice"), Auth("Bearer tok-bob")};
  EXPECT_EQ(AnonymousReason(two), "more than one authorization header");
  EXPECT_EQ(HelloMessage(two), "Hello, anonymous!");
  EXPECT_EQ(SignOutcome(two), "UNAUTHENTICATED: more than one authorization header");
  std::vector<Header> same = {Auth("Bearer tok-alice"), Auth("Bearer tok-alice")};
  EXPECT_EQ(SignOutcome(same), "UNAUTHENTICATED: more than one authorization header");
  EXPECT_TRUE(validator_->asked().empty());
}

TEST_F(InterceptorTest, ABinaryAuthorizationHeaderIsNeverAccepted) {
  Header binary{"authorization-bin", "Bearer tok-alice"};
  EXPECT_EQ(AnonymousReason({binary}), "authorization-bin header not accepted");
  EXPECT_EQ(SignOutcome({binary}), "UNAUTHENTICATED: authorization-bin header not accepted");
  // Next to a valid text header it still makes the credentials ambiguous.
  EXPECT_EQ(SignOutcome({Auth("Bearer tok-alice"), binary}),
            "UNAUTHENTICATED: authorization-bin header not accepted");
}

TEST_F(InterceptorTest, ASpoofedIdentityHeaderIsIgnored) {
  std::vector<Header> spoof = {{"x-signet-subject", "admin"}, {"x-signet-identity", "admin"}};
  EXPECT_EQ(HelloMessage(spoof), "Hello, anonymous!");
  EXPECT_EQ(SignOutcome(spoof), "UNAUTHENTICATED: missing bearer token");
  spoof.push_back(Auth("Bearer tok-bob"));
  EXPECT_EQ(HelloMessage(spoof), "Hello, bob!");
  EXPECT_EQ(SignOutcome(spoof), "OK bob");
}

TEST_F(InterceptorTest, AValidatorThatCannotJudgeFailsClosed) {
  validator_->SetError(absl::UnavailableError("keys stale"));
  EXPECT_EQ(SignOutcome({Auth("Bearer tok-alice")}),
            "UNAUTHENTICATED: cannot validate tokens right now");
  EXPECT_EQ(HelloMessage({Auth("Bearer tok-alice")}), "Hello, anonymous!");
  EXPECT_EQ(AnonymousReason({Auth("Bearer tok-alice")}), "cannot validate tokens right now");
  validator_->SetError(absl::OkStatus());
  EXPECT_EQ(SignOutcome({Auth("Bearer tok-alice")}), "OK alice");
}

TEST_F(InterceptorTest, EveryCallSeesItsOwnIdentityUnderConcurrency) {
  constexpr int kThreads = 8;
  constexpr int kCallsPerThread = 40;
  for (int t = 0; t < kThreads; ++t) {
    validator_->AddValid(absl::StrCat("tok-user", t), absl::StrCat("user", t));
  }
  std::atomic<int> mismatches{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCallsPerThread; ++i) {
        // Odd calls of odd threads are anonymous, to mix both paths.
        bool anonymous = (t % 2 == 1) && (i % 2 == 1);
        std::vector<Header> headers;
        if (!anonymous) headers.push_back(Auth(absl::StrCat("Bearer tok-user", t)));
        SignGuestBookResponse sign;
        grpc::Status status = Sign(headers, &sign);
        if (anonymous) {
          if (status.error_code() != grpc::StatusCode::UNAUTHENTICATED) ++failures;
        } else if (!status.ok()) {
          ++failures;
        } else if (sign.subject() != absl::StrCat("user", t)) {
          ++mismatches;
        }
        SayHelloResponse hello;
        if (!Hello(headers, &hello).ok()) {
          ++failures;
        } else if (hello.message() != (anonymous ? std::string("Hello, anonymous!")
                                                 : absl::StrCat("Hello, user", t, "!"))) {
          ++mismatches;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_EQ(failures.load(), 0);
  // Half of the odd threads' calls were anonymous.
  EXPECT_EQ(greeter_.book().Entries().size(),
            static_cast<size_t>(kThreads * kCallsPerThread - (kThreads / 2) * kCallsPerThread / 2));
  // Every entry of the side table ends with its call.
  EXPECT_TRUE(WaitForEmptyTable());
}

// ---- A sync-API service behind the same interceptor.

class SyncServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    validator_->AddValid("tok-alice", "alice");
    AuthOptions options = examples::GreeterAuthOptions(validator_, "", /*any_audience=*/true);
    absl::StatusOr<std::shared_ptr<const AuthPolicy>> policy = AuthPolicy::Create(options);
    ASSERT_TRUE(policy.ok());
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&probe_);
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
    creators.push_back(std::make_unique<AuthInterceptorFactory>(*policy));
    builder.experimental().SetInterceptorCreators(std::move(creators));
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = Greeter::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override { server_->Shutdown(); }

  ProbeGreeter probe_;
  std::shared_ptr<FakeValidator> validator_ = std::make_shared<FakeValidator>();
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<Greeter::Stub> stub_;
};

TEST_F(SyncServiceTest, TheHandlerNeverSeesClientIdentityMetadata) {
  grpc::ClientContext context;
  context.AddMetadata("x-signet-subject", "admin");
  context.AddMetadata("x-signet-identity", "{\"subject\":\"admin\"}");
  context.AddMetadata("x-signet-anything-else", "1");
  context.AddMetadata("x-other", "kept");
  SayHelloResponse response;
  ASSERT_TRUE(stub_->SayHello(&context, {}, &response).ok());
  EXPECT_EQ(response.message(), "anonymous");
  std::vector<std::string> keys = probe_.seen_keys();
  EXPECT_THAT(keys, ::testing::Contains("x-other"));
  for (const std::string& key : keys) EXPECT_NE(key.rfind("x-signet-", 0), 0u) << key;
}

TEST_F(SyncServiceTest, ARefusedSyncCallStillEntersTheHandlerButTheGuardStopsItsWork) {
  grpc::ClientContext context;
  SignGuestBookResponse response;
  grpc::Status status = stub_->SignGuestBook(&context, {}, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(status.error_message(), "missing bearer token");
  ASSERT_TRUE(probe_.WaitEntered(1));
  EXPECT_EQ(probe_.worked(), 0);
  EXPECT_EQ(response.subject(), "");
}

TEST_F(SyncServiceTest, AValidTokenReachesTheSyncHandler) {
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer tok-alice");
  SignGuestBookResponse response;
  ASSERT_TRUE(stub_->SignGuestBook(&context, {}, &response).ok());
  EXPECT_EQ(response.subject(), "alice");
  EXPECT_EQ(probe_.worked(), 1);
}

// ---- Without the interceptor, the guard fails closed.

TEST(CallIdentity, ACallNoInterceptorSawIsRejected) {
  ProbeGreeter probe;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&probe);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  auto stub = Greeter::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer tok-alice");
  SignGuestBookResponse response;
  grpc::Status status = stub->SignGuestBook(&context, {}, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(status.error_message(), "no signet interceptor saw this call");
  EXPECT_EQ(probe.worked(), 0);
  server->Shutdown();
}

TEST(CallIdentity, ANullContextIsRejected) {
  CallIdentity call = IdentityOf(nullptr);
  EXPECT_TRUE(call.Rejected());
  EXPECT_EQ(call.identity(), nullptr);
  EXPECT_EQ(call.failure(), AuthFailure::kNotIntercepted);
  EXPECT_EQ(call.status().error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

// ---- The auth metadata processor (local credentials).

class ProcessorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    validator_->AddValid("tok-alice", "alice");
    validator_->AddInvalid("tok-expired", Reason::kExpired);
    examples::GreeterServerOptions options;
    options.listen = "127.0.0.1:0";
    options.validator = validator_;
    options.audience = "";
    options.any_audience = true;
    options.credentials =
        grpc::experimental::LocalServerCredentials(grpc_local_connect_type::LOCAL_TCP);
    options.use_auth_metadata_processor = true;
    absl::StatusOr<examples::RunningGreeter> running =
        examples::StartGreeterServer(&greeter_, options);
    ASSERT_TRUE(running.ok()) << running.status();
    server_ = std::move(running->server);
    stub_ = Greeter::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", running->port),
        grpc::experimental::LocalCredentials(grpc_local_connect_type::LOCAL_TCP)));
  }
  void TearDown() override { server_->Shutdown(); }

  grpc::Status Sign(const std::string& authorization, SignGuestBookResponse* response) {
    grpc::ClientContext context;
    if (!authorization.empty()) context.AddMetadata("authorization", authorization);
    return stub_->SignGuestBook(&context, {}, response);
  }

  std::shared_ptr<FakeValidator> validator_ = std::make_shared<FakeValidator>();
  examples::GreeterService greeter_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<Greeter::Stub> stub_;
};

TEST_F(ProcessorTest, ARequiredCallWithoutATokenIsRefusedBeforeAnyHandlerRuns) {
  SignGuestBookResponse response;
  grpc::Status refused = Sign("", &response);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(refused.error_message(), "missing bearer token");
  refused = Sign("Bearer tok-expired", &response);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(refused.error_message(), "token expired");
  // A good call afterwards: the handler has run once, for it alone.
  ASSERT_TRUE(Sign("Bearer tok-alice", &response).ok());
  EXPECT_EQ(response.subject(), "alice");
  EXPECT_EQ(greeter_.sign_calls(), 1);
  EXPECT_EQ(greeter_.book().Entries().size(), 1u);
}

TEST_F(ProcessorTest, AnOptionalCallPassesTheProcessorAndTheInterceptorHandsOverTheIdentity) {
  // The processor finds the method through ":path": were it blind to it, the REQUIRED default would
  // refuse SayHello.
  grpc::ClientContext anonymous;
  SayHelloResponse response;
  ASSERT_TRUE(stub_->SayHello(&anonymous, {}, &response).ok());
  EXPECT_EQ(response.message(), "Hello, anonymous!");
  grpc::ClientContext known;
  known.AddMetadata("authorization", "Bearer tok-alice");
  ASSERT_TRUE(stub_->SayHello(&known, {}, &response).ok());
  EXPECT_EQ(response.message(), "Hello, alice!");
}

// ---- gRPC 1.51 facts the design rests on.

// An interceptor that refuses every call with TryCancel(), the obvious alternative.
class TryCancelFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    class Cancel final : public grpc::experimental::Interceptor {
     public:
      explicit Cancel(grpc::ServerContextBase* context) : context_(context) {}
      void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
        if (methods->QueryInterceptionHookPoint(
                grpc::experimental::InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
          context_->TryCancel();
        }
        methods->Proceed();
      }

     private:
      grpc::ServerContextBase* context_;
    };
    return new Cancel(info->server_context());
  }
};

TEST(GrpcFacts, TryCancelShowsTheClientCancelledNotUnauthenticated) {
  ProbeGreeter probe;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&probe);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
  creators.push_back(std::make_unique<TryCancelFactory>());
  builder.experimental().SetInterceptorCreators(std::move(creators));
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  auto stub = Greeter::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  SignGuestBookResponse response;
  EXPECT_EQ(stub->SignGuestBook(&context, {}, &response).error_code(), grpc::StatusCode::CANCELLED);
  server->Shutdown();
}

// gRPC 1.51 aborts the process (insecure_server_credentials.cc: assertion failed) when a processor
// is set on InsecureServerCredentials, so there is no "silently not enforced" case to test there;
// StartGreeterServer refuses the combination up front.
TEST(GreeterServer, RefusesAProcessorWithoutSecureCredentials) {
  examples::GreeterService greeter;
  examples::GreeterServerOptions options;
  options.listen = "127.0.0.1:0";
  options.validator = std::make_shared<FakeValidator>();
  options.use_auth_metadata_processor = true;
  EXPECT_EQ(examples::StartGreeterServer(&greeter, options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace signet
