// A relying party outside signet, with nothing but the issuer URL: openid-client discovers the
// document at {issuer}/.well-known/openid-configuration (and checks that it names this issuer),
// jose fetches the JWK Set at its jwks_uri and verifies signet tokens with the issuer and audience
// required (discover_and_verify.mjs). The server is the real one, on a loopback port.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/test_support.h"

namespace signet {
namespace {

using ::testing::HasSubstr;

// A loopback port free now (the server binds it right after; nothing else here takes ports).
int FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) close(fd);
    return 0;
  }
  close(fd);
  return ntohs(addr.sin_port);
}

// Runs the client; its exit code, and what it printed in *out.
int RunClient(const std::string& issuer, const std::string& token, const std::string& audience,
              std::string* out) {
  const std::string command = std::string("bash '") + SIGNET_SOURCE_DIR +
                              "/tests/integration/discovery/run-discovery-client.sh' '" +
                              SIGNET_DISCOVERY_WORK + "' '" + issuer + "' '" + token + "' '" +
                              audience + "' 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return -1;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) out->append(buffer, n);
  const int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

class DiscoveryClientTest : public ::testing::TestWithParam<Algorithm> {
 protected:
  void SetUp() override {
    const int port = FreeLoopbackPort();
    ASSERT_NE(port, 0);
    issuer_ = "http://127.0.0.1:" + std::to_string(port) + "/signet";
    server::SignetServer::Options options;
    options.config = testing::TestConfig(dir_.path());
    options.config.algorithm = GetParam();
    options.config.http_listen = "127.0.0.1:" + std::to_string(port);
    options.config.public_url = issuer_ + "/";
    options.config.issuer = issuer_;
    server_ = testing::StartServer(std::move(options));
    ASSERT_NE(server_, nullptr);
    stub_ = testing::NewStub(server_->port());
  }

  std::string Issue(const std::string& subject, const std::string& audience) {
    v1::IssueTokenRequest request;
    request.set_subject(subject);
    request.add_audience(audience);
    v1::IssueTokenResponse response;
    grpc::ClientContext context;
    grpc::Status status = stub_->IssueToken(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.token();
  }

  testing::TempDir dir_;
  std::string issuer_;
  std::unique_ptr<server::SignetServer> server_;
  std::unique_ptr<v1::TokenService::Stub> stub_;
};

TEST_P(DiscoveryClientTest, VerifiesASignetTokenFromTheIssuerUrlAlone) {
  std::string out;
  ASSERT_EQ(RunClient(issuer_, Issue("alice", "orders"), "orders", &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("\"sub\":\"alice\""));
  EXPECT_THAT(out, HasSubstr(std::string("\"alg\":\"") + std::string(AlgorithmName(GetParam()))));
  EXPECT_THAT(out, HasSubstr("\"jwks_uri\":\"" + issuer_ + "/.well-known/jwks.json\""));
}

TEST_P(DiscoveryClientTest, RefusesAForgedSignatureAndAnotherAudience) {
  const std::string token = Issue("alice", "orders");
  // The attack: the signature's first byte changed (its last character may only carry padding
  // bits).
  std::string forged = token;
  const size_t signature = forged.rfind('.') + 1;
  forged[signature] = forged[signature] == 'A' ? 'B' : 'A';
  std::string out;
  EXPECT_EQ(RunClient(issuer_, forged, "orders", &out), 1) << out;
  EXPECT_THAT(out, HasSubstr("signature verification failed"));
  out.clear();
  EXPECT_EQ(RunClient(issuer_, token, "billing", &out), 1) << out;
  EXPECT_THAT(out, HasSubstr("aud"));
}

INSTANTIATE_TEST_SUITE_P(Algorithms, DiscoveryClientTest,
                         ::testing::Values(Algorithm::kEdDSA, Algorithm::kES256),
                         [](const ::testing::TestParamInfo<Algorithm>& info) {
                           return std::string(AlgorithmName(info.param));
                         });

}  // namespace
}  // namespace signet
