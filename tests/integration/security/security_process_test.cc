// signet-server as a child process: start-up refusals of insecure settings, and a whole mutual-TLS
// session whose log and audit trail are searched for every secret that passed through.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/integration/security/test_pki.h"
#include "tests/integration/test_support.h"

namespace signet {
namespace {

using ::testing::HasSubstr;

constexpr char kAdminId[] = "spiffe://test.signet/ns/ops/sa/oncall";
constexpr char kIssuerId[] = "spiffe://test.signet/ns/auth/sa/login";
constexpr char kUnknownId[] = "spiffe://test.signet/ns/evil/sa/mallory";

TEST(SecureServerProcess, PlaintextOnANonLoopbackAddressIsRefused) {
  testing::TempDir dir;
  std::string out;
  int code = testing::RunServerOnce(
      {"--listen=0.0.0.0:0", "--http_listen=", "--data_dir=" + dir.path() + "/data"}, &out);
  EXPECT_EQ(code, 2) << out;
  EXPECT_THAT(out, HasSubstr("refusing plaintext gRPC on non-loopback address 0.0.0.0:0"));
  EXPECT_THAT(out, HasSubstr("--allow_insecure"));
}

TEST(SecureServerProcess, AllowInsecureStartsButWarns) {
  testing::TempDir dir;
  std::string log = dir.path() + "/server.log";
  auto server =
      testing::ServerProcess::Start({"--listen=0.0.0.0:0", "--allow_insecure",
                                     "--http_listen=", "--data_dir=" + dir.path() + "/data"},
                                    log);
  ASSERT_NE(server->port(), 0);
  EXPECT_EQ(server->Terminate(absl::Seconds(20)), 0);
  std::string text = testing::ReadFile(log);
  EXPECT_THAT(text, HasSubstr("\"insecure_listener\""));
  EXPECT_THAT(text, HasSubstr("\"insecure_mode\""));
}

class SecureProcessTest : public ::testing::Test {
 protected:
  SecureProcessTest() : ca_(testing::TestCa::Create("signet process test CA")) {}

  void SetUp() override {
    server_cert_ = ca_.Issue("signet.test", {"DNS:localhost", "IP:127.0.0.1"});
    admin_ = ca_.Issue("oncall", {std::string("URI:") + kAdminId});
    issuer_ = ca_.Issue("login", {std::string("URI:") + kIssuerId});
    unknown_ = ca_.Issue("mallory", {std::string("URI:") + kUnknownId});
    testing::WriteFile(Path("server.pem"), server_cert_.cert_pem, 0644);
    testing::WriteFile(Path("server.key"), server_cert_.key_pem, 0600);
    testing::WriteFile(Path("ca.pem"), ca_.cert_pem(), 0644);
    testing::WriteFile(Path("policy.json"),
                       absl::StrCat(R"({"callers": [
      {"spiffe_id": ")",
                                    kAdminId, R"(", "roles": ["admin"]},
      {"spiffe_id": ")",
                                    kIssuerId, R"(", "roles": ["issuer"]}]})"),
                       0644);
    kek_hex_ = "00112233445566778899aabbccddeeff0f1e2d3c4b5a69788796a5b4c3d2e1f0";
    testing::WriteFile(Path("kek"), kek_hex_, 0600);
  }

  std::vector<std::string> Args() const {
    return {"--tls_cert_file=" + Path("server.pem"),
            "--tls_key_file=" + Path("server.key"),
            "--client_ca_file=" + Path("ca.pem"),
            "--policy_file=" + Path("policy.json"),
            "--audit_log=" + Path("audit.jsonl"),
            "--kek_file=" + Path("kek"),
            "--data_dir=" + Path("data"),
            "--tls_reload_interval=1s",
            "--http_listen="};
  }

  std::unique_ptr<v1::TokenService::Stub> Stub(int port, const testing::TestCert& client) {
    return v1::TokenService::NewStub(testing::MutualTlsChannel(ca_, client, port));
  }

  std::string Path(const std::string& name) const { return dir_.path() + "/" + name; }

  testing::TempDir dir_;
  testing::TestCa ca_;
  testing::TestCert server_cert_, admin_, issuer_, unknown_;
  std::string kek_hex_;
};

TEST_F(SecureProcessTest, WorldReadableTlsKeyIsRefusedAtStart) {
  testing::WriteFile(Path("server.key"), server_cert_.key_pem, 0644);
  std::vector<std::string> args = Args();
  args.push_back("--listen=127.0.0.1:0");
  std::string out;
  EXPECT_EQ(testing::RunServerOnce(args, &out), 2) << out;
  EXPECT_THAT(out, HasSubstr("--tls_key_file " + Path("server.key") +
                             " is readable or writable by others"));
  EXPECT_EQ(out.find("PRIVATE KEY"), std::string::npos);
}

TEST_F(SecureProcessTest, MutualTlsWithoutPolicyIsRefusedAtStart) {
  std::vector<std::string> args;
  for (const std::string& a : Args()) {
    if (a.rfind("--policy_file", 0) != 0) args.push_back(a);
  }
  args.push_back("--listen=127.0.0.1:0");
  std::string out;
  EXPECT_EQ(testing::RunServerOnce(args, &out), 2) << out;
  EXPECT_THAT(out, HasSubstr("pass --policy_file"));
}

