// The client library against a real signet server in process: real gRPC on a loopback port, real
// SQLite, one fake clock shared by server and validators.
#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "signet/call_credentials.h"
#include "signet/channel.h"
#include "signet/client.h"
#include "signet/jwk.h"
#include "signet/local_validator.h"
#include "signet/remote_validator.h"
#include "tests/integration/test_support.h"

namespace signet {
namespace {

using ::testing::HasSubstr;

bool Eventually(const std::function<bool()>& done) {
  for (int i = 0; i < 2000; ++i) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return done();
}

absl::Time FromProto(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

class ClientEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StartServer(0);
    port_ = server_->port();
    ChannelOptions channel;
    channel.target = "127.0.0.1:" + std::to_string(port_);
    channel.max_reconnect_backoff = absl::Milliseconds(100);
    channel_ = *MakeChannel(channel);
    client_ = Client::Create(channel_);
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown(absl::Seconds(1));
  }

  void StartServer(int port) {
    server::SignetServer::Options options;
    options.config = testing::TestConfig(dir_.path());
    options.config.listen = "127.0.0.1:" + std::to_string(port);
    options.clock = &clock_;
    options.run_maintenance = false;
    server_ = testing::StartServer(std::move(options));
    ASSERT_NE(server_, nullptr);
  }

  void StopServer() {
    server_->Shutdown(absl::Seconds(1));
    server_.reset();
  }

  uint64_t ServerVersion() { return server_->key_ring()->Current()->version; }

  v1::IssueTokenResponse Issue(const std::string& subject = "42") {
    v1::IssueTokenRequest req;
    req.set_subject(subject);
    req.set_backend("django.contrib.auth.backends.ModelBackend");
    req.add_audience("orders");
    absl::StatusOr<v1::IssueTokenResponse> resp = client_->IssueToken(req);
    EXPECT_TRUE(resp.ok()) << resp.status();
    return resp.ok() ? *resp : v1::IssueTokenResponse();
  }

  std::string KidInState(v1::KeyState state) {
    v1::ListKeysRequest req;
    req.set_include_revoked(true);
    absl::StatusOr<v1::ListKeysResponse> keys = client_->ListKeys(req);
    EXPECT_TRUE(keys.ok()) << keys.status();
    if (!keys.ok()) return "";
    for (const v1::Key& k : keys->keys()) {
      if (k.state() == state) return k.key_id();
    }
    return "";
  }

  std::unique_ptr<LocalValidator> NewLocalValidator() {
    LocalValidatorOptions options;
    options.channel = channel_;
    options.clock = &clock_;
    options.initial_backoff = absl::Milliseconds(10);
    options.max_backoff = absl::Milliseconds(50);
    absl::StatusOr<std::unique_ptr<LocalValidator>> v = LocalValidator::Create(options);
    EXPECT_TRUE(v.ok()) << v.status();
    return v.ok() ? *std::move(v) : nullptr;
  }

  Reason ReasonOf(Validator& v, const std::string& token) {
    absl::StatusOr<Validation> r = v.Validate(token, Audience::Any());
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->reason : Reason::kMalformed;
  }

