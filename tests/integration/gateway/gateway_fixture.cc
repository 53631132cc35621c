#include "tests/integration/gateway/gateway_fixture.h"

#include <utility>

namespace signet::testing {

void GatewayFixture::SetUp() {
  const std::string rules = dir_.path() + "/gateway.json";
  WriteFile(rules, kGatewayRulesJson, 0644);
  server::SignetServer::Options options;
  options.config = TestConfig(dir_.path() + "/data");
  options.config.http_listen = "127.0.0.1:0";
  options.config.gateway_rules_file = rules;
  options.run_maintenance = false;
  absl::StatusOr<std::unique_ptr<server::SignetServer>> s =
      server::SignetServer::Start(std::move(options));
  ASSERT_TRUE(s.ok()) << s.status();
  server_ = *std::move(s);
  stub_ = NewStub(server_->port());
}

void GatewayFixture::TearDown() {
  stub_.reset();
  if (server_ != nullptr) server_->Shutdown(absl::Seconds(1));
  server_.reset();
}

signet::v1::IssueTokenResponse GatewayFixture::Issue(const std::string& subject,
                                                     const std::vector<std::string>& audiences) {
  signet::v1::IssueTokenRequest req;
  req.set_subject(subject);
  req.set_backend("django.contrib.auth.backends.ModelBackend");
  for (const std::string& a : audiences) req.add_audience(a);
  signet::v1::IssueTokenResponse resp;
  grpc::ClientContext ctx;
  grpc::Status st = stub_->IssueToken(&ctx, req, &resp);
  EXPECT_TRUE(st.ok()) << st.error_message();
  return resp;
}

void GatewayFixture::RevokeToken(const std::string& token_id) {
  signet::v1::RevokeTokenRequest req;
  req.set_token_id(token_id);
  signet::v1::RevokeTokenResponse resp;
  grpc::ClientContext ctx;
  grpc::Status st = stub_->RevokeToken(&ctx, req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
}

void GatewayFixture::RevokeSubject(const std::string& subject) {
  signet::v1::RevokeSubjectRequest req;
  req.set_subject(subject);
  signet::v1::RevokeSubjectResponse resp;
  grpc::ClientContext ctx;
  grpc::Status st = stub_->RevokeSubject(&ctx, req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
}

void GatewayFixture::RevokeKey(const std::string& key_id) {
  signet::v1::RevokeKeyRequest req;
  req.set_key_id(key_id);
  req.set_reason("gateway test");
  signet::v1::RevokeKeyResponse resp;
  grpc::ClientContext ctx;
  grpc::Status st = stub_->RevokeKey(&ctx, req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
}

}  // namespace signet::testing
