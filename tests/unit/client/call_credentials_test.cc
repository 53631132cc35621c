#include "signet/call_credentials.h"

#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "signet/client.h"
#include "tests/unit/client/fake_token_service.h"

namespace signet {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

// Answers a scripted sequence of results and counts the calls.
class ScriptedSource final : public TokenSource {
 public:
  void Then(absl::StatusOr<Token> next) {
    absl::MutexLock lock(&mu_);
    script_.push_back(std::move(next));
  }
  absl::StatusOr<Token> Fetch() override {
    absl::MutexLock lock(&mu_);
    ++fetches_;
    if (script_.empty()) return absl::UnavailableError("script exhausted");
    absl::StatusOr<Token> next = script_.front();
    script_.pop_front();
    return next;
  }
  int fetches() const {
    absl::MutexLock lock(&mu_);
    return fetches_;
  }

 private:
  mutable absl::Mutex mu_;
  std::deque<absl::StatusOr<Token>> script_;
  int fetches_ = 0;
};

Token MakeToken(std::string token, absl::Time expires_at) {
  return Token{std::move(token), expires_at};
}

class CachedTokenSourceTest : public ::testing::Test {
 protected:
  FakeClock clock_{kT0};
  std::shared_ptr<ScriptedSource> source_ = std::make_shared<ScriptedSource>();
  CachedTokenSource cached_{source_, absl::Minutes(1), &clock_};
};

TEST_F(CachedTokenSourceTest, ReusesTheTokenUntilExpiryMinusTheMargin) {
  source_->Then(MakeToken("first", kT0 + absl::Minutes(10)));
  ASSERT_EQ(cached_.Fetch()->token, "first");
  clock_.Advance(absl::Minutes(9) - absl::Seconds(1));
  EXPECT_EQ(cached_.Fetch()->token, "first");
  EXPECT_EQ(source_->fetches(), 1);
}

TEST_F(CachedTokenSourceTest, RefreshesOnceTheMarginIsReached) {
  source_->Then(MakeToken("first", kT0 + absl::Minutes(10)));
  ASSERT_EQ(cached_.Fetch()->token, "first");
  source_->Then(MakeToken("second", kT0 + absl::Minutes(20)));
  clock_.Advance(absl::Minutes(9));
  absl::StatusOr<Token> t = cached_.Fetch();
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->token, "second");
  EXPECT_EQ(t->expires_at, kT0 + absl::Minutes(20));
  EXPECT_EQ(source_->fetches(), 2);
}

TEST_F(CachedTokenSourceTest, KeepsTheOldTokenWhenARefreshFailsAndTriesAgainNextTime) {
  source_->Then(MakeToken("first", kT0 + absl::Minutes(10)));
  ASSERT_EQ(cached_.Fetch()->token, "first");
  source_->Then(absl::UnavailableError("issuer down"));
  clock_.Advance(absl::Minutes(9) + absl::Seconds(30));
  EXPECT_EQ(cached_.Fetch()->token, "first");
  EXPECT_EQ(cached_.Fetch()->token, "first");
  EXPECT_EQ(source_->fetches(), 3);
}