  testing::TempDir dir_;
  FakeClock clock_{absl::FromUnixSeconds(1'800'000'000)};
  std::unique_ptr<server::SignetServer> server_;
  int port_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<Client> client_;
};

TEST_F(ClientEndToEndTest, IssueTokenAndValidateTokenRoundTrip) {
  v1::IssueTokenRequest req;
  req.set_subject("42");
  req.add_audience("orders");
  req.mutable_ttl()->set_seconds(600);
  (*req.mutable_claims()->mutable_fields())["role"].set_string_value("admin");
  absl::StatusOr<v1::IssueTokenResponse> issued = client_->IssueToken(req);
  ASSERT_TRUE(issued.ok()) << issued.status();
  EXPECT_EQ(issued->key_id(), KidInState(v1::KEY_STATE_ACTIVE));
  EXPECT_EQ(FromProto(issued->expires_at()) - FromProto(issued->issued_at()), absl::Seconds(600));

  v1::ValidateTokenRequest check;
  check.set_token(issued->token());
  check.set_audience("orders");
  absl::StatusOr<v1::ValidateTokenResponse> v = client_->ValidateToken(check);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_TRUE(v->valid());
  EXPECT_EQ(v->subject(), "42");
  EXPECT_EQ(v->token_id(), issued->token_id());
  EXPECT_EQ(v->claims().fields().at("role").string_value(), "admin");
}

TEST_F(ClientEndToEndTest, ListKeysAndGetJwksDescribeTheSameKeys) {
  absl::StatusOr<v1::ListKeysResponse> keys = client_->ListKeys();
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_FALSE(KidInState(v1::KEY_STATE_ACTIVE).empty());
  EXPECT_FALSE(KidInState(v1::KEY_STATE_PENDING).empty());
  absl::StatusOr<v1::GetJwksResponse> jwks = client_->GetJwks();
  ASSERT_TRUE(jwks.ok()) << jwks.status();
  absl::StatusOr<std::vector<std::shared_ptr<const VerifyKey>>> parsed =
      ParseJwks(jwks->jwks_json());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->size(), static_cast<size_t>(jwks->keys_size()));
  EXPECT_EQ(parsed->size(), static_cast<size_t>(keys->keys_size()));
}

TEST_F(ClientEndToEndTest, RotateKeyAndRevokeKeyRoundTrip) {
  std::string pending = KidInState(v1::KEY_STATE_PENDING);
  std::string active = KidInState(v1::KEY_STATE_ACTIVE);
  v1::RotateKeyRequest rotate;
  rotate.set_immediate(true);
  absl::StatusOr<v1::RotateKeyResponse> rotated = client_->RotateKey(rotate);
  ASSERT_TRUE(rotated.ok()) << rotated.status();
  EXPECT_EQ(rotated->active().key_id(), pending);
  EXPECT_EQ(rotated->retired().key_id(), active);

  v1::RevokeKeyRequest revoke;
  revoke.set_key_id(active);
  revoke.set_reason("leaked in a test");
  absl::StatusOr<v1::RevokeKeyResponse> revoked = client_->RevokeKey(revoke);
  ASSERT_TRUE(revoked.ok()) << revoked.status();
  EXPECT_EQ(revoked->key().state(), v1::KEY_STATE_REVOKED);
  EXPECT_EQ(revoked->active_key_id(), pending);
}

TEST_F(ClientEndToEndTest, RevokeTokenAndRevokeSubjectRoundTrip) {
  v1::IssueTokenResponse issued = Issue();
  v1::RevokeTokenRequest by_id;
  by_id.set_token_id(issued.token_id());
  absl::StatusOr<v1::RevokeTokenResponse> t = client_->RevokeToken(by_id);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->token_id(), issued.token_id());

  v1::RevokeSubjectRequest subject;
  subject.set_subject("7");
  absl::StatusOr<v1::RevokeSubjectResponse> s = client_->RevokeSubject(subject);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->subject(), "7");
  EXPECT_EQ(FromProto(s->not_before()), clock_.Now());
}