// The base64 body lines of a PEM block, each long enough to be unmistakable.
std::vector<std::string> PemBodyLines(const std::string& pem) {
  std::vector<std::string> out;
  for (absl::string_view line : absl::StrSplit(pem, '\n', absl::SkipEmpty())) {
    if (absl::StartsWith(line, "-----")) continue;
    if (line.size() >= 16) out.emplace_back(line);
  }
  return out;
}

TEST_F(SecureProcessTest, LogsAndAuditHoldNoTokenAndNoKey) {
  std::string log_path = Path("server.log");
  auto server = testing::ServerProcess::Start(Args(), log_path);
  ASSERT_NE(server->port(), 0);
  auto issuer = Stub(server->port(), issuer_);
  auto admin = Stub(server->port(), admin_);
  auto unknown = Stub(server->port(), unknown_);

  std::vector<std::string> tokens;
  std::vector<std::string> jtis;
  for (int i = 0; i < 3; ++i) {
    v1::IssueTokenRequest req;
    req.set_subject(absl::StrCat("user-", i));
    req.add_audience("api");
    v1::IssueTokenResponse resp;
    grpc::ClientContext ctx;
    grpc::Status st = issuer->IssueToken(&ctx, req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    tokens.push_back(resp.token());
    jtis.push_back(resp.token_id());
  }
  // Caller-supplied text shaped like a token: the audit trail must not copy it either.
  const std::string smuggled =
      "eyJhbGciOiJFZERTQSIsImtpZCI6Ingi.eyJzdWIiOiJ2aWN0aW0ifQ.c211Z2dsZWQtc2lnbmF0dXJl";
  {
    v1::IssueTokenRequest req;
    req.set_subject(smuggled);
    v1::IssueTokenResponse resp;
    grpc::ClientContext ctx;
    grpc::Status st = admin->IssueToken(&ctx, req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    tokens.push_back(resp.token());
    jtis.push_back(resp.token_id());
  }
  for (const std::string& token : tokens) {
    v1::ValidateTokenRequest req;
    req.set_token(token);
    req.set_any_audience(true);
    v1::ValidateTokenResponse resp;
    grpc::ClientContext ctx;
    ASSERT_TRUE(admin->ValidateToken(&ctx, req, &resp).ok());
    EXPECT_TRUE(resp.valid());
  }
  {
    v1::RevokeTokenRequest req;
    req.set_token(tokens[1]);  // by the token itself, not its id
    v1::RevokeTokenResponse resp;
    grpc::ClientContext ctx;
    ASSERT_TRUE(admin->RevokeToken(&ctx, req, &resp).ok());
  }
  {
    v1::RevokeTokenRequest req;
    req.set_token(tokens[2]);
    v1::RevokeTokenResponse resp;
    grpc::ClientContext ctx;
    EXPECT_EQ(unknown->RevokeToken(&ctx, req, &resp).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  {
    v1::RevokeSubjectRequest req;
    req.set_subject(smuggled);
    v1::RevokeSubjectResponse resp;
    grpc::ClientContext ctx;
    ASSERT_TRUE(admin->RevokeSubject(&ctx, req, &resp).ok());
  }
  {
    v1::RotateKeyRequest req;
    req.set_immediate(true);
    v1::RotateKeyResponse resp;
    grpc::ClientContext ctx;
    grpc::Status st = admin->RotateKey(&ctx, req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }
  // Open connections would hold the drain until its deadline.
  issuer.reset();
  admin.reset();
  unknown.reset();
  EXPECT_EQ(server->Terminate(absl::Seconds(20)), 0);

  const std::string log = testing::ReadFile(log_path);
  const std::string audit = testing::ReadFile(Path("audit.jsonl"));
  ASSERT_FALSE(audit.empty());
  // The trail is there...
  for (const std::string& jti : jtis) EXPECT_THAT(audit, HasSubstr(jti));
  EXPECT_THAT(audit, HasSubstr("\"audit\":\"refused\""));
  EXPECT_THAT(audit, HasSubstr("\"audit\":\"revoke_subject\""));
  EXPECT_THAT(audit, HasSubstr("\"audit\":\"rotate_key\""));
  // ...and no secret is in it, nor in the log.
  const std::string kek_raw = absl::HexStringToBytes(kek_hex_);
  ASSERT_EQ(kek_raw.size(), 32u);
  const std::vector<std::string> kek_forms = {kek_hex_, kek_raw, absl::Base64Escape(kek_raw),
                                              absl::WebSafeBase64Escape(kek_raw)};
  for (const auto& [name, text] : {std::pair<std::string, const std::string&>{"log", log},
                                   std::pair<std::string, const std::string&>{"audit", audit}}) {
    EXPECT_EQ(text.find(smuggled), std::string::npos) << name << " holds the token-like subject";
    for (size_t i = 0; i < tokens.size(); ++i) {
      EXPECT_EQ(text.find(tokens[i]), std::string::npos) << name << " holds token #" << i;
      std::vector<std::string> parts = absl::StrSplit(tokens[i], '.');
      ASSERT_EQ(parts.size(), 3u);
      EXPECT_EQ(text.find(parts[2]), std::string::npos) << name << " holds signature #" << i;
    }
    for (const std::string& form : kek_forms) {
      EXPECT_EQ(text.find(form), std::string::npos) << name << " holds the KEK";
    }
    EXPECT_EQ(text.find("PRIVATE KEY"), std::string::npos) << name << " holds a PEM key";
    for (const testing::TestCert* cert : {&server_cert_, &admin_, &issuer_, &unknown_}) {
      for (const std::string& line : PemBodyLines(cert->key_pem)) {
        EXPECT_EQ(text.find(line), std::string::npos) << name << " holds private key bytes";
      }
    }
  }
}

TEST_F(SecureProcessTest, ATokenPastedIntoARevokeKeyReasonReachesNoLogListWatcherOrAudit) {
  std::string log_path = Path("server.log");
  auto server = testing::ServerProcess::Start(Args(), log_path);
  ASSERT_NE(server->port(), 0);
  auto issuer = Stub(server->port(), issuer_);
  auto admin = Stub(server->port(), admin_);

  v1::IssueTokenRequest issue;
  issue.set_subject("user-1");
  v1::IssueTokenResponse issued;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(issuer->IssueToken(&ctx, issue, &issued).ok());
  }
  const std::string token = issued.token();
  const std::string signature = token.substr(token.rfind('.') + 1);
  auto list = [&] { return testing::ListKeysOf(admin.get()); };
  std::string pending;
  const v1::ListKeysResponse before = list();
  for (const v1::Key& k : before.keys()) {
    if (k.state() == v1::KEY_STATE_PENDING) pending = k.key_id();
  }
  ASSERT_FALSE(pending.empty());
  auto revoke = [&](const std::string& reason) {
    v1::RevokeKeyRequest req;
    req.set_key_id(pending);
    req.set_reason(reason);
    v1::RevokeKeyResponse resp;
    grpc::ClientContext ctx;
    return admin->RevokeKey(&ctx, req, &resp);
  };

  // Over-long and multi-line reasons are refused with a message, and revoke nothing.
  for (const std::string& bad :
       {std::string(513, 'x'), std::string("line one\nline two"), std::string("tab\there"),
        std::string("del\x7f"), std::string("c1 \xc2\x85 next line")}) {
    grpc::Status st = revoke(bad);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad;
    EXPECT_THAT(st.error_message(), HasSubstr("reason")) << bad;
  }
  const v1::ListKeysResponse after_refusals = list();
  for (const v1::Key& k : after_refusals.keys()) EXPECT_NE(k.state(), v1::KEY_STATE_REVOKED);

  grpc::ClientContext watch_ctx;
  auto watch = admin->WatchKeys(&watch_ctx, v1::WatchKeysRequest());
  v1::WatchKeysResponse snapshot;
  ASSERT_TRUE(watch->Read(&snapshot));
  // An operator pastes the token that prompted the revocation.
  const std::string reason = "leaked, see Bearer " + token;
  ASSERT_LE(reason.size(), 512u);
  grpc::Status st = revoke(reason);
  ASSERT_TRUE(st.ok()) << st.error_message();
  v1::WatchKeysResponse change;
  ASSERT_TRUE(watch->Read(&change));
  bool seen = false;
  for (const v1::Key& k : change.keys()) {
    EXPECT_EQ(k.revoke_reason().find(signature), std::string::npos);
    if (k.key_id() == pending) {
      seen = true;
      EXPECT_EQ(k.state(), v1::KEY_STATE_REVOKED);
      EXPECT_EQ(k.revoke_reason(), "[redacted]");
    }
  }
  EXPECT_TRUE(seen);
  const v1::ListKeysResponse listed = list();
  for (const v1::Key& k : listed.keys()) {
    EXPECT_EQ(k.revoke_reason().find(signature), std::string::npos);
    if (k.key_id() == pending) {
      EXPECT_EQ(k.revoke_reason(), "[redacted]");
    }
  }
  watch_ctx.TryCancel();
  watch.reset();
  issuer.reset();
  admin.reset();
  EXPECT_EQ(server->Terminate(absl::Seconds(20)), 0);

  const std::string log = testing::ReadFile(log_path);
  const std::string audit = testing::ReadFile(Path("audit.jsonl"));
  EXPECT_THAT(audit, HasSubstr("\"audit\":\"revoke_key\""));
  EXPECT_THAT(log, HasSubstr("\"key_revoked\""));
  for (const auto& [name, text] : {std::pair<std::string, const std::string&>{"log", log},
                                   std::pair<std::string, const std::string&>{"audit", audit}}) {
    EXPECT_EQ(text.find(signature), std::string::npos) << name << " holds the token";
    EXPECT_EQ(text.find(token.substr(0, token.find('.'))), std::string::npos)
        << name << " holds the token's header";
  }
}

}  // namespace
}  // namespace signet