TEST_F(CachedTokenSourceTest, FailsUnauthenticatedOnceTheOldTokenHasExpired) {
  source_->Then(MakeToken("secret-first", kT0 + absl::Minutes(10)));
  ASSERT_TRUE(cached_.Fetch().ok());
  source_->Then(absl::UnavailableError("issuer down"));
  clock_.Advance(absl::Minutes(10));
  absl::StatusOr<Token> t = cached_.Fetch();
  EXPECT_EQ(t.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(t.status().message(), HasSubstr("issuer down"));
  EXPECT_THAT(t.status().message(), Not(HasSubstr("secret-first")));
}

TEST_F(CachedTokenSourceTest, FailsUnauthenticatedWhenTheFirstFetchFails) {
  source_->Then(absl::PermissionDeniedError("not an issuer"));
  EXPECT_EQ(cached_.Fetch().status().code(), absl::StatusCode::kUnauthenticated);
}

// A source that blocks until released, counting its calls.
class GatedSource final : public TokenSource {
 public:
  absl::StatusOr<Token> Fetch() override {
    absl::MutexLock lock(&mu_);
    ++fetches_;
    mu_.Await(absl::Condition(&open_));
    return MakeToken("only", kT0 + absl::Minutes(10));
  }
  void Open() {
    absl::MutexLock lock(&mu_);
    open_ = true;
  }
  int fetches() const {
    absl::MutexLock lock(&mu_);
    return fetches_;
  }

 private:
  mutable absl::Mutex mu_;
  bool open_ = false;
  int fetches_ = 0;
};

TEST(CachedTokenSource, RunsOneRefreshForManyConcurrentCallers) {
  FakeClock clock(kT0);
  auto source = std::make_shared<GatedSource>();
  CachedTokenSource cached(source, absl::Minutes(1), &clock);
  std::vector<std::thread> callers;
  std::vector<std::string> got(8);
  for (int i = 0; i < 8; ++i) {
    callers.emplace_back([&, i] { got[i] = cached.Fetch()->token; });
  }
  source->Open();
  for (std::thread& t : callers) t.join();
  EXPECT_EQ(source->fetches(), 1);
  EXPECT_THAT(got, ::testing::Each("only"));
}

TEST(BearerTokenPlugin, NeverShowsTheTokenInItsDebugString) {
  BearerTokenPlugin plugin(std::make_shared<ScriptedSource>(), /*blocking=*/false);
  EXPECT_THAT(plugin.DebugString(), Not(HasSubstr("Bearer")));
}

class CredentialsOverGrpcTest : public ::testing::Test {
 protected:
  std::unique_ptr<Client> NewClient(std::shared_ptr<grpc::CallCredentials> creds) {
    ChannelOptions channel;
    channel.target = server_.target();
    ClientOptions options;
    options.call_credentials = std::move(creds);
    return *Client::Create(channel, options);
  }

  testing::FakeTokenService service_;
  testing::FakeServer server_{&service_};
};

TEST_F(CredentialsOverGrpcTest, BearerTokenCredentialsAttachTheAuthorizationHeader) {
  std::unique_ptr<Client> client = NewClient(BearerTokenCredentials("tok-123", GRPC_SECURITY_NONE));
  ASSERT_TRUE(client->ListKeys().ok());
  ASSERT_TRUE(client->GetJwks().ok());
  EXPECT_THAT(service_.authorizations(), ElementsAre("Bearer tok-123", "Bearer tok-123"));
}

TEST_F(CredentialsOverGrpcTest, ByDefaultNoTokenIsSentOverPlaintext) {
  std::unique_ptr<Client> client = NewClient(BearerTokenCredentials("tok-123"));
  absl::StatusOr<v1::IssueTokenResponse> r = client->IssueToken(v1::IssueTokenRequest());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(r.status().message(), Not(HasSubstr("tok-123")));
  EXPECT_EQ(service_.calls("IssueToken"), 0);
}

TEST_F(CredentialsOverGrpcTest, RefreshingCredentialsRenewTheTokenBeforeItExpires) {
  FakeClock clock(kT0);
  auto source = std::make_shared<ScriptedSource>();
  source->Then(MakeToken("first", kT0 + absl::Minutes(10)));
  std::unique_ptr<Client> client =
      NewClient(RefreshingTokenCredentials(source, absl::Minutes(1), &clock, GRPC_SECURITY_NONE));
  ASSERT_TRUE(client->ListKeys().ok());
  source->Then(MakeToken("second", kT0 + absl::Minutes(20)));
  clock.Advance(absl::Minutes(5));
  ASSERT_TRUE(client->ListKeys().ok());
  clock.Advance(absl::Minutes(4));
  ASSERT_TRUE(client->ListKeys().ok());
  EXPECT_THAT(service_.authorizations(),
              ElementsAre("Bearer first", "Bearer first", "Bearer second"));
  EXPECT_EQ(source->fetches(), 2);
}

TEST_F(CredentialsOverGrpcTest, RefreshingCredentialsKeepTheOldTokenWhenRenewalFails) {
  FakeClock clock(kT0);
  auto source = std::make_shared<ScriptedSource>();
  source->Then(MakeToken("first", kT0 + absl::Minutes(10)));
  std::unique_ptr<Client> client =
      NewClient(RefreshingTokenCredentials(source, absl::Minutes(1), &clock, GRPC_SECURITY_NONE));
  ASSERT_TRUE(client->ListKeys().ok());
  source->Then(absl::UnavailableError("issuer down"));
  clock.Advance(absl::Minutes(9) + absl::Seconds(30));
  ASSERT_TRUE(client->ListKeys().ok());
  EXPECT_THAT(service_.authorizations(), ElementsAre("Bearer first", "Bearer first"));
}

TEST_F(CredentialsOverGrpcTest, ACallWithoutAValidTokenFailsWithoutReachingTheServer) {
  FakeClock clock(kT0);
  auto source = std::make_shared<ScriptedSource>();
  source->Then(absl::PermissionDeniedError("not an issuer"));
  std::unique_ptr<Client> client =
      NewClient(RefreshingTokenCredentials(source, absl::Minutes(1), &clock, GRPC_SECURITY_NONE));
  absl::StatusOr<v1::IssueTokenResponse> r = client->IssueToken(v1::IssueTokenRequest());
  // gRPC reports a failing credentials plugin as UNAVAILABLE, with the plugin's message.
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(r.status().message(), HasSubstr("not an issuer"));
  EXPECT_EQ(service_.calls("IssueToken"), 0);
}

}  // namespace
}  // namespace signet
