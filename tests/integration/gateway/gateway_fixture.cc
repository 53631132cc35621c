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
  server_ = testing::StartServer(std::move(options));
  ASSERT_NE(server_, nullptr);
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

namespace {

// Calls one unary method and expects success; the answer is not needed.
template <typename Request, typename Response>
void MustCall(signet::v1::TokenService::Stub* stub,
              grpc::Status (signet::v1::TokenService::Stub::*method)(grpc::ClientContext*,
                                                                     const Request&, Response*),
              const Request& request) {
  Response response;
  grpc::ClientContext ctx;
  grpc::Status st = (stub->*method)(&ctx, request, &response);
  EXPECT_TRUE(st.ok()) << st.error_message();
}

}  // namespace

void GatewayFixture::RevokeToken(const std::string& token_id) {
  signet::v1::RevokeTokenRequest req;
  req.set_token_id(token_id);
  MustCall(stub_.get(), &signet::v1::TokenService::Stub::RevokeToken, req);
}

void GatewayFixture::RevokeSubject(const std::string& subject) {
  signet::v1::RevokeSubjectRequest req;
  req.set_subject(subject);
  MustCall(stub_.get(), &signet::v1::TokenService::Stub::RevokeSubject, req);
}

void GatewayFixture::RevokeKey(const std::string& key_id) {
  signet::v1::RevokeKeyRequest req;
  req.set_key_id(key_id);
  req.set_reason("gateway test");
  MustCall(stub_.get(), &signet::v1::TokenService::Stub::RevokeKey, req);
}

}  // namespace signet::testing