TEST_F(ClientEndToEndTest, ErrorsCarryTheServersCodeAndMessage) {
  EXPECT_EQ(client_->IssueToken(v1::IssueTokenRequest()).status(),
            absl::InvalidArgumentError("subject is required"));
  v1::RevokeKeyRequest unknown;
  unknown.set_key_id("no-such-kid");
  EXPECT_EQ(client_->RevokeKey(unknown).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ClientEndToEndTest, WatchKeysStartsWithTheFullState) {
  v1::WatchKeysResponse first;
  absl::Status s = client_->WatchKeys([&](const v1::WatchKeysResponse& m) {
    first = m;
    return false;
  });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_TRUE(first.snapshot());
  EXPECT_EQ(first.version(), ServerVersion());
  EXPECT_TRUE(ParseJwks(first.jwks_json()).ok());
}

TEST_F(ClientEndToEndTest, WatchKeysEndsUnavailableWhenTheServerShutsDown) {
  absl::Status s = client_->WatchKeys([&](const v1::WatchKeysResponse&) {
    server_->Shutdown(absl::Seconds(1));
    return true;
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
}

TEST_F(ClientEndToEndTest, IssueTokenSourceMintsTokensForAServiceIdentity) {
  v1::IssueTokenRequest who;
  who.set_subject("svc:billing");
  who.mutable_ttl()->set_seconds(300);
  IssueTokenSource source(std::shared_ptr<const Client>(Client::Create(channel_)), who);
  absl::StatusOr<Token> token = source.Fetch();
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(token->expires_at, clock_.Now() + absl::Seconds(300));
  v1::ValidateTokenRequest check;
  check.set_token(token->token);
  check.set_any_audience(true);
  absl::StatusOr<v1::ValidateTokenResponse> v = client_->ValidateToken(check);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_TRUE(v->valid());
  EXPECT_EQ(v->subject(), "svc:billing");
}

TEST_F(ClientEndToEndTest, RemoteValidatorServesCachedAnswersWhileTheServerIsDown) {
  RemoteValidatorOptions options;
  options.clock = &clock_;
  std::unique_ptr<RemoteValidator> v =
      RemoteValidator::Create(std::shared_ptr<const Client>(Client::Create(channel_)), options);
  std::string cached = Issue("42").token();
  std::string never_seen = Issue("43").token();
  absl::StatusOr<Validation> first = v->Validate(cached, Audience::Any());
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(first->valid());
  EXPECT_EQ(first->identity.subject, "42");

  StopServer();
  absl::StatusOr<Validation> again = v->Validate(cached, Audience::Any());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->identity.subject, "42");
  EXPECT_EQ(v->Validate(never_seen, Audience::Any()).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(v->stats().hits, 1u);
}

TEST_F(ClientEndToEndTest, LocalValidatorValidatesWithoutAskingTheServer) {
  std::unique_ptr<LocalValidator> v = NewLocalValidator();
  ASSERT_NE(v, nullptr);
  v1::IssueTokenResponse issued = Issue();
  absl::StatusOr<Validation> r = v->Validate(issued.token(), Audience::Expect("orders"));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->valid()) << ReasonName(r->reason);
  EXPECT_EQ(r->identity.subject, "42");
  EXPECT_EQ(r->identity.token_id, issued.token_id());
  EXPECT_EQ(r->identity.key_id, issued.key_id());
  EXPECT_EQ(v->stats().refetches, 0u);
}

TEST_F(ClientEndToEndTest, LocalValidatorLearnsOfARevokedTokenThroughWatchKeys) {
  std::unique_ptr<LocalValidator> v = NewLocalValidator();
  v1::IssueTokenResponse issued = Issue();
  ASSERT_EQ(ReasonOf(*v, issued.token()), Reason::kValid);
  v1::RevokeTokenRequest revoke;
  revoke.set_token(issued.token());
  ASSERT_TRUE(client_->RevokeToken(revoke).ok());
  ASSERT_TRUE(v->WaitForVersion(ServerVersion(), absl::Seconds(5)));
  EXPECT_EQ(ReasonOf(*v, issued.token()), Reason::kTokenRevoked);
}

TEST_F(ClientEndToEndTest, LocalValidatorLearnsOfARevokedSubjectThroughWatchKeys) {
  std::unique_ptr<LocalValidator> v = NewLocalValidator();
  v1::IssueTokenResponse issued = Issue("7");
  clock_.Advance(absl::Seconds(1));
  v1::RevokeSubjectRequest revoke;
  revoke.set_subject("7");
  ASSERT_TRUE(client_->RevokeSubject(revoke).ok());
  ASSERT_TRUE(v->WaitForVersion(ServerVersion(), absl::Seconds(5)));
  EXPECT_EQ(ReasonOf(*v, issued.token()), Reason::kSubjectRevoked);
  EXPECT_EQ(ReasonOf(*v, Issue("7").token()), Reason::kValid);  // issued after the revocation
}

TEST_F(ClientEndToEndTest, LocalValidatorLearnsOfARevokedKeyThroughWatchKeys) {
  std::unique_ptr<LocalValidator> v = NewLocalValidator();
  v1::IssueTokenResponse issued = Issue();
  v1::RevokeKeyRequest revoke;
  revoke.set_key_id(issued.key_id());
  ASSERT_TRUE(client_->RevokeKey(revoke).ok());
  ASSERT_TRUE(v->WaitForVersion(ServerVersion(), absl::Seconds(5)));
  EXPECT_EQ(ReasonOf(*v, issued.token()), Reason::kKeyRevoked);
  // The new ACTIVE key was published ahead, so its tokens need no refetch.
  v1::IssueTokenResponse next = Issue();
  EXPECT_NE(next.key_id(), issued.key_id());
  EXPECT_EQ(ReasonOf(*v, next.token()), Reason::kValid);
  EXPECT_EQ(v->stats().refetches, 0u);
}

TEST_F(ClientEndToEndTest, LocalValidatorKnowsEachKeyBeforeItSigns) {
  std::unique_ptr<LocalValidator> v = NewLocalValidator();
  v1::IssueTokenResponse before = Issue();
  for (int i = 0; i < 2; ++i) {
    v1::RotateKeyRequest rotate;
    rotate.set_immediate(true);
    ASSERT_TRUE(client_->RotateKey(rotate).ok());
    ASSERT_TRUE(v->WaitForVersion(ServerVersion(), absl::Seconds(5)));
    v1::IssueTokenResponse after = Issue();
    EXPECT_EQ(ReasonOf(*v, after.token()), Reason::kValid);
  }
  EXPECT_EQ(ReasonOf(*v, before.token()), Reason::kValid);  // signed by a RETIRED key
  EXPECT_EQ(v->stats().refetches, 0u);
}

TEST_F(ClientEndToEndTest, LocalValidatorRidesOutAServerRestart) {
  std::unique_ptr<LocalValidator> v = NewLocalValidator();
  v1::IssueTokenResponse issued = Issue();
  StopServer();
  ASSERT_TRUE(Eventually([&] { return !v->stats().stream_up; }));
  EXPECT_EQ(ReasonOf(*v, issued.token()), Reason::kValid);  // offline, within the bound

  StartServer(port_);
  ASSERT_TRUE(Eventually([&] { return v->stats().stream_up; }));
  EXPECT_GE(v->stats().snapshots, 2u);
  v1::RevokeTokenRequest revoke;
  revoke.set_token_id(issued.token_id());
  ASSERT_TRUE(client_->RevokeToken(revoke).ok());
  ASSERT_TRUE(v->WaitForVersion(ServerVersion(), absl::Seconds(5)));
  EXPECT_EQ(ReasonOf(*v, issued.token()), Reason::kTokenRevoked);
}

TEST_F(ClientEndToEndTest, LocalValidatorFailsClosedWhenTheServerStaysAway) {
  std::unique_ptr<LocalValidator> v = NewLocalValidator();
  v1::IssueTokenResponse issued = Issue();
  StopServer();
  ASSERT_TRUE(Eventually([&] { return !v->stats().stream_up; }));
  clock_.Advance(absl::Seconds(61));
  absl::StatusOr<Validation> r = v->Validate(issued.token(), Audience::Any());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(r.status().message(), HasSubstr("stale"));
}

}  // namespace
}  // namespace signet
