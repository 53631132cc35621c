// envoy.service.auth.v3.Authorization/Check on a real server, called the way Envoy calls it: a
// gRPC client built from the same wire contract, lower-case headers, a forged x-signet-subject.
#include <map>
#include <memory>
#include <string>

#include "absl/synchronization/notification.h"
#include "envoy/service/auth/v3/external_auth.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "tests/integration/gateway/gateway_fixture.h"

namespace signet::testing {
namespace {

using envoy::config::core::v3::HeaderValueOption;
using envoy::service::auth::v3::CheckRequest;
using envoy::service::auth::v3::CheckResponse;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

constexpr int kOk = 0;
constexpr int kUnauthenticated = 16;

class ExtAuthzTest : public GatewayFixture {
 protected:
  void SetUp() override {
    GatewayFixture::SetUp();
    ext_authz_ = envoy::service::auth::v3::Authorization::NewStub(NewChannel(server_->port()));
  }

  // A CheckRequest as Envoy's HTTP filter sends it for `method host path` with `headers`.
  static CheckRequest EnvoyRequest(const std::string& host, const std::string& path,
                                   const std::map<std::string, std::string>& headers) {
    CheckRequest req;
    auto* http = req.mutable_attributes()->mutable_request()->mutable_http();
    http->set_id("17");
    http->set_method("GET");
    http->set_host(host);
    http->set_path(path);
    http->set_scheme("http");
    http->set_protocol("HTTP/1.1");
    auto& map = *http->mutable_headers();
    map[":authority"] = host;
    map[":path"] = path;
    map[":method"] = "GET";
    for (const auto& [k, v] : headers) map[k] = v;
    return req;
  }

