// The security layer end to end, in process: real TLS and mutual TLS with certificates made at
// test time, the policy file, issuer limits, reloading of certificates and policy, the audit
// trail, and the transport limits.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "server/signet_server.h"
#include "signet/clock.h"
#include "tests/integration/security/test_pki.h"
#include "tests/integration/test_support.h"

namespace signet {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kIssuerId[] = "spiffe://test.signet/ns/auth/sa/login";
constexpr char kShopId[] = "spiffe://test.signet/ns/shop/sa/checkout";
constexpr char kAdminId[] = "spiffe://test.signet/ns/ops/sa/oncall";
constexpr char kApiId[] = "spiffe://test.signet/ns/api/sa/frontend";
constexpr char kUnknownId[] = "spiffe://test.signet/ns/evil/sa/mallory";
constexpr char kDnsId[] = "worker.test.signet";
constexpr char kCnId[] = "legacy-batch-job";

const char kPolicy[] = R"({
  "callers": [
    {"identity": "spiffe://test.signet/ns/auth/sa/login", "roles": ["issuer"]},
    {"identity": "spiffe://test.signet/ns/shop/sa/checkout", "roles": ["issuer"],
     "audiences": ["shop", "payments"], "max_ttl": "15m"},
    {"identity": "spiffe://test.signet/ns/ops/sa/oncall", "roles": ["admin"]},
    {"identity": "spiffe://test.signet/ns/api/*", "roles": ["validator"]},
    {"identity": "worker.test.signet", "roles": ["validator"]},
    {"identity": "legacy-batch-job", "roles": ["validator"]}
  ]
})";

// Polls `attempt` until it returns true or `limit` passes; waiting on reloads that run on their
// own timers. Returns the last result.
template <typename F>
bool Eventually(F attempt, absl::Duration limit = absl::Seconds(10)) {
  absl::Time deadline = absl::Now() + limit;
  while (true) {
    if (attempt()) return true;
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(100));
  }
}

std::vector<rapidjson::Document> JsonLines(const std::string& text) {
  std::vector<rapidjson::Document> out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    rapidjson::Document doc;
    doc.Parse(line.data(), line.size());
    if (!doc.HasParseError() && doc.IsObject()) out.push_back(std::move(doc));
  }
  return out;
}

std::string Field(const rapidjson::Document& doc, const char* name) {
  auto it = doc.FindMember(name);
  if (it == doc.MemberEnd() || !it->value.IsString()) return "";
  return it->value.GetString();
}

class SecureServerTest : public ::testing::Test {
 protected:
  SecureServerTest() : ca_(testing::TestCa::Create("signet test CA")) {}

  void WriteServerFiles() {
    server_cert_ = ca_.Issue("signet.test", {"DNS:localhost", "IP:127.0.0.1"});
    testing::WriteFile(Path("server.pem"), server_cert_.cert_pem, 0644);
    testing::WriteFile(Path("server.key"), server_cert_.key_pem, 0600);
    testing::WriteFile(Path("client-ca.pem"), ca_.cert_pem(), 0644);
    testing::WriteFile(Path("policy.json"), kPolicy, 0644);
  }

  server::ServerConfig SecureConfig(bool mutual) {
    server::ServerConfig config = testing::TestConfig(Path("data"));
    config.tls_cert_file = Path("server.pem");
    config.tls_key_file = Path("server.key");
    if (mutual) config.client_ca_file = Path("client-ca.pem");
    config.policy_file = Path("policy.json");
    config.audit_log = Path("audit.jsonl");
    config.tls_reload_interval = absl::Seconds(1);
    config.policy_reload_interval = absl::Milliseconds(200);
    return config;
  }

  void Start(server::ServerConfig config) {
    server::SignetServer::Options options;
    options.config = std::move(config);
    options.clock = &clock_;
    options.run_maintenance = false;
    absl::StatusOr<std::unique_ptr<server::SignetServer>> s =
        server::SignetServer::Start(std::move(options));
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = *std::move(s);
  }

