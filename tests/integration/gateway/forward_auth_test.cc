// /v1/authz called directly the way Traefik's ForwardAuth and Envoy's HTTP ext_authz mode call it
// (the nginx side is nginx_forward_auth_test.cc).
#include <httplib.h>

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/gateway/gateway_fixture.h"

namespace signet::testing {
namespace {

using ::testing::HasSubstr;

class ForwardAuthTest : public GatewayFixture {
 protected:
  void SetUp() override {
    GatewayFixture::SetUp();
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->http_port());
  }
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(ForwardAuthTest, TraefikHeadersChooseTheRouteAndTheIdentityComesBack) {
  v1::IssueTokenResponse t = Issue("42", {"orders"});
  httplib::Headers headers = {
      {"Authorization", "Bearer " + t.token()}, {"X-Forwarded-Method", "POST"},
      {"X-Forwarded-Host", "shop.example.com"}, {"X-Forwarded-Uri", "/orders/7"},
      {"X-Signet-Subject", "forged"},           {"X-Signet-Extra", "forged"}};
  httplib::Result r = client_->Get("/v1/authz", headers);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("X-Signet-Subject"), "42");
  EXPECT_EQ(r->get_header_value("X-Signet-Audience"), "orders");
  EXPECT_EQ(r->get_header_value("X-Signet-Token-Id"), t.token_id());
  EXPECT_EQ(r->get_header_value("x-envoy-auth-headers-to-remove"), "x-signet-extra");
  EXPECT_EQ(r->get_header_value("Cache-Control"), "no-store");

  // The same token for a route that needs another audience.
  headers.erase("X-Forwarded-Uri");
  headers.emplace("X-Forwarded-Uri", "/x");
  headers.erase("X-Forwarded-Host");
  headers.emplace("X-Forwarded-Host", "admin.example.com");
  r = client_->Get("/v1/authz", headers);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_THAT(r->get_header_value("WWW-Authenticate"), HasSubstr("audience mismatch"));
}

TEST_F(ForwardAuthTest, EnvoyHttpModeAppendsTheOriginalPathAndAnyMethodIsAnswered) {
  const std::string token = Issue("42").token();
  httplib::Headers headers = {{"Authorization", "Bearer " + token}};
  httplib::Result optional = client_->Post("/v1/authz/public/home", "", "text/plain");
  ASSERT_TRUE(optional);
  EXPECT_EQ(optional->status, 200);
  EXPECT_FALSE(optional->has_header("X-Signet-Subject"));
  httplib::Result required = client_->Delete("/v1/authz/account");
  ASSERT_TRUE(required);
  EXPECT_EQ(required->status, 401);
  EXPECT_EQ(required->get_header_value("WWW-Authenticate"), "Bearer");
  httplib::Result valid = client_->Put("/v1/authz/account", headers, "", "text/plain");
  ASSERT_TRUE(valid);
  EXPECT_EQ(valid->status, 200);
  EXPECT_EQ(valid->get_header_value("X-Signet-Subject"), "42");
}

TEST_F(ForwardAuthTest, TwoAuthorizationHeadersOrAnotherSchemeAreRefusedAsInvalidRequests) {
  const std::string token = Issue("42").token();
  httplib::Result two = client_->Get(
      "/v1/authz", {{"Authorization", "Bearer " + token}, {"Authorization", "Bearer " + token}});
  ASSERT_TRUE(two);
  EXPECT_EQ(two->status, 401);
  EXPECT_EQ(two->get_header_value("WWW-Authenticate"),
            "Bearer error=\"invalid_request\", error_description=\"more than one authorization "
            "header\"");
  httplib::Result basic = client_->Get("/v1/authz", {{"Authorization", "Basic YTpi"}});
  ASSERT_TRUE(basic);
  EXPECT_EQ(basic->status, 401);
  EXPECT_THAT(basic->get_header_value("WWW-Authenticate"), HasSubstr("invalid_request"));
}

}  // namespace
}  // namespace signet::testing
