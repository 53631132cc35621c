// An in-process signet-server with gateway rules and its HTTP listener on, for the gateway tests:
// issue and revoke tokens over the real gRPC API.
#ifndef SIGNET_TESTS_INTEGRATION_GATEWAY_GATEWAY_FIXTURE_H_
#define SIGNET_TESTS_INTEGRATION_GATEWAY_GATEWAY_FIXTURE_H_

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "server/signet_server.h"
#include "signet/v1/token_service.grpc.pb.h"
#include "tests/integration/test_support.h"

namespace signet::testing {

// Routes of every gateway test: /public optional, /orders needs audience "orders", host
// admin.example.com needs audience "admin", anything else needs a token of any audience.
inline constexpr char kGatewayRulesJson[] = R"({
  "routes": [
    {"path_prefix": "/public", "token": "optional", "description": "anonymous welcome"},
    {"path_prefix": "/orders", "audience": "orders"},
    {"host": "admin.example.com", "audience": "admin"}
  ]
})";

class GatewayFixture : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // A token for `subject` (backend "django.contrib.auth.backends.ModelBackend").
  signet::v1::IssueTokenResponse Issue(const std::string& subject,
                                       const std::vector<std::string>& audiences = {});
  void RevokeToken(const std::string& token_id);
  void RevokeSubject(const std::string& subject);
  // Revokes the key that signed the tokens issued so far (the ACTIVE key).
  void RevokeKey(const std::string& key_id);

  TempDir dir_;
  std::unique_ptr<server::SignetServer> server_;
  std::unique_ptr<signet::v1::TokenService::Stub> stub_;
};

}  // namespace signet::testing

#endif  // SIGNET_TESTS_INTEGRATION_GATEWAY_GATEWAY_FIXTURE_H_