  absl::Status StartError(server::ServerConfig config) {
    server::SignetServer::Options options;
    options.config = std::move(config);
    options.clock = &clock_;
    options.run_maintenance = false;
    return server::SignetServer::Start(std::move(options)).status();
  }

  std::string Path(const std::string& name) const { return dir_.path() + "/" + name; }

  // A fresh channel (its own connection) that trusts `root_pem` and presents `client` (when not
  // null).
  std::shared_ptr<grpc::Channel> Channel(const testing::TestCert* client,
                                         const std::string& root_pem) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = root_pem;
    if (client != nullptr) {
      ssl.pem_private_key = client->key_pem;
      ssl.pem_cert_chain = client->cert_pem;
    }
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride("localhost");
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    return grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                     grpc::SslCredentials(ssl), args);
  }

  std::unique_ptr<v1::TokenService::Stub> Stub(const testing::TestCert* client) {
    return v1::TokenService::NewStub(Channel(client, ca_.cert_pem()));
  }

  static grpc::Status Issue(v1::TokenService::Stub* stub, const std::string& subject,
                            const std::vector<std::string>& audiences, absl::Duration ttl,
                            v1::IssueTokenResponse* out) {
    v1::IssueTokenRequest req;
    req.set_subject(subject);
    for (const std::string& a : audiences) req.add_audience(a);
    if (ttl > absl::ZeroDuration()) req.mutable_ttl()->set_seconds(absl::ToInt64Seconds(ttl));
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    return stub->IssueToken(&ctx, req, out);
  }

  static grpc::Status Issue(v1::TokenService::Stub* stub, const std::string& subject) {
    v1::IssueTokenResponse resp;
    return Issue(stub, subject, {}, absl::ZeroDuration(), &resp);
  }

  static grpc::Status Validate(v1::TokenService::Stub* stub, const std::string& token,
                               v1::ValidateTokenResponse* out) {
    v1::ValidateTokenRequest req;
    req.set_token(token);
    req.set_any_audience(true);
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    return stub->ValidateToken(&ctx, req, out);
  }

  static grpc::Status RevokeTokenId(v1::TokenService::Stub* stub, const std::string& jti) {
    v1::RevokeTokenRequest req;
    req.set_token_id(jti);
    v1::RevokeTokenResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    return stub->RevokeToken(&ctx, req, &resp);
  }

  static grpc::Status ListKeys(v1::TokenService::Stub* stub, v1::ListKeysResponse* out) {
    v1::ListKeysRequest req;
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    return stub->ListKeys(&ctx, req, out);
  }

  std::vector<rapidjson::Document> Audit() const {
    return JsonLines(testing::ReadFile(Path("audit.jsonl")));
  }

  testing::TempDir dir_;
  FakeClock clock_{absl::FromUnixSeconds(1800000000)};
  testing::TestCa ca_;
  testing::TestCert server_cert_;
  std::unique_ptr<server::SignetServer> server_;
};

class MutualTlsTest : public SecureServerTest {
 protected:
  void SetUp() override {
    WriteServerFiles();
    issuer_ = ca_.Issue("login", {std::string("URI:") + kIssuerId});
    shop_ = ca_.Issue("checkout", {std::string("URI:") + kShopId});
    admin_ = ca_.Issue("oncall", {std::string("URI:") + kAdminId});
    api_ = ca_.Issue("frontend", {std::string("URI:") + kApiId});
    unknown_ = ca_.Issue("mallory", {std::string("URI:") + kUnknownId});
    Start(SecureConfig(/*mutual=*/true));
  }

  testing::TestCert issuer_, shop_, admin_, api_, unknown_;
};

TEST_F(MutualTlsTest, IssuerCanIssueATokenThatValidates) {
  auto issuer = Stub(&issuer_);
  v1::IssueTokenResponse issued;
  grpc::Status st = Issue(issuer.get(), "user-42", {}, absl::ZeroDuration(), &issued);
  ASSERT_TRUE(st.ok()) << st.error_message();
  v1::ValidateTokenResponse validated;
  ASSERT_TRUE(Validate(Stub(&api_).get(), issued.token(), &validated).ok());
  EXPECT_TRUE(validated.valid());
  EXPECT_EQ(validated.subject(), "user-42");
}

