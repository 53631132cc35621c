// The gateway rules file: strict parsing with errors naming the field, and route matching.
#include "server/gateway/gateway_rules.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/policy/policy.h"

namespace signet::server {
namespace {

using ::testing::HasSubstr;

GatewayRules MustParse(const std::string& json) {
  absl::StatusOr<GatewayRules> rules = GatewayRules::Parse(json, "rules.json");
  EXPECT_TRUE(rules.ok()) << rules.status();
  return rules.ok() ? *std::move(rules) : GatewayRules();
}

std::string ErrorOf(const std::string& json) {
  absl::StatusOr<GatewayRules> rules = GatewayRules::Parse(json, "rules.json");
  EXPECT_FALSE(rules.ok()) << json;
  EXPECT_EQ(rules.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(rules.status().message());
}

TEST(GatewayRulesTest, WithoutRulesEveryRequestNeedsATokenOfAnyAudience) {
  GatewayRules rules;
  const GatewayRoute& route = rules.Match("any.example.com", "/anything");
  EXPECT_EQ(route.token, TokenRequirement::kRequired);
  EXPECT_EQ(route.audience, "");
  EXPECT_EQ(rules.headers().subject, "x-signet-subject");
}

TEST(GatewayRulesTest, TheFirstMatchingRouteDecidesByHostAndWholePathSegments) {
  GatewayRules rules = MustParse(R"({"routes": [
      {"host": "Shop.Example.com", "path_prefix": "/catalog", "token": "optional"},
      {"path_prefix": "/orders/", "audience": "orders"},
      {"path_prefix": "/", "audience": "web"}]})");
  EXPECT_EQ(rules.Match("shop.example.com:8443", "/catalog?x=1").token,
            TokenRequirement::kOptional);
  EXPECT_EQ(rules.Match("SHOP.example.com", "/catalog/shoes").token, TokenRequirement::kOptional);
  EXPECT_EQ(rules.Match("shop.example.com", "/catalogue").audience, "web");
  EXPECT_EQ(rules.Match("other.example.com", "/catalog").audience, "web");
  EXPECT_EQ(rules.Match("x", "/orders/1").audience, "orders");
  EXPECT_EQ(rules.Match("x", "/orders").audience, "web");
}

TEST(GatewayRulesTest, AnAmbiguousPathNeverMatchesAnOptionalRoute) {
  GatewayRules rules =
      MustParse(R"({"routes": [{"path_prefix": "/public", "token": "optional"}]})");
  EXPECT_EQ(rules.Match("h", "/public/a").token, TokenRequirement::kOptional);
  for (const char* path : {"/public/../admin", "/public/%2e%2e/admin", "/public/.", "/public%2Fx",
                           "/public/..%5cadmin", "/public\\..\\admin"}) {
    EXPECT_EQ(rules.Match("h", path).token, TokenRequirement::kRequired) << path;
  }
}

TEST(GatewayRulesTest, HeaderNamesAreConfigurableAndEveryXSignetHeaderIsAnIdentityHeader) {
  GatewayRules rules = MustParse(R"({"headers": {"subject": "X-User-Id"}})");
  EXPECT_EQ(rules.headers().subject, "x-user-id");
  EXPECT_EQ(rules.headers().backend, "x-signet-backend");
  EXPECT_TRUE(rules.IsIdentityHeader("x-user-id"));
  EXPECT_TRUE(rules.IsIdentityHeader("x-signet-anything"));
  EXPECT_FALSE(rules.IsIdentityHeader("x-request-id"));
}

TEST(GatewayRulesTest, BadFilesAreRefusedWithTheFieldNamed) {
  EXPECT_THAT(ErrorOf("{"), HasSubstr("rules.json: invalid JSON at byte 1"));
  EXPECT_THAT(ErrorOf("[]"), HasSubstr("must be a JSON object"));
  EXPECT_THAT(ErrorOf(R"({"route": []})"),
              HasSubstr("route: unknown field (known: routes, headers)"));
  EXPECT_THAT(ErrorOf(R"({"routes": {}})"), HasSubstr("routes: must be an array"));
  EXPECT_THAT(ErrorOf(R"({"routes": [{"token": "maybe"}]})"),
              HasSubstr("routes[0].token: \"maybe\" is neither \"required\" nor \"optional\""));
  EXPECT_THAT(ErrorOf(R"({"routes": [{"path_prefix": "api"}]})"),
              HasSubstr("routes[0].path_prefix: must be a path starting with '/'"));
  EXPECT_THAT(ErrorOf(R"({"routes": [{"host": "a:80"}]})"), HasSubstr("routes[0].host: must be"));
  EXPECT_THAT(ErrorOf(R"({"routes": [{"audience": ""}]})"), HasSubstr("routes[0].audience"));
  EXPECT_THAT(ErrorOf(R"({"routes": [{"audience": 3}]})"),
              HasSubstr("routes[0].audience: must be a string"));
  EXPECT_THAT(ErrorOf(R"({"routes": [{"token": "required", "token": "optional"}]})"),
              HasSubstr("routes[0].token: appears twice"));
  EXPECT_THAT(ErrorOf(R"({"headers": {"subject": "user"}})"),
              HasSubstr("headers.subject: \"user\" must be a header name starting with \"x-\""));
  EXPECT_THAT(ErrorOf(R"({"headers": {"subject": "x-a", "backend": "X-A"}})"),
              HasSubstr("headers.backend: \"x-a\" names another identity header too"));
}

TEST(GatewayRulesTest, AMissingFileIsAnErrorNamingIt) {
  absl::StatusOr<GatewayRules> rules = GatewayRules::Load("/nonexistent/gateway.json");
  EXPECT_EQ(rules.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(rules.status().message(), HasSubstr("/nonexistent/gateway.json"));
}

TEST(GatewayRulesTest, TheExampleRulesFileParses) {
  absl::StatusOr<GatewayRules> rules =
      GatewayRules::Load(SIGNET_SOURCE_DIR "/deploy/gateways/gateway-rules.json");
  ASSERT_TRUE(rules.ok()) << rules.status();
  EXPECT_EQ(rules->Match("shop.example.com", "/catalog/1").token, TokenRequirement::kOptional);
  EXPECT_EQ(rules->Match("admin.example.com", "/").audience, "admin");
}

TEST(GatewayRulesTest, CheckNeedsTheValidatorRole) {
  EXPECT_EQ(RequiredRole(Rpc::kCheck), Role::kValidator);
  EXPECT_STREQ(RpcName(Rpc::kCheck), "Check");
}

}  // namespace
}  // namespace signet::server
