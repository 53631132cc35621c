// The token service end to end, in process: real gRPC on a loopback port, real SQLite, a fake
// clock.
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>

#include <memory>
#include <set>
#include <string>

#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "server/proto_convert.h"
#include "signet/base64url.h"
#include "signet/clock.h"
#include "tests/integration/test_support.h"
#include "token/signing/signing_key.h"
#include "token/signing/token_signer.h"

namespace signet {
namespace {

using ::signet::v1::Reason;
using ::testing::HasSubstr;

constexpr absl::Duration kPublishAhead = absl::Minutes(10);

// The next WatchKeys message that is not a heartbeat (a slow test run may see some in between).
bool ReadChange(grpc::ClientReader<v1::WatchKeysResponse>* reader, v1::WatchKeysResponse* msg) {
  while (reader->Read(msg)) {
    if (!msg->heartbeat()) return true;
  }
  return false;
}

class TokenServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { StartServer(); }

  void StartServer() {
    server::SignetServer::Options options;
    options.config = testing::TestConfig(dir_.path());
    options.config.publish_ahead = kPublishAhead;
    options.config.algorithm = algorithm_;
    options.config.watch_heartbeat_interval = heartbeat_interval_;
    options.clock = &clock_;
    options.run_maintenance = false;
    server_ = testing::StartServer(std::move(options));
    ASSERT_NE(server_, nullptr);
    stub_ = testing::NewStub(server_->port());
  }

  void RestartServer() {
    stub_.reset();
    server_->Shutdown(absl::Seconds(1));
    server_.reset();
    StartServer();
  }