TEST_F(MutualTlsTest, IssuerCannotRevokeAndIsToldItNeedsAdmin) {
  auto issuer = Stub(&issuer_);
  v1::IssueTokenResponse issued;
  ASSERT_TRUE(Issue(issuer.get(), "user-42", {}, absl::ZeroDuration(), &issued).ok());
  grpc::Status st = RevokeTokenId(issuer.get(), issued.token_id());
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(st.error_message(), absl::StrCat("caller \"", kIssuerId,
                                             "\" has role issuer; RevokeToken needs role admin"));

  v1::RevokeKeyRequest req;
  req.set_key_id(issued.key_id());
  v1::RevokeKeyResponse resp;
  grpc::ClientContext ctx;
  st = issuer->RevokeKey(&ctx, req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(st.error_message(), HasSubstr("RevokeKey needs role admin"));
}

TEST_F(MutualTlsTest, AdminCanRevokeATokenAndAKey) {
  v1::IssueTokenResponse issued;
  ASSERT_TRUE(Issue(Stub(&issuer_).get(), "user-42", {}, absl::ZeroDuration(), &issued).ok());
  auto admin = Stub(&admin_);
  grpc::Status st = RevokeTokenId(admin.get(), issued.token_id());
  ASSERT_TRUE(st.ok()) << st.error_message();
  v1::ValidateTokenResponse validated;
  ASSERT_TRUE(Validate(admin.get(), issued.token(), &validated).ok());
  EXPECT_EQ(validated.reason(), v1::REASON_TOKEN_REVOKED);

  v1::RevokeKeyRequest req;
  req.set_key_id(issued.key_id());
  req.set_reason("test");
  v1::RevokeKeyResponse resp;
  grpc::ClientContext ctx;
  st = admin->RevokeKey(&ctx, req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.key().state(), v1::KEY_STATE_REVOKED);
  EXPECT_NE(resp.active_key_id(), issued.key_id());
}

TEST_F(MutualTlsTest, UnknownCallerIsDeniedWithTheRoleItLacks) {
  grpc::Status st = Issue(Stub(&unknown_).get(), "user-42");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(st.error_message(), absl::StrCat("caller \"", kUnknownId,
                                             "\" has no role in the policy; IssueToken needs "
                                             "role issuer"));
  v1::GetJwksRequest req;
  v1::GetJwksResponse resp;
  grpc::ClientContext ctx;
  st = Stub(&unknown_)->GetJwks(&ctx, req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(st.error_message(), HasSubstr("GetJwks needs role validator"));
}

TEST_F(MutualTlsTest, ValidatorMatchedByAGlobCanValidateButNotIssueOrList) {
  auto api = Stub(&api_);
  v1::ValidateTokenResponse validated;
  EXPECT_TRUE(Validate(api.get(), "not.a.token", &validated).ok());
  EXPECT_FALSE(validated.valid());
  grpc::Status st = Issue(api.get(), "user-42");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(st.error_message(), HasSubstr("has role validator; IssueToken needs role issuer"));
  v1::ListKeysResponse keys;
  EXPECT_EQ(ListKeys(api.get(), &keys).error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(MutualTlsTest, ClientWithoutCertificateCannotConnect) {
  grpc::Status st = Issue(Stub(nullptr).get(), "user-42");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << st.error_message();
}

TEST_F(MutualTlsTest, ClientCertificateFromAnotherCaCannotConnect) {
  testing::TestCa other = testing::TestCa::Create("someone else's CA");
  testing::TestCert impostor = other.Issue("oncall", {std::string("URI:") + kAdminId});
  grpc::Status st = Issue(Stub(&impostor).get(), "user-42");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << st.error_message();
}

TEST_F(MutualTlsTest, DnsNameIdentifiesACallerWithoutSpiffeId) {
  testing::TestCert worker = ca_.Issue("worker", {std::string("DNS:") + kDnsId, "DNS:other.test"});
  auto stub = Stub(&worker);
  v1::ValidateTokenResponse validated;
  EXPECT_TRUE(Validate(stub.get(), "not.a.token", &validated).ok());
  v1::ListKeysResponse keys;
  grpc::Status st = ListKeys(stub.get(), &keys);
  EXPECT_EQ(st.error_message(),
            absl::StrCat("caller \"", kDnsId, "\" has role validator; ListKeys needs role admin"));
}

TEST_F(MutualTlsTest, CommonNameIdentifiesACallerWithoutSans) {
  testing::TestCert batch = ca_.Issue(kCnId, {});
  auto stub = Stub(&batch);
  v1::ValidateTokenResponse validated;
  grpc::Status st = Validate(stub.get(), "not.a.token", &validated);
  EXPECT_TRUE(st.ok()) << st.error_message();
  st = Issue(stub.get(), "user-42");
  EXPECT_EQ(
      st.error_message(),
      absl::StrCat("caller \"", kCnId, "\" has role validator; IssueToken needs role issuer"));
}

TEST_F(MutualTlsTest, SpiffeIdWinsOverDnsNameAndCommonName) {
  testing::TestCert both =
      ca_.Issue(kCnId, {std::string("DNS:") + kDnsId, std::string("URI:") + kUnknownId});
  v1::ValidateTokenResponse validated;
  grpc::Status st = Validate(Stub(&both).get(), "not.a.token", &validated);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(st.error_message(), HasSubstr(kUnknownId));
}

TEST_F(MutualTlsTest, LimitedIssuerCannotAskForAnotherAudience) {
  auto shop = Stub(&shop_);
  v1::IssueTokenResponse issued;
  EXPECT_TRUE(Issue(shop.get(), "user-42", {"shop"}, absl::Minutes(15), &issued).ok());
  grpc::Status st =
      Issue(shop.get(), "user-42", {"shop", "admin-console"}, absl::Minutes(5), &issued);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(st.error_message(), absl::StrCat("audience \"admin-console\" is not allowed for "
                                             "caller \"",
                                             kShopId, "\" (allowed: shop, payments)"));
}

TEST_F(MutualTlsTest, LimitedIssuerMustNameAnAudience) {
  v1::IssueTokenResponse issued;
  grpc::Status st = Issue(Stub(&shop_).get(), "user-42", {}, absl::Minutes(5), &issued);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(st.error_message(), HasSubstr("name at least one"));
}

TEST_F(MutualTlsTest, LimitedIssuerCannotAskForALongerTtl) {
  v1::IssueTokenResponse issued;
  grpc::Status st = Issue(Stub(&shop_).get(), "user-42", {"shop"}, absl::Hours(1), &issued);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(st.error_message(),
            absl::StrCat("ttl 1h exceeds the 15m that caller \"", kShopId, "\" may ask for"));
  // The default TTL (1 h) is also too long for this caller: it must ask for a shorter one.
  st = Issue(Stub(&shop_).get(), "user-42", {"shop"}, absl::ZeroDuration(), &issued);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(MutualTlsTest, AuditRecordsIssuesRefusalsAndChanges) {
  v1::IssueTokenResponse issued;
  ASSERT_TRUE(Issue(Stub(&issuer_).get(), "user-42", {"api"}, absl::Minutes(30), &issued).ok());
  ASSERT_EQ(RevokeTokenId(Stub(&issuer_).get(), issued.token_id()).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(RevokeTokenId(Stub(&admin_).get(), issued.token_id()).ok());

  std::vector<rapidjson::Document> lines = Audit();
  ASSERT_EQ(lines.size(), 3u);
  const rapidjson::Document& issue = lines[0];
  EXPECT_EQ(Field(issue, "audit"), "issue");
  EXPECT_EQ(Field(issue, "caller"), kIssuerId);
  EXPECT_EQ(Field(issue, "sub"), "user-42");
  EXPECT_EQ(Field(issue, "jti"), issued.token_id());
  EXPECT_EQ(Field(issue, "kid"), issued.key_id());
  ASSERT_TRUE(issue["aud"].IsArray());
  EXPECT_EQ(std::string(issue["aud"][0].GetString()), "api");
  EXPECT_EQ(issue["ttl_s"].GetInt(), 1800);
  EXPECT_FALSE(Field(issue, "ts").empty());

  const rapidjson::Document& refused = lines[1];
  EXPECT_EQ(Field(refused, "audit"), "refused");
  EXPECT_EQ(Field(refused, "caller"), kIssuerId);
  EXPECT_EQ(Field(refused, "rpc"), "RevokeToken");
  EXPECT_THAT(Field(refused, "why"), HasSubstr("needs role admin"));

  const rapidjson::Document& revoked = lines[2];
  EXPECT_EQ(Field(revoked, "audit"), "revoke_token");
  EXPECT_EQ(Field(revoked, "caller"), kAdminId);
  EXPECT_EQ(Field(revoked, "jti"), issued.token_id());
  EXPECT_EQ(Field(revoked, "result"), "ok");

  std::string raw = testing::ReadFile(Path("audit.jsonl"));
  EXPECT_EQ(raw.find(issued.token()), std::string::npos);
}

TEST_F(MutualTlsTest, IssuerLimitRefusalsAreAudited) {
  v1::IssueTokenResponse issued;
  ASSERT_FALSE(Issue(Stub(&shop_).get(), "user-42", {"web"}, absl::Minutes(5), &issued).ok());
  std::vector<rapidjson::Document> lines = Audit();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(Field(lines[0], "audit"), "refused");
  EXPECT_EQ(Field(lines[0], "caller"), kShopId);
  EXPECT_EQ(Field(lines[0], "rpc"), "IssueToken");
  EXPECT_THAT(Field(lines[0], "why"), HasSubstr("audience \"web\""));
}

TEST_F(MutualTlsTest, PolicyFileChangeGrantsARoleWithoutRestart) {
  auto unknown = Stub(&unknown_);
  ASSERT_EQ(Issue(unknown.get(), "user-42").error_code(), grpc::StatusCode::PERMISSION_DENIED);
  std::string granted = kPolicy;
  granted.insert(
      granted.find("\"callers\": [") + 12,
      absl::StrCat("\n    {\"identity\": \"", kUnknownId, "\", \"roles\": [\"issuer\"]},"));
  std::string tmp = Path("policy.json.tmp");
  testing::WriteFile(tmp, granted, 0644);
  ASSERT_EQ(std::rename(tmp.c_str(), Path("policy.json").c_str()), 0);
  grpc::Status last;
  EXPECT_TRUE(Eventually(
      [&] {
        last = Issue(unknown.get(), "user-42");
        return last.ok();
      },
      absl::Seconds(5)))
      << last.error_message();
}

TEST_F(MutualTlsTest, BrokenPolicyFileKeepsThePolicyInForce) {
  testing::WriteFile(Path("policy.json"), R"({"callers": [{"identity": "*", "roles": ["root"]}]})",
                     0644);
  // Give the reloader several turns at the broken file, then check the old rules still apply.
  absl::SleepFor(absl::Seconds(1));
  EXPECT_TRUE(Issue(Stub(&issuer_).get(), "user-42").ok());
  EXPECT_EQ(Issue(Stub(&unknown_).get(), "user-42").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(MutualTlsTest, CertificateReplacedOnDiskIsServedToNewConnections) {
  // Before: a client that trusts only a new CA cannot verify the server.
  testing::TestCa next_ca = testing::TestCa::Create("signet next CA");
  auto trusts_next = [&] {
    return v1::TokenService::NewStub(Channel(&issuer_, next_ca.cert_pem()));
  };
  ASSERT_EQ(Issue(trusts_next().get(), "user-42").error_code(), grpc::StatusCode::UNAVAILABLE);

  testing::TestCert next = next_ca.Issue("signet.next", {"DNS:localhost", "IP:127.0.0.1"});
  // Kubernetes swaps a Secret's files at once; rename gives each file the same atomicity.
  testing::WriteFile(Path("server.key.tmp"), next.key_pem, 0600);
  testing::WriteFile(Path("server.pem.tmp"), next.cert_pem, 0644);
  ASSERT_EQ(std::rename(Path("server.key.tmp").c_str(), Path("server.key").c_str()), 0);
  ASSERT_EQ(std::rename(Path("server.pem.tmp").c_str(), Path("server.pem").c_str()), 0);

  grpc::Status last;
  std::string served_cn;
  EXPECT_TRUE(Eventually([&] {
    auto stub = trusts_next();
    v1::IssueTokenRequest req;
    req.set_subject("user-42");
    v1::IssueTokenResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    last = stub->IssueToken(&ctx, req, &resp);
    if (last.ok()) {
      for (const grpc::string_ref& cn :
           ctx.auth_context()->FindPropertyValues("x509_common_name")) {
        served_cn.assign(cn.data(), cn.size());
      }
    }
    return last.ok();
  })) << last.error_message();
  EXPECT_EQ(served_cn, "signet.next");
}

TEST_F(MutualTlsTest, WatchKeysStreamsPerCallerAreLimited) {
  server_.reset();
  server::ServerConfig config = SecureConfig(/*mutual=*/true);
  config.max_watchers_per_caller = 2;
  Start(config);

  struct Watch {
    std::unique_ptr<v1::TokenService::Stub> stub;
    grpc::ClientContext ctx;
    std::unique_ptr<grpc::ClientReader<v1::WatchKeysResponse>> reader;
    v1::WatchKeysResponse first;
    bool got_first = false;
  };
  auto open = [&](const testing::TestCert& who) {
    auto w = std::make_unique<Watch>();
    w->stub = Stub(&who);
    w->reader = w->stub->WatchKeys(&w->ctx, v1::WatchKeysRequest());
    w->got_first = w->reader->Read(&w->first);
    return w;
  };
  auto a = open(api_);
  auto b = open(api_);
  EXPECT_TRUE(a->got_first);
  EXPECT_TRUE(b->got_first);
  auto c = open(api_);
  EXPECT_FALSE(c->got_first);
  grpc::Status st = c->reader->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(st.error_message(), HasSubstr("caller already holds 2 WatchKeys streams"));
  // Another caller is not affected.
  auto d = open(admin_);
  EXPECT_TRUE(d->got_first);
  for (Watch* w : {a.get(), b.get(), d.get()}) w->ctx.TryCancel();
  for (Watch* w : {a.get(), b.get(), d.get()}) w->reader->Finish();
}

TEST_F(MutualTlsTest, OversizedRequestIsRefused) {
  v1::ValidateTokenResponse validated;
  grpc::Status st = Validate(Stub(&api_).get(), std::string(100 * 1024, 'a'), &validated);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
}

// --- TLS without client certificates ---

class ServerOnlyTlsTest : public SecureServerTest {
 protected:
  void SetUp() override { WriteServerFiles(); }
};

TEST_F(ServerOnlyTlsTest, CallersAreUnauthenticatedAndOnlyStarEntriesApply) {
  testing::WriteFile(Path("policy.json"),
                     R"({"callers": [{"identity": "*", "roles": ["validator"]},
                                     {"identity": "spiffe://test.signet/ns/ops/sa/oncall",
                                      "roles": ["admin"]}]})",
                     0644);
  Start(SecureConfig(/*mutual=*/false));
  // Even a client that has a certificate is anonymous: the server does not ask for it.
  testing::TestCert admin = ca_.Issue("oncall", {std::string("URI:") + kAdminId});
  for (const testing::TestCert* client : {static_cast<const testing::TestCert*>(nullptr),
                                          static_cast<const testing::TestCert*>(&admin)}) {
    auto stub = Stub(client);
    v1::ValidateTokenResponse validated;
    EXPECT_TRUE(Validate(stub.get(), "not.a.token", &validated).ok());
    grpc::Status st = Issue(stub.get(), "user-42");
    EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_EQ(st.error_message(),
              "unauthenticated caller has role validator; IssueToken needs role issuer");
  }
}

TEST_F(ServerOnlyTlsTest, UnauthenticatedCallerWithoutStarEntryIsUnauthenticated) {
  Start(SecureConfig(/*mutual=*/false));
  v1::ValidateTokenResponse validated;
  grpc::Status st = Validate(Stub(nullptr).get(), "not.a.token", &validated);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(st.error_message(), HasSubstr("ValidateToken needs role validator"));
}

TEST_F(ServerOnlyTlsTest, WithoutPolicyFileEveryCallIsAllowed) {
  server::ServerConfig config = SecureConfig(/*mutual=*/false);
  config.policy_file = "";
  Start(config);
  auto stub = Stub(nullptr);
  EXPECT_TRUE(Issue(stub.get(), "user-42").ok());
  v1::ListKeysResponse keys;
  EXPECT_TRUE(ListKeys(stub.get(), &keys).ok());
  EXPECT_THAT(keys.keys(), ::testing::Not(IsEmpty()));
}

TEST_F(ServerOnlyTlsTest, PlaintextClientCannotTalkToATlsServer) {
  Start(SecureConfig(/*mutual=*/false));
  v1::IssueTokenRequest req;
  req.set_subject("user-42");
  v1::IssueTokenResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  grpc::Status st = testing::NewStub(server_->port())->IssueToken(&ctx, req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << st.error_message();
}

// --- start-up errors ---

TEST_F(ServerOnlyTlsTest, MutualTlsWithoutPolicyFileIsAStartUpError) {
  server::ServerConfig config = SecureConfig(/*mutual=*/true);
  config.policy_file = "";
  absl::Status s = StartError(config);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("pass --policy_file"));
}

TEST_F(ServerOnlyTlsTest, PolicyFileWithoutTlsIsAStartUpError) {
  server::ServerConfig config = testing::TestConfig(Path("data"));
  config.policy_file = Path("policy.json");
  absl::Status s = StartError(config);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("--policy_file needs TLS"));
}

TEST_F(ServerOnlyTlsTest, BrokenPolicyFileIsAStartUpErrorNamingTheField) {
  testing::WriteFile(Path("policy.json"),
                     R"({"callers": [{"identity": "a", "roles": ["admin"], "ttl": "5m"}]})", 0644);
  absl::Status s = StartError(SecureConfig(/*mutual=*/true));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr(Path("policy.json") + ": callers[0].ttl: unknown field"));
}

TEST_F(ServerOnlyTlsTest, WorldReadableTlsKeyIsAStartUpError) {
  testing::WriteFile(Path("server.key"), server_cert_.key_pem, 0644);
  absl::Status s = StartError(SecureConfig(/*mutual=*/true));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("readable or writable by others (mode 0644)"));
  EXPECT_THAT(s.message(), HasSubstr("chmod 0600"));
}

TEST_F(ServerOnlyTlsTest, KeyThatDoesNotMatchTheCertificateIsAStartUpError) {
  testing::TestCert other = ca_.Issue("other", {"DNS:localhost"});
  testing::WriteFile(Path("server.key"), other.key_pem, 0600);
  absl::Status s = StartError(SecureConfig(/*mutual=*/true));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("does not match the first certificate"));
  EXPECT_THAT(s.message(), ::testing::Not(HasSubstr("PRIVATE")));
}

TEST_F(ServerOnlyTlsTest, MissingCertificateFileIsAStartUpError) {
  server::ServerConfig config = SecureConfig(/*mutual=*/true);
  config.tls_cert_file = Path("nope.pem");
  absl::Status s = StartError(config);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("cannot read --tls_cert_file " + Path("nope.pem")));
}

TEST_F(ServerOnlyTlsTest, TooSmallRequestLimitIsAStartUpError) {
  server::ServerConfig config = SecureConfig(/*mutual=*/true);
  config.max_request_bytes = 1024;
  absl::Status s = StartError(config);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("--max_request_bytes"));
}

}  // namespace
}  // namespace signet
