// Check under mutual TLS and a policy file: it needs the validator role, like ValidateToken.
#include <chrono>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "envoy/service/auth/v3/external_auth.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/security/test_pki.h"
#include "tests/integration/test_support.h"

namespace signet::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kGatewayId[] = "spiffe://test/ns/mesh/sa/envoy";
constexpr char kLoginId[] = "spiffe://test/ns/auth/sa/login";

class ExtAuthzPolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const TestCert server_cert = ca_.Issue("signet.test", {"DNS:localhost", "IP:127.0.0.1"});
    WriteFile(Path("server.pem"), server_cert.cert_pem, 0644);
    WriteFile(Path("server.key"), server_cert.key_pem, 0600);
    WriteFile(Path("client-ca.pem"), ca_.cert_pem(), 0644);
    WriteFile(Path("policy.json"),
              absl::StrCat(R"({"callers": [{"spiffe_id": ")", kGatewayId,
                           R"(", "roles": ["validator"]}, {"spiffe_id": ")", kLoginId,
                           R"(", "roles": ["issuer"]}]})"),
              0644);
    server::SignetServer::Options options;
    options.config = TestConfig(Path("data"));
    options.config.tls_cert_file = Path("server.pem");
    options.config.tls_key_file = Path("server.key");
    options.config.client_ca_file = Path("client-ca.pem");
    options.config.policy_file = Path("policy.json");
    options.config.audit_log = Path("audit.jsonl");
    options.run_maintenance = false;
    server_ = testing::StartServer(std::move(options));
    ASSERT_NE(server_, nullptr);
  }

  std::string Path(const std::string& name) const { return dir_.path() + "/" + name; }

  grpc::Status Check(const std::string& spiffe_id, envoy::service::auth::v3::CheckResponse* out) {
    const TestCert client = ca_.Issue("client", {"URI:" + spiffe_id});
    auto stub = envoy::service::auth::v3::Authorization::NewStub(
        MutualTlsChannel(ca_, client, server_->port()));
    envoy::service::auth::v3::CheckRequest req;
    req.mutable_attributes()->mutable_request()->mutable_http()->set_path("/x");
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return stub->Check(&ctx, req, out);
  }

  TempDir dir_;
  TestCa ca_ = TestCa::Create("signet test CA");
  std::unique_ptr<server::SignetServer> server_;
};

TEST_F(ExtAuthzPolicyTest, AValidatorMayCheckAndAnIssuerMayNot) {
  envoy::service::auth::v3::CheckResponse resp;
  grpc::Status st = Check(kGatewayId, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.status().code(), 16);  // No token in the request: denied, but answered.

  st = Check(kLoginId, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(st.error_message(), HasSubstr("Check needs role validator"));
  EXPECT_THAT(ReadFile(Path("audit.jsonl")), HasSubstr(R"("rpc":"Check")"));
}

}  // namespace
}  // namespace signet::testing