  v1::IssueTokenResponse Issue(const std::string& subject,
                               const std::vector<std::string>& audiences = {}) {
    v1::IssueTokenRequest req;
    req.set_subject(subject);
    req.set_backend("django.contrib.auth.backends.ModelBackend");
    for (const auto& a : audiences) req.add_audience(a);
    v1::IssueTokenResponse resp;
    grpc::ClientContext ctx;
    grpc::Status st = stub_->IssueToken(&ctx, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp;
  }

  grpc::Status TryIssue(const v1::IssueTokenRequest& req, v1::IssueTokenResponse* resp) {
    grpc::ClientContext ctx;
    return stub_->IssueToken(&ctx, req, resp);
  }

  v1::ValidateTokenResponse Validate(const std::string& token, const std::string& audience = "") {
    v1::ValidateTokenRequest req;
    req.set_token(token);
    req.set_audience(audience);
    req.set_any_audience(audience.empty());
    v1::ValidateTokenResponse resp;
    grpc::ClientContext ctx;
    grpc::Status st = stub_->ValidateToken(&ctx, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp;
  }

  // Restarts the server with WatchKeys heartbeats every `interval` and opens a stream on it;
  // `first` gets the stream's full state.
  std::unique_ptr<grpc::ClientReader<v1::WatchKeysResponse>> WatchWithHeartbeats(
      absl::Duration interval, grpc::ClientContext* ctx, v1::WatchKeysResponse* first) {
    heartbeat_interval_ = interval;
    RestartServer();
    std::unique_ptr<grpc::ClientReader<v1::WatchKeysResponse>> reader =
        stub_->WatchKeys(ctx, v1::WatchKeysRequest());
    EXPECT_TRUE(reader->Read(first));
    EXPECT_TRUE(first->snapshot());
    return reader;
  }

  void RevokeTokenId(const std::string& token_id) {
    v1::RevokeTokenRequest revoke;
    revoke.set_token_id(token_id);
    v1::RevokeTokenResponse revoked;
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->RevokeToken(&ctx, revoke, &revoked).ok());
  }

  Reason ReasonOf(const std::string& token, const std::string& audience = "") {
    return Validate(token, audience).reason();
  }

  v1::ListKeysResponse Keys(bool include_revoked = true) {
    return testing::ListKeysOf(stub_.get(), include_revoked);
  }

  std::string KidInState(v1::KeyState state) {
    v1::ListKeysResponse keys = Keys();
    for (const v1::Key& k : keys.keys()) {
      if (k.state() == state) return k.key_id();
    }
    return "";
  }

  // A token signed by the server's ACTIVE key with claims of the test's choosing.
  std::string SignWithActive(const server::TokenClaims& claims) {
    absl::StatusOr<std::string> t =
        server::SignToken(*server_->key_ring()->Current()->active, claims);
    EXPECT_TRUE(t.ok()) << t.status();
    return t.ok() ? *t : "";
  }

  server::TokenClaims BaseClaims() {
    server::TokenClaims c;
    c.issuer = "signet";
    c.subject = "42";
    c.issued_at = absl::FromUnixSeconds(absl::ToUnixSeconds(clock_.Now()));
    c.expires_at = c.issued_at + absl::Hours(1);
    c.token_id = server::NewTokenId();
    return c;
  }

  Algorithm algorithm_ = Algorithm::kEdDSA;
  testing::TempDir dir_;
  absl::Duration heartbeat_interval_ = absl::Seconds(5);
  FakeClock clock_{absl::FromUnixSeconds(1'800'000'000)};
  std::unique_ptr<server::SignetServer> server_;
  std::unique_ptr<v1::TokenService::Stub> stub_;
};

TEST_F(TokenServiceTest, IssuedTokenValidatesWithItsIdentity) {
  v1::IssueTokenRequest req;
  req.set_subject("user-42");
  req.set_backend("ldap");
  req.add_audience("orders");
  req.add_audience("billing");
  req.mutable_ttl()->set_seconds(600);
  (*req.mutable_claims()->mutable_fields())["role"].set_string_value("admin");
  v1::IssueTokenResponse issued;
  ASSERT_TRUE(TryIssue(req, &issued).ok());
  EXPECT_EQ(issued.key_id(), KidInState(v1::KEY_STATE_ACTIVE));
  EXPECT_EQ(issued.expires_at().seconds() - issued.issued_at().seconds(), 600);
  EXPECT_EQ(issued.token_id().size(), 22u);

  v1::ValidateTokenResponse v = Validate(issued.token(), "billing");
  EXPECT_TRUE(v.valid());
  EXPECT_EQ(v.reason(), v1::REASON_UNSPECIFIED);
  EXPECT_EQ(v.subject(), "user-42");
  EXPECT_EQ(v.backend(), "ldap");
  EXPECT_THAT(v.audience(), ::testing::ElementsAre("orders", "billing"));
  EXPECT_EQ(v.token_id(), issued.token_id());
  EXPECT_EQ(v.key_id(), issued.key_id());
  EXPECT_EQ(v.issued_at().seconds(), issued.issued_at().seconds());
  EXPECT_EQ(v.expires_at().seconds(), issued.expires_at().seconds());
  EXPECT_EQ(v.claims().fields().at("role").string_value(), "admin");
}

TEST_F(TokenServiceTest, DefaultTtlIsOneHour) {
  v1::IssueTokenResponse issued = Issue("u");
  EXPECT_EQ(issued.expires_at().seconds() - issued.issued_at().seconds(), 3600);
}

TEST_F(TokenServiceTest, BadIssueRequestsAreInvalidArgumentAndChangeNothing) {
  v1::ListKeysResponse before = Keys();
  struct Case {
    std::string name;
    std::function<void(v1::IssueTokenRequest*)> mutate;
    std::string message;
  };
  std::vector<Case> cases = {
      {"empty subject", [](auto* r) { r->clear_subject(); }, "subject is required"},
      {"long subject", [](auto* r) { r->set_subject(std::string(257, 'x')); }, "subject is 257"},
      {"long backend", [](auto* r) { r->set_backend(std::string(300, 'b')); }, "backend"},
      {"negative ttl", [](auto* r) { r->mutable_ttl()->set_seconds(-5); }, "negative"},
      {"ttl over max", [](auto* r) { r->mutable_ttl()->set_seconds(25 * 3600); }, "exceeds"},
      {"sub-second ttl", [](auto* r) { r->mutable_ttl()->set_nanos(5000); }, "at least 1s"},
      {"empty audience", [](auto* r) { r->add_audience(""); }, "audience is required"},
      {"too many audiences",
       [](auto* r) {
         for (int i = 0; i < 17; ++i) r->add_audience("a" + std::to_string(i));
       },
       "at most 16"},
      {"registered claim",
       [](auto* r) { (*r->mutable_claims()->mutable_fields())["exp"].set_number_value(1); }, "exp"},
      {"oversized claims",
       [](auto* r) {
         (*r->mutable_claims()->mutable_fields())["blob"].set_string_value(std::string(5000, 'x'));
       },
       "at most 4096"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    v1::IssueTokenRequest req;
    req.set_subject("u");
    c.mutate(&req);
    v1::IssueTokenResponse resp;
    grpc::Status st = TryIssue(req, &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(st.error_message(), HasSubstr(c.message));
    EXPECT_TRUE(resp.token().empty());
  }
  EXPECT_EQ(Keys().DebugString(), before.DebugString());
}

TEST_F(TokenServiceTest, EmptyTokenIsInvalidArgument) {
  v1::ValidateTokenRequest req;
  v1::ValidateTokenResponse resp;
  grpc::ClientContext ctx;
  EXPECT_EQ(stub_->ValidateToken(&ctx, req, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(TokenServiceTest, ValidateWithoutAnAudienceChoiceIsInvalidArgument) {
  // The attack: a token minted for "billing" replayed at a service that forgot to name its
  // audience. Such a request is refused instead of answering valid.
  const std::string billing_token = Issue("42", {"billing"}).token();
  auto call = [&](const std::string& audience, bool any_audience, v1::ValidateTokenResponse* resp) {
    v1::ValidateTokenRequest req;
    req.set_token(billing_token);
    req.set_audience(audience);
    req.set_any_audience(any_audience);
    grpc::ClientContext ctx;
    return stub_->ValidateToken(&ctx, req, resp);
  };
  v1::ValidateTokenResponse resp;
  grpc::Status neither = call("", false, &resp);
  EXPECT_EQ(neither.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(neither.error_message(), "name the audience you expect, or set any_audience");
  EXPECT_FALSE(resp.valid());
  grpc::Status both = call("orders", true, &resp);
  EXPECT_EQ(both.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(both.error_message(), "give audience or any_audience, not both");
  EXPECT_FALSE(resp.valid());
  // Named audiences are checked; any_audience is the explicit opt-out.
  EXPECT_EQ(ReasonOf(billing_token, "orders"), v1::REASON_AUDIENCE_MISMATCH);
  EXPECT_EQ(ReasonOf(billing_token, "billing"), v1::REASON_UNSPECIFIED);
  EXPECT_EQ(ReasonOf(billing_token), v1::REASON_UNSPECIFIED);
}

TEST_F(TokenServiceTest, ATokenWithoutAudienceNeverMatchesANamedAudience) {
  const std::string no_aud = Issue("42").token();
  EXPECT_EQ(ReasonOf(no_aud, "orders"), v1::REASON_AUDIENCE_MISMATCH);
  // Valid for any audience (and now in the validation cache), which answers the same.
  EXPECT_EQ(ReasonOf(no_aud), v1::REASON_UNSPECIFIED);
  EXPECT_EQ(ReasonOf(no_aud, "orders"), v1::REASON_AUDIENCE_MISMATCH);
}

TEST_F(TokenServiceTest, EveryReasonIsReachableThroughTheRpc) {
  std::string good = Issue("42", {"orders"}).token();
  std::vector<std::string> parts = absl::StrSplit(good, '.');
  ASSERT_EQ(parts.size(), 3u);

  EXPECT_EQ(ReasonOf("not-a-token"), v1::REASON_MALFORMED);
  EXPECT_EQ(ReasonOf(std::string(9000, 'a')), v1::REASON_MALFORMED);

  std::string none_header = Base64UrlEncode(R"({"alg":"none","kid":"x","typ":"JWT"})");
  EXPECT_EQ(ReasonOf(none_header + "." + parts[1] + "."), v1::REASON_UNSUPPORTED_ALGORITHM);

  std::string active = KidInState(v1::KEY_STATE_ACTIVE);
  std::string es_header =
      Base64UrlEncode(R"({"alg":"ES256","kid":")" + active + R"(","typ":"JWT"})");
  EXPECT_EQ(ReasonOf(es_header + "." + parts[1] + "." + parts[2]), v1::REASON_ALGORITHM_MISMATCH);

  absl::StatusOr<std::unique_ptr<server::SigningKey>> stranger =
      server::SigningKey::Generate(Algorithm::kEdDSA);
  ASSERT_TRUE(stranger.ok());
  absl::StatusOr<std::string> foreign = server::SignToken(**stranger, BaseClaims());
  ASSERT_TRUE(foreign.ok());
  EXPECT_EQ(ReasonOf(*foreign), v1::REASON_UNKNOWN_KEY);

  std::string tampered = good;
  tampered[tampered.size() - 5] = tampered[tampered.size() - 5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(ReasonOf(tampered), v1::REASON_BAD_SIGNATURE);

  server::TokenClaims other_issuer = BaseClaims();
  other_issuer.issuer = "impostor";
  EXPECT_EQ(ReasonOf(SignWithActive(other_issuer)), v1::REASON_ISSUER_MISMATCH);

  EXPECT_EQ(ReasonOf(good, "billing"), v1::REASON_AUDIENCE_MISMATCH);
  EXPECT_EQ(ReasonOf(good, "orders"), v1::REASON_UNSPECIFIED);

  server::TokenClaims future = BaseClaims();
  future.issued_at += absl::Minutes(5);
  future.expires_at += absl::Minutes(5);
  EXPECT_EQ(ReasonOf(SignWithActive(future)), v1::REASON_NOT_YET_VALID);

  {
    v1::RevokeTokenRequest req;
    req.set_token(good);
    v1::RevokeTokenResponse resp;
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->RevokeToken(&ctx, req, &resp).ok());
    EXPECT_EQ(ReasonOf(good), v1::REASON_TOKEN_REVOKED);
  }
  {
    std::string of_7 = Issue("7").token();
    clock_.Advance(absl::Seconds(2));
    v1::RevokeSubjectRequest req;
    req.set_subject("7");
    v1::RevokeSubjectResponse resp;
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->RevokeSubject(&ctx, req, &resp).ok());
    EXPECT_EQ(ReasonOf(of_7), v1::REASON_SUBJECT_REVOKED);
    clock_.Advance(absl::Seconds(2));
    EXPECT_EQ(ReasonOf(Issue("7").token()), v1::REASON_UNSPECIFIED);
  }
  {
    std::string before = Issue("9").token();
    v1::RevokeKeyRequest req;
    req.set_key_id(active);
    v1::RevokeKeyResponse resp;
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->RevokeKey(&ctx, req, &resp).ok());
    EXPECT_EQ(ReasonOf(before), v1::REASON_KEY_REVOKED);
  }
  std::string expiring = Issue("8").token();
  clock_.Advance(absl::Hours(1) + absl::Seconds(31));
  EXPECT_EQ(ReasonOf(expiring), v1::REASON_EXPIRED);
}

TEST_F(TokenServiceTest, RevokeKeyPromotesThePublishedKeyAndMakesANewOne) {
  std::string active = KidInState(v1::KEY_STATE_ACTIVE);
  std::string pending = KidInState(v1::KEY_STATE_PENDING);
  ASSERT_FALSE(active.empty());
  ASSERT_FALSE(pending.empty());
  std::string old_token = Issue("1").token();

  v1::RevokeKeyRequest req;
  req.set_key_id(active);
  req.set_reason("leaked in a log");
  v1::RevokeKeyResponse resp;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub_->RevokeKey(&ctx, req, &resp).ok());
  EXPECT_EQ(resp.key().state(), v1::KEY_STATE_REVOKED);
  EXPECT_EQ(resp.key().revoke_reason(), "leaked in a log");
  EXPECT_EQ(resp.active_key_id(), pending);

  EXPECT_EQ(ReasonOf(old_token), v1::REASON_KEY_REVOKED);
  v1::IssueTokenResponse fresh = Issue("1");
  EXPECT_EQ(fresh.key_id(), pending);
  EXPECT_TRUE(Validate(fresh.token()).valid());
  std::string new_pending = KidInState(v1::KEY_STATE_PENDING);
  EXPECT_FALSE(new_pending.empty());
  EXPECT_NE(new_pending, pending);

  v1::GetJwksResponse jwks;
  grpc::ClientContext jctx;
  ASSERT_TRUE(stub_->GetJwks(&jctx, v1::GetJwksRequest(), &jwks).ok());
  EXPECT_THAT(jwks.jwks_json(), ::testing::Not(HasSubstr(active)));
  EXPECT_THAT(jwks.jwks_json(), HasSubstr(pending));
  EXPECT_THAT(jwks.jwks_json(), HasSubstr(new_pending));

  // Revoking again is OK and changes nothing.
  std::string keys_before = Keys().DebugString();
  v1::RevokeKeyResponse again;
  grpc::ClientContext ctx2;
  ASSERT_TRUE(stub_->RevokeKey(&ctx2, req, &again).ok());
  EXPECT_EQ(again.key().state(), v1::KEY_STATE_REVOKED);
  EXPECT_EQ(Keys().DebugString(), keys_before);
}

TEST_F(TokenServiceTest, RevokeUnknownKeyIsNotFound) {
  v1::RevokeKeyRequest req;
  req.set_key_id("no-such-kid");
  v1::RevokeKeyResponse resp;
  grpc::ClientContext ctx;
  grpc::Status st = stub_->RevokeKey(&ctx, req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(st.error_message(), HasSubstr("no-such-kid"));
}

TEST_F(TokenServiceTest, RotationWaitsForPublishAheadThenKeepsOldTokensValid) {
  std::string old_active = KidInState(v1::KEY_STATE_ACTIVE);
  std::string pending = KidInState(v1::KEY_STATE_PENDING);
  std::string old_token = Issue("5").token();

  v1::RotateKeyResponse resp;
  {
    grpc::ClientContext ctx;
    grpc::Status st = stub_->RotateKey(&ctx, v1::RotateKeyRequest(), &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_THAT(st.error_message(), HasSubstr("publish_ahead"));
  }
  clock_.Advance(kPublishAhead);
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->RotateKey(&ctx, v1::RotateKeyRequest(), &resp).ok());
  }
  EXPECT_EQ(resp.active().key_id(), pending);
  EXPECT_EQ(resp.retired().key_id(), old_active);
  EXPECT_EQ(resp.retired().state(), v1::KEY_STATE_RETIRED);
  EXPECT_EQ(resp.pending().state(), v1::KEY_STATE_PENDING);
  EXPECT_TRUE(Validate(old_token).valid());
  EXPECT_EQ(Issue("5").key_id(), pending);

  // The retired key verifies until its last token expires, then leaves the store.
  clock_.Advance(absl::Hours(24) + absl::Seconds(31));
  ASSERT_TRUE(server_->key_ring()->Maintain().ok());
  v1::ListKeysResponse after = Keys();
  for (const v1::Key& k : after.keys()) EXPECT_NE(k.key_id(), old_active);
}

TEST_F(TokenServiceTest, TheNextKeyIsPublishedBeforeItSigns) {
  std::string pending = KidInState(v1::KEY_STATE_PENDING);
  v1::GetJwksResponse jwks;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub_->GetJwks(&ctx, v1::GetJwksRequest(), &jwks).ok());
  EXPECT_THAT(jwks.jwks_json(), HasSubstr(pending));
  EXPECT_NE(Issue("p").key_id(), pending);
  clock_.Advance(kPublishAhead);
  v1::RotateKeyResponse resp;
  grpc::ClientContext rctx;
  ASSERT_TRUE(stub_->RotateKey(&rctx, v1::RotateKeyRequest(), &resp).ok());
  EXPECT_EQ(Issue("p").key_id(), pending);
  // The key that will sign next is already in the JWKS again.
  v1::GetJwksResponse after;
  grpc::ClientContext actx;
  ASSERT_TRUE(stub_->GetJwks(&actx, v1::GetJwksRequest(), &after).ok());
  EXPECT_THAT(after.jwks_json(), HasSubstr(resp.pending().key_id()));
}

TEST_F(TokenServiceTest, ATokenIssuedInTheSameSecondAfterRevokeSubjectIsValid) {
  clock_.Set(absl::FromUnixSeconds(1'800'000'100) + absl::Milliseconds(300));
  std::string before = Issue("same-second").token();
  clock_.Advance(absl::Milliseconds(200));
  v1::RevokeSubjectRequest req;
  req.set_subject("same-second");
  v1::RevokeSubjectResponse resp;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub_->RevokeSubject(&ctx, req, &resp).ok());
  EXPECT_EQ(resp.not_before().seconds(), 1'800'000'101);
  EXPECT_EQ(resp.not_before().nanos(), 0);
  clock_.Advance(absl::Milliseconds(200));
  std::string after = Issue("same-second").token();
  EXPECT_EQ(ReasonOf(before), v1::REASON_SUBJECT_REVOKED);
  EXPECT_EQ(ReasonOf(after), v1::REASON_UNSPECIFIED);
}

TEST_F(TokenServiceTest, InvalidTimestampsAreInvalidArgument) {
  for (auto [seconds, nanos] : std::vector<std::pair<int64_t, int32_t>>{
           {1, -5}, {1, 2'000'000'000}, {-62'135'596'801, 0}}) {
    v1::RevokeSubjectRequest req;
    req.set_subject("t");
    req.mutable_not_before()->set_seconds(seconds);
    req.mutable_not_before()->set_nanos(nanos);
    v1::RevokeSubjectResponse resp;
    grpc::ClientContext ctx;
    grpc::Status st = stub_->RevokeSubject(&ctx, req, &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(st.error_message(), HasSubstr("not_before"));
  }
}

TEST_F(TokenServiceTest, RevokeSubjectRefusesANotBeforeEvenASecondAheadOfTheServersClock) {
  // Within the validation leeway, yet still in the future: the contract says INVALID_ARGUMENT.
  auto revoke_at = [&](absl::Time not_before) {
    v1::RevokeSubjectRequest req;
    req.set_subject("skew");
    *req.mutable_not_before() = signet::ToProtoTime(not_before);
    v1::RevokeSubjectResponse resp;
    grpc::ClientContext ctx;
    return stub_->RevokeSubject(&ctx, req, &resp);
  };
  std::string issued = Issue("skew").token();
  for (absl::Duration ahead : {absl::Seconds(1), absl::Seconds(10), absl::Seconds(30)}) {
    grpc::Status st = revoke_at(clock_.Now() + ahead);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(st.error_message(), HasSubstr("not_before is in the future"));
  }
  // Nothing was revoked by the refused calls.
  EXPECT_EQ(ReasonOf(issued), v1::REASON_UNSPECIFIED);
  // The server's now itself is not in the future.
  clock_.Advance(absl::Seconds(1));
  EXPECT_TRUE(revoke_at(clock_.Now()).ok());
  EXPECT_EQ(ReasonOf(issued), v1::REASON_SUBJECT_REVOKED);
}

// A token whose payload JSON is exactly `payload`, signed by the server's ACTIVE key: the
// server's own signer refuses such claims, so this signs the JWS signing input directly.
std::string SignRawPayload(const server::SigningKey& key, const std::string& payload) {
  const std::string header =
      absl::StrCat(R"({"alg":"EdDSA","kid":")", key.kid(), R"(","typ":"JWT"})");
  const std::string input = absl::StrCat(Base64UrlEncode(header), ".", Base64UrlEncode(payload));
  absl::StatusOr<std::string> sig = key.Sign(input);
  EXPECT_TRUE(sig.ok()) << sig.status();
  return absl::StrCat(input, ".", Base64UrlEncode(sig.ok() ? *sig : ""));
}

TEST_F(TokenServiceTest, ASignedTokenWithALoneSurrogateEscapeInAClaimIsMalformed) {
  const server::SigningKey& key = *server_->key_ring()->Current()->active;
  const int64_t now = absl::ToUnixSeconds(clock_.Now());
  auto payload = [&](const std::string& extra) {
    return absl::StrCat(R"({"iss":"signet","sub":"42","iat":)", now, R"(,"exp":)", now + 600,
                        R"(,"jti":"AAECAwQFBgcICQoLDA0ODw")", extra, "}");
  };
  // The same token without the escape is valid: only the surrogate makes it malformed.
  ASSERT_EQ(ReasonOf(SignRawPayload(key, payload(R"(,"role":"admin")"))), v1::REASON_UNSPECIFIED);
  for (const char* extra :
       {R"(,"role":"\udc00")", R"(,"role":"ad\udfffmin")", R"(,"\udc00":1)",
        R"(,"role":["\ud800"])", R"(,"role":"\ud800x")", R"(,"role":{"a":"\udbff\u0041"}})"}) {
    v1::ValidateTokenResponse r = Validate(SignRawPayload(key, payload(extra)));
    EXPECT_FALSE(r.valid()) << extra;
    EXPECT_EQ(r.reason(), v1::REASON_MALFORMED) << extra;
    // Nothing of the claims comes back, so the answer is valid UTF-8.
    EXPECT_FALSE(r.has_claims()) << extra;
    EXPECT_TRUE(r.subject().empty()) << extra;
  }
}

// An ES256 server: every signature it makes is low-s, and the high-s twin of a valid signature,
// which anyone can compute without the key, is BAD_SIGNATURE.
class Es256TokenServiceTest : public TokenServiceTest {
 protected:
  void SetUp() override {
    algorithm_ = Algorithm::kES256;
    StartServer();
  }

  // The P-256 group order n, and n/2, from OpenSSL (independent of signet's constant).
  Es256TokenServiceTest() : group_(EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1)) {
    half_ = BN_dup(EC_GROUP_get0_order(group_));
    BN_rshift1(half_, half_);
  }
  ~Es256TokenServiceTest() override {
    BN_free(half_);
    EC_GROUP_free(group_);
  }

  static std::string Signature(const std::string& token) {
    std::string sig;
    EXPECT_TRUE(Base64UrlDecode(token.substr(token.rfind('.') + 1), &sig));
    EXPECT_EQ(sig.size(), 64u);
    return sig;
  }

  // s of a raw r||s signature as a BIGNUM (caller frees).
  static BIGNUM* S(const std::string& sig) {
    return BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data()) + 32, 32, nullptr);
  }

  EC_GROUP* group_;
  BIGNUM* half_;
};

TEST_F(Es256TokenServiceTest, ReplacingSByNMinusSInAValidTokenIsBadSignature) {
  const std::string token = Issue("42").token();
  ASSERT_EQ(ReasonOf(token), v1::REASON_UNSPECIFIED);
  const std::string sig = Signature(token);
  BIGNUM* s = S(sig);
  ASSERT_EQ(BN_sub(s, EC_GROUP_get0_order(group_), s), 1);
  std::string twin = sig.substr(0, 32) + std::string(32, '\0');
  ASSERT_EQ(BN_bn2binpad(s, reinterpret_cast<unsigned char*>(twin.data()) + 32, 32), 32);
  BN_free(s);
  const std::string forged =
      absl::StrCat(token.substr(0, token.rfind('.') + 1), Base64UrlEncode(twin));
  ASSERT_NE(forged, token);
  EXPECT_EQ(ReasonOf(forged), v1::REASON_BAD_SIGNATURE);
  EXPECT_EQ(ReasonOf(token), v1::REASON_UNSPECIFIED);
}

TEST_F(Es256TokenServiceTest, EverySignatureTheServerMakesIsLowS) {
  // A random s is high half the time: 200 signatures that are all low are not chance.
  for (int i = 0; i < 200; ++i) {
    const std::string token = Issue(absl::StrCat("user-", i)).token();
    BIGNUM* s = S(Signature(token));
    EXPECT_LE(BN_cmp(s, half_), 0) << token;
    EXPECT_FALSE(BN_is_zero(s));
    BN_free(s);
  }
}

TEST_F(TokenServiceTest, ASlowWatcherNeitherBlocksChangesNorTheDrain) {
  // A watcher that never reads: its queue overflows, changes keep flowing, and shutdown ends it.
  grpc::ClientContext ctx;
  auto reader = stub_->WatchKeys(&ctx, v1::WatchKeysRequest());
  for (int i = 0; i < 2000; ++i) {
    v1::RevokeTokenRequest req;
    req.set_token_id("slow-" + std::to_string(i) + std::string(200, 'x'));
    v1::RevokeTokenResponse resp;
    grpc::ClientContext c;
    ASSERT_TRUE(stub_->RevokeToken(&c, req, &resp).ok());
  }
  absl::Time start = absl::Now();
  server_->Shutdown(absl::Seconds(1));
  EXPECT_LT(absl::Now() - start, absl::Seconds(30));
  ctx.TryCancel();
}

TEST_F(TokenServiceTest, ImmediateRotationSkipsPublishAhead) {
  std::string pending = KidInState(v1::KEY_STATE_PENDING);
  v1::RotateKeyRequest req;
  req.set_immediate(true);
  v1::RotateKeyResponse resp;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub_->RotateKey(&ctx, req, &resp).ok());
  EXPECT_EQ(resp.active().key_id(), pending);
}

TEST_F(TokenServiceTest, TimerRotatesAfterTheRotationPeriod) {
  std::string pending = KidInState(v1::KEY_STATE_PENDING);
  clock_.Advance(absl::Hours(23));
  ASSERT_TRUE(server_->key_ring()->Maintain().ok());
  EXPECT_NE(KidInState(v1::KEY_STATE_ACTIVE), pending);
  clock_.Advance(absl::Hours(1));
  ASSERT_TRUE(server_->key_ring()->Maintain().ok());
  EXPECT_EQ(KidInState(v1::KEY_STATE_ACTIVE), pending);
  EXPECT_FALSE(KidInState(v1::KEY_STATE_RETIRED).empty());
}

TEST_F(TokenServiceTest, RevokeTokenByIdAndBadRevocationRequests) {
  v1::IssueTokenResponse issued = Issue("3");
  {
    v1::RevokeTokenRequest req;
    req.set_token_id(issued.token_id());
    v1::RevokeTokenResponse resp;
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->RevokeToken(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.token_id(), issued.token_id());
  }
  EXPECT_EQ(ReasonOf(issued.token()), v1::REASON_TOKEN_REVOKED);

  auto code_of = [&](const v1::RevokeTokenRequest& req) {
    v1::RevokeTokenResponse resp;
    grpc::ClientContext ctx;
    return stub_->RevokeToken(&ctx, req, &resp).error_code();
  };
  EXPECT_EQ(code_of(v1::RevokeTokenRequest()), grpc::StatusCode::INVALID_ARGUMENT);
  v1::RevokeTokenRequest garbage;
  garbage.set_token("a.b.c");
  EXPECT_EQ(code_of(garbage), grpc::StatusCode::INVALID_ARGUMENT);

  v1::RevokeSubjectRequest future;
  future.set_subject("3");
  *future.mutable_not_before() = signet::ToProtoTime(clock_.Now() + absl::Hours(1));
  v1::RevokeSubjectResponse sresp;
  grpc::ClientContext ctx;
  EXPECT_EQ(stub_->RevokeSubject(&ctx, future, &sresp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(TokenServiceTest, KeysAndRevocationsSurviveARestart) {
  v1::IssueTokenResponse a = Issue("a");
  v1::IssueTokenResponse b = Issue("b");
  v1::IssueTokenResponse c = Issue("c");
  {
    clock_.Advance(absl::Seconds(2));
    v1::RevokeSubjectRequest req;
    req.set_subject("c");
    v1::RevokeSubjectResponse resp;
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->RevokeSubject(&ctx, req, &resp).ok());
  }
  ASSERT_TRUE(testing::RevokeTokenOf(stub_.get(), a.token()).ok());
  std::string keys_before = Keys().DebugString();
  RestartServer();
  EXPECT_EQ(Keys().DebugString(), keys_before);
  EXPECT_EQ(ReasonOf(a.token()), v1::REASON_TOKEN_REVOKED);
  EXPECT_EQ(ReasonOf(c.token()), v1::REASON_SUBJECT_REVOKED);
  EXPECT_TRUE(Validate(b.token()).valid());
}

TEST_F(TokenServiceTest, ListKeysHidesRevokedUnlessAsked) {
  std::string active = KidInState(v1::KEY_STATE_ACTIVE);
  v1::RevokeKeyRequest req;
  req.set_key_id(active);
  v1::RevokeKeyResponse resp;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub_->RevokeKey(&ctx, req, &resp).ok());
  v1::ListKeysResponse listed = Keys(false);
  for (const v1::Key& k : listed.keys()) EXPECT_NE(k.state(), v1::KEY_STATE_REVOKED);
  bool seen = false;
  v1::ListKeysResponse all = Keys(true);
  for (const v1::Key& k : all.keys()) seen |= k.key_id() == active;
  EXPECT_TRUE(seen);
}

TEST_F(TokenServiceTest, WatchKeysSendsTheStateThenEachChange) {
  grpc::ClientContext ctx;
  std::unique_ptr<grpc::ClientReader<v1::WatchKeysResponse>> reader =
      stub_->WatchKeys(&ctx, v1::WatchKeysRequest());
  v1::WatchKeysResponse msg;
  ASSERT_TRUE(reader->Read(&msg));
  EXPECT_TRUE(msg.snapshot());
  EXPECT_EQ(msg.keys_size(), 2);
  EXPECT_FALSE(msg.jwks_json().empty());

  v1::IssueTokenResponse t = Issue("w");
  {
    v1::RevokeTokenRequest req;
    req.set_token_id(t.token_id());
    v1::RevokeTokenResponse resp;
    grpc::ClientContext c;
    ASSERT_TRUE(stub_->RevokeToken(&c, req, &resp).ok());
  }
  ASSERT_TRUE(ReadChange(reader.get(), &msg));
  EXPECT_FALSE(msg.snapshot());
  ASSERT_EQ(msg.token_revocations_size(), 1);
  EXPECT_EQ(msg.token_revocations(0).token_id(), t.token_id());

  {
    v1::RevokeSubjectRequest req;
    req.set_subject("w");
    v1::RevokeSubjectResponse resp;
    grpc::ClientContext c;
    ASSERT_TRUE(stub_->RevokeSubject(&c, req, &resp).ok());
  }
  ASSERT_TRUE(ReadChange(reader.get(), &msg));
  ASSERT_EQ(msg.subject_revocations_size(), 1);
  EXPECT_EQ(msg.subject_revocations(0).subject(), "w");

  std::string active = KidInState(v1::KEY_STATE_ACTIVE);
  {
    v1::RevokeKeyRequest req;
    req.set_key_id(active);
    v1::RevokeKeyResponse resp;
    grpc::ClientContext c;
    ASSERT_TRUE(stub_->RevokeKey(&c, req, &resp).ok());
  }
  ASSERT_TRUE(ReadChange(reader.get(), &msg));
  bool revoked_seen = false;
  for (const v1::Key& k : msg.keys()) {
    revoked_seen |= k.key_id() == active && k.state() == v1::KEY_STATE_REVOKED;
  }
  EXPECT_TRUE(revoked_seen);
  EXPECT_THAT(msg.jwks_json(), ::testing::Not(HasSubstr(active)));

  // A second watcher starts from the state as it now is.
  grpc::ClientContext ctx2;
  auto reader2 = stub_->WatchKeys(&ctx2, v1::WatchKeysRequest());
  ASSERT_TRUE(reader2->Read(&msg));
  EXPECT_TRUE(msg.snapshot());
  EXPECT_EQ(msg.token_revocations_size(), 1);
  EXPECT_EQ(msg.subject_revocations_size(), 1);
  ctx.TryCancel();
  ctx2.TryCancel();
}

TEST_F(TokenServiceTest, AnIdleWatchKeysStreamGetsHeartbeatsCarryingItsVersion) {
  grpc::ClientContext ctx;
  v1::WatchKeysResponse msg;
  auto reader = WatchWithHeartbeats(absl::Milliseconds(50), &ctx, &msg);
  EXPECT_FALSE(msg.heartbeat());
  EXPECT_EQ(msg.heartbeat_interval().seconds(), 0);
  EXPECT_EQ(msg.heartbeat_interval().nanos(), 50'000'000);
  const uint64_t version = msg.version();
  // Nothing changes: heartbeats, and only heartbeats, keep coming.
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(reader->Read(&msg));
    EXPECT_TRUE(msg.heartbeat());
    EXPECT_FALSE(msg.snapshot());
    EXPECT_EQ(msg.version(), version);
    EXPECT_EQ(msg.heartbeat_interval().nanos(), 50'000'000);
    EXPECT_TRUE(msg.jwks_json().empty());
    EXPECT_EQ(msg.keys_size() + msg.token_revocations_size() + msg.subject_revocations_size(), 0);
  }
  // A change goes out as a change, and later heartbeats carry its version.
  RevokeTokenId("beat-1");
  ASSERT_TRUE(ReadChange(reader.get(), &msg));
  ASSERT_EQ(msg.token_revocations_size(), 1);
  const uint64_t changed = msg.version();
  EXPECT_GT(changed, version);
  ASSERT_TRUE(reader->Read(&msg));
  EXPECT_TRUE(msg.heartbeat());
  EXPECT_EQ(msg.version(), changed);
  ctx.TryCancel();
}

TEST_F(TokenServiceTest, AWatcherThatDoesNotReadStillGetsEveryChangeAfterHeartbeats) {
  // The slow-watcher rule (overflow: drop the queue, send one full state) with heartbeats on:
  // a watcher that reads nothing while heartbeats fire and changes pile up still ends with
  // every change, and no heartbeat jumps ahead of a change.
  grpc::ClientContext ctx;
  v1::WatchKeysResponse msg;
  auto reader = WatchWithHeartbeats(absl::Milliseconds(20), &ctx, &msg);
  absl::SleepFor(absl::Milliseconds(200));  // Heartbeats go out while the client does not read.
  constexpr int kRevocations = 300;         // Far more than the 64 a queue holds.
  for (int i = 0; i < kRevocations; ++i) RevokeTokenId("slow-beat-" + std::to_string(i));
  const uint64_t final_version = server_->key_ring()->Current()->version;
  std::set<std::string> seen;
  uint64_t last = 0;
  while (last < final_version && reader->Read(&msg)) {
    if (msg.snapshot()) seen.clear();
    EXPECT_GE(msg.version(), msg.snapshot() ? 0 : last);
    last = msg.version();
    for (const v1::TokenRevocation& t : msg.token_revocations()) seen.insert(t.token_id());
  }
  EXPECT_EQ(last, final_version);
  EXPECT_EQ(seen.size(), static_cast<size_t>(kRevocations));
  ctx.TryCancel();
}

TEST_F(TokenServiceTest, HealthIsServing) {
  grpc::ClientContext ctx;
  auto channel = testing::NewChannel(server_->port());
  // grpc.health.v1.Health/Check with an empty request ("" = the whole server).
  grpc::GenericStub generic(channel);
  grpc::Slice empty("", 0);
  grpc::ByteBuffer request(&empty, 1);
  grpc::ByteBuffer response;
  grpc::Status status;
  absl::Notification done;
  generic.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                    [&](grpc::Status s) {
                      status = s;
                      done.Notify();
                    });
  done.WaitForNotification();
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(response.Dump(&slices).ok());
  std::string bytes;
  for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  // HealthCheckResponse{status: SERVING(1)} is field 1, varint 1.
  EXPECT_EQ(bytes, std::string("\x08\x01", 2));
}

}  // namespace
}  // namespace signet