  CheckResponse Check(const CheckRequest& req) {
    CheckResponse resp;
    grpc::ClientContext ctx;
    grpc::Status st = ext_authz_->Check(&ctx, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp;
  }

  static std::map<std::string, std::string> Headers(
      const google::protobuf::RepeatedPtrField<HeaderValueOption>& options) {
    std::map<std::string, std::string> out;
    for (const HeaderValueOption& o : options) {
      EXPECT_EQ(o.append_action(), HeaderValueOption::OVERWRITE_IF_EXISTS_OR_ADD);
      out[o.header().key()] = o.header().value();
    }
    return out;
  }

  std::unique_ptr<envoy::service::auth::v3::Authorization::Stub> ext_authz_;
};

TEST_F(ExtAuthzTest, AValidTokenIsAllowedWithTheIdentityHeadersAndTheForgedOneReplaced) {
  v1::IssueTokenResponse t = Issue("42", {"web"});
  CheckResponse resp = Check(EnvoyRequest("shop.example.com", "/cart",
                                          {{"authorization", "Bearer " + t.token()},
                                           {"x-signet-subject", "1"},
                                           {"x-signet-role", "x"}}));
  EXPECT_EQ(resp.status().code(), kOk);
  ASSERT_TRUE(resp.has_ok_response());
  EXPECT_THAT(Headers(resp.ok_response().headers()),
              UnorderedElementsAre(
                  Pair("x-signet-subject", "42"),
                  Pair("x-signet-backend", "django.contrib.auth.backends.ModelBackend"),
                  Pair("x-signet-token-id", t.token_id()), Pair("x-signet-audience", "web")));
  // The forged subject is overwritten; the other forged header is removed.
  EXPECT_THAT(resp.ok_response().headers_to_remove(), ElementsAre("x-signet-role"));
}

TEST_F(ExtAuthzTest, AMissingTokenIsDeniedWithABareBearerChallenge) {
  CheckResponse resp = Check(EnvoyRequest("shop.example.com", "/cart", {}));
  EXPECT_EQ(resp.status().code(), kUnauthenticated);
  ASSERT_TRUE(resp.has_denied_response());
  EXPECT_EQ(resp.denied_response().status().code(), envoy::type::v3::Unauthorized);
  EXPECT_EQ(Headers(resp.denied_response().headers())["www-authenticate"], "Bearer");
  EXPECT_THAT(resp.denied_response().body(), HasSubstr("missing bearer token"));
}

TEST_F(ExtAuthzTest, ABadTokenIsDeniedWithAnInvalidTokenChallengeThatDoesNotEchoIt) {
  const std::string bad = Issue("42").token() + "x";
  CheckResponse resp =
      Check(EnvoyRequest("shop.example.com", "/cart", {{"authorization", "Bearer " + bad}}));
  EXPECT_EQ(resp.status().code(), kUnauthenticated);
  const std::string challenge = Headers(resp.denied_response().headers())["www-authenticate"];
  EXPECT_THAT(challenge, HasSubstr("Bearer error=\"invalid_token\", error_description=\""));
  EXPECT_EQ(resp.denied_response().status().code(), envoy::type::v3::Unauthorized);
  for (const std::string& text :
       {challenge, resp.denied_response().body(), resp.status().message()}) {
    EXPECT_THAT(text, ::testing::Not(HasSubstr(bad.substr(0, 20))));
  }
}

TEST_F(ExtAuthzTest, AnOptionalRouteLetsAnonymousRequestsThroughWithoutAnyIdentityHeader) {
  for (const std::string& authorization : {std::string(), std::string("Bearer nonsense")}) {
    std::map<std::string, std::string> headers = {{"x-signet-subject", "admin"}};
    if (!authorization.empty()) headers["authorization"] = authorization;
    CheckResponse resp = Check(EnvoyRequest("shop.example.com", "/public/home", headers));
    EXPECT_EQ(resp.status().code(), kOk);
    EXPECT_THAT(resp.ok_response().headers(), IsEmpty());
    EXPECT_THAT(resp.ok_response().headers_to_remove(), ElementsAre("x-signet-subject"));
  }
}

TEST_F(ExtAuthzTest, ARouteWithAnAudienceRefusesTokensForAnotherAudience) {
  const std::string web = Issue("42", {"web"}).token();
  const std::string orders = Issue("42", {"orders"}).token();
  EXPECT_EQ(
      Check(EnvoyRequest("h", "/orders/1", {{"authorization", "Bearer " + web}})).status().code(),
      kUnauthenticated);
  EXPECT_EQ(Check(EnvoyRequest("h", "/orders/1", {{"authorization", "Bearer " + orders}}))
                .status()
                .code(),
            kOk);
  EXPECT_EQ(
      Check(EnvoyRequest("admin.example.com:8443", "/", {{"authorization", "Bearer " + orders}}))
          .status()
          .code(),
      kUnauthenticated);
}

TEST_F(ExtAuthzTest, RawHeadersFromEncodeRawHeadersAreReadToo) {
  v1::IssueTokenResponse t = Issue("7");
  CheckRequest req = EnvoyRequest("h", "/x", {});
  auto* header_map =
      req.mutable_attributes()->mutable_request()->mutable_http()->mutable_header_map();
  auto* h = header_map->add_headers();
  h->set_key("authorization");
  h->set_raw_value("Bearer " + t.token());
  CheckResponse resp = Check(req);
  EXPECT_EQ(resp.status().code(), kOk);
  EXPECT_EQ(Headers(resp.ok_response().headers())["x-signet-subject"], "7");
}

TEST_F(ExtAuthzTest, RevokingTheTokenTheSubjectOrTheKeyRefusesTheNextCheck) {
  v1::IssueTokenResponse a = Issue("a");
  v1::IssueTokenResponse b = Issue("b");
  v1::IssueTokenResponse c = Issue("c");
  auto check = [&](const std::string& token) {
    return Check(EnvoyRequest("h", "/x", {{"authorization", "Bearer " + token}})).status().code();
  };
  for (const auto* t : {&a, &b, &c}) ASSERT_EQ(check(t->token()), kOk);
  RevokeToken(a.token_id());
  EXPECT_EQ(check(a.token()), kUnauthenticated);
  EXPECT_EQ(check(b.token()), kOk);
  RevokeSubject("b");
  EXPECT_EQ(check(b.token()), kUnauthenticated);
  EXPECT_EQ(check(c.token()), kOk);
  RevokeKey(c.key_id());
  EXPECT_EQ(check(c.token()), kUnauthenticated);
}

TEST_F(ExtAuthzTest, BytesThatAreNotACheckRequestAreAnInvalidArgument) {
  grpc::GenericStub generic(NewChannel(server_->port()));
  const std::string garbage = "\x0a\xff\xff\xff";
  grpc::Slice slice(garbage);
  grpc::ByteBuffer request(&slice, 1), response;
  grpc::ClientContext ctx;
  absl::Notification done;
  grpc::Status status;
  generic.UnaryCall(&ctx, "/envoy.service.auth.v3.Authorization/Check", grpc::StubOptions(),
                    &request, &response, [&](grpc::Status s) {
                      status = std::move(s);
                      done.Notify();
                    });
  done.WaitForNotification();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("not an envoy.service.auth.v3.CheckRequest"));
}

}  // namespace
}  // namespace signet::testing
