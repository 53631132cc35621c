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
    {"spiffe_id": "spiffe://test.signet/ns/auth/sa/login", "roles": ["issuer"]},
    {"spiffe_id": "spiffe://test.signet/ns/shop/sa/checkout", "roles": ["issuer"],
     "subjects": ["user:*"], "audiences": ["shop", "payments"], "max_ttl": "15m"},
    {"spiffe_id": "spiffe://test.signet/ns/ops/sa/oncall", "roles": ["admin"]},
    {"spiffe_id": "spiffe://test.signet/ns/api/*", "roles": ["validator"]},
    {"dns_name": "worker.test.signet", "roles": ["validator"]},
    {"common_name": "legacy-batch-job", "roles": ["validator"]}
  ]
})";

// The typed names of the identities above, as messages and the audit trail show them.
std::string Typed(const char* spiffe_id) { return absl::StrCat("spiffe:", spiffe_id); }

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
    server_ = testing::StartServer(std::move(options));
    ASSERT_NE(server_, nullptr);
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
  EXPECT_EQ(st.error_message(), absl::StrCat("caller \"", Typed(kIssuerId),
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
  EXPECT_EQ(st.error_message(), absl::StrCat("caller \"", Typed(kUnknownId),
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
  EXPECT_EQ(st.error_message(), absl::StrCat("caller \"dns:", kDnsId,
                                             "\" has role validator; ListKeys needs role admin"));
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
      absl::StrCat("caller \"cn:", kCnId, "\" has role validator; IssueToken needs role issuer"));
}

TEST_F(MutualTlsTest, SpiffeIdWinsOverDnsNameAndCommonName) {
  testing::TestCert both =
      ca_.Issue(kCnId, {std::string("DNS:") + kDnsId, std::string("URI:") + kUnknownId});
  v1::ValidateTokenResponse validated;
  grpc::Status st = Validate(Stub(&both).get(), "not.a.token", &validated);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(st.error_message(), HasSubstr(Typed(kUnknownId)));
}

TEST_F(MutualTlsTest, LimitedIssuerCannotAskForAnotherAudience) {
  auto shop = Stub(&shop_);
  v1::IssueTokenResponse issued;
  EXPECT_TRUE(Issue(shop.get(), "user:42", {"shop"}, absl::Minutes(15), &issued).ok());
  grpc::Status st =
      Issue(shop.get(), "user:42", {"shop", "admin-console"}, absl::Minutes(5), &issued);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(st.error_message(), absl::StrCat("audience \"admin-console\" is not allowed for "
                                             "caller \"",
                                             Typed(kShopId), "\" (allowed: shop, payments)"));
}

TEST_F(MutualTlsTest, LimitedIssuerMustNameAnAudience) {
  v1::IssueTokenResponse issued;
  grpc::Status st = Issue(Stub(&shop_).get(), "user:42", {}, absl::Minutes(5), &issued);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(st.error_message(), HasSubstr("name at least one"));
}

TEST_F(MutualTlsTest, LimitedIssuerCannotAskForALongerTtl) {
  v1::IssueTokenResponse issued;
  grpc::Status st = Issue(Stub(&shop_).get(), "user:42", {"shop"}, absl::Hours(1), &issued);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(st.error_message(), absl::StrCat("ttl 1h exceeds the 15m that caller \"",
                                             Typed(kShopId), "\" may ask for"));
  // The default TTL (1 h) is also too long for this caller: it must ask for a shorter one.
  st = Issue(Stub(&shop_).get(), "user:42", {"shop"}, absl::ZeroDuration(), &issued);
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
  EXPECT_EQ(Field(issue, "caller"), Typed(kIssuerId));
  EXPECT_EQ(Field(issue, "sub"), "user-42");
  EXPECT_EQ(Field(issue, "jti"), issued.token_id());
  EXPECT_EQ(Field(issue, "kid"), issued.key_id());
  ASSERT_TRUE(issue["aud"].IsArray());
  EXPECT_EQ(std::string(issue["aud"][0].GetString()), "api");
  EXPECT_EQ(issue["ttl_s"].GetInt(), 1800);
  EXPECT_FALSE(Field(issue, "ts").empty());

  const rapidjson::Document& refused = lines[1];
  EXPECT_EQ(Field(refused, "audit"), "refused");
  EXPECT_EQ(Field(refused, "caller"), Typed(kIssuerId));
  EXPECT_EQ(Field(refused, "rpc"), "RevokeToken");
  EXPECT_THAT(Field(refused, "why"), HasSubstr("needs role admin"));

  const rapidjson::Document& revoked = lines[2];
  EXPECT_EQ(Field(revoked, "audit"), "revoke_token");
  EXPECT_EQ(Field(revoked, "caller"), Typed(kAdminId));
  EXPECT_EQ(Field(revoked, "jti"), issued.token_id());
  EXPECT_EQ(Field(revoked, "result"), "ok");

  std::string raw = testing::ReadFile(Path("audit.jsonl"));
  EXPECT_EQ(raw.find(issued.token()), std::string::npos);
}

TEST_F(MutualTlsTest, IssuerLimitRefusalsAreAudited) {
  v1::IssueTokenResponse issued;
  ASSERT_FALSE(Issue(Stub(&shop_).get(), "user:42", {"web"}, absl::Minutes(5), &issued).ok());
  std::vector<rapidjson::Document> lines = Audit();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(Field(lines[0], "audit"), "refused");
  EXPECT_EQ(Field(lines[0], "caller"), Typed(kShopId));
  EXPECT_EQ(Field(lines[0], "rpc"), "IssueToken");
  EXPECT_THAT(Field(lines[0], "why"), HasSubstr("audience \"web\""));
}

TEST_F(MutualTlsTest, PolicyFileChangeGrantsARoleWithoutRestart) {
  auto unknown = Stub(&unknown_);
  ASSERT_EQ(Issue(unknown.get(), "user-42").error_code(), grpc::StatusCode::PERMISSION_DENIED);
  std::string granted = kPolicy;
  granted.insert(
      granted.find("\"callers\": [") + 12,
      absl::StrCat("\n    {\"spiffe_id\": \"", kUnknownId, "\", \"roles\": [\"issuer\"]},"));
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
  testing::WriteFile(Path("policy.json"), R"({"callers": [{"any": true, "roles": ["root"]}]})",
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

// One WatchKeys stream, open until the test cancels it.
struct Watch {
  grpc::ClientContext ctx;
  std::unique_ptr<grpc::ClientReader<v1::WatchKeysResponse>> reader;
  v1::WatchKeysResponse first;
  bool got_first = false;

  // The stream's status once it ended (RESOURCE_EXHAUSTED when the server refused it).
  grpc::Status Finish() { return reader->Finish(); }
};

// Opens a stream on `stub` and waits for its first message (the full state) or its end.
std::unique_ptr<Watch> OpenWatch(v1::TokenService::Stub* stub) {
  auto w = std::make_unique<Watch>();
  w->reader = stub->WatchKeys(&w->ctx, v1::WatchKeysRequest());
  w->got_first = w->reader->Read(&w->first);
  return w;
}

void CloseWatches(const std::vector<std::unique_ptr<Watch>>& watches) {
  for (const auto& w : watches) w->ctx.TryCancel();
  for (const auto& w : watches) w->Finish();
}

TEST_F(MutualTlsTest, WatchKeysStreamsPerCallerAreLimited) {
  server_.reset();
  server::ServerConfig config = SecureConfig(/*mutual=*/true);
  config.max_watchers_per_caller = 2;
  Start(config);

  std::vector<std::unique_ptr<Watch>> open;
  auto api = Stub(&api_);
  open.push_back(OpenWatch(api.get()));
  open.push_back(OpenWatch(api.get()));
  EXPECT_TRUE(open[0]->got_first);
  EXPECT_TRUE(open[1]->got_first);
  std::unique_ptr<Watch> refused = OpenWatch(api.get());
  EXPECT_FALSE(refused->got_first);
  grpc::Status st = refused->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(st.error_message(), HasSubstr("caller already holds 2 WatchKeys streams"));
  // Another caller is not affected.
  auto admin = Stub(&admin_);
  open.push_back(OpenWatch(admin.get()));
  EXPECT_TRUE(open.back()->got_first);
  CloseWatches(open);
}

// The attack: one workload opens WatchKeys streams until the replica has no slot left, locking
// every other validator out. With the default limits it runs into its own limit first.
TEST_F(MutualTlsTest, OneIdentityCannotTakeEveryWatchSlotWithTheDefaultLimits) {
  const size_t per_caller = server::ServerConfig().max_watchers_per_caller;
  ASSERT_GT(per_caller, 0u);
  ASSERT_LE(per_caller, 64u);
  std::vector<std::unique_ptr<Watch>> open;
  auto api = Stub(&api_);  // one connection, many streams, as a greedy client would
  for (size_t i = 0; i < per_caller; ++i) {
    open.push_back(OpenWatch(api.get()));
    ASSERT_TRUE(open.back()->got_first)
        << "stream " << i << ": " << open.back()->Finish().error_message();
  }
  std::unique_ptr<Watch> greedy = OpenWatch(api.get());
  EXPECT_FALSE(greedy->got_first);
  grpc::Status st = greedy->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(st.error_message(),
              HasSubstr(absl::StrCat("caller already holds ", per_caller, " WatchKeys streams")));

  testing::TestCert worker = ca_.IssueNamed({"worker", {kDnsId}, {}});
  auto other = Stub(&worker);
  open.push_back(OpenWatch(other.get()));
  EXPECT_TRUE(open.back()->got_first) << open.back()->Finish().error_message();
  CloseWatches(open);
}

TEST_F(MutualTlsTest, ReplicaWideWatchLimitNamesItselfWhenFull) {
  server_.reset();
  server::ServerConfig config = SecureConfig(/*mutual=*/true);
  config.max_watchers = 3;
  config.max_watchers_per_caller = 2;
  Start(config);
  std::vector<std::unique_ptr<Watch>> open;
  auto api = Stub(&api_);
  auto admin = Stub(&admin_);
  open.push_back(OpenWatch(api.get()));
  open.push_back(OpenWatch(api.get()));
  open.push_back(OpenWatch(admin.get()));
  for (const auto& w : open) EXPECT_TRUE(w->got_first);
  testing::TestCert worker = ca_.IssueNamed({"worker", {kDnsId}, {}});
  auto other = Stub(&worker);
  std::unique_ptr<Watch> refused = OpenWatch(other.get());
  grpc::Status st = refused->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(st.error_message(), HasSubstr("this replica serves its most WatchKeys streams (3)"));
  CloseWatches(open);
}

// --- typed identities: a certificate cannot pass for another kind of identity ---

// The attack: a certificate from the trusted client CA whose subject CN is the text of the
// admin's SPIFFE ID. It is a CN, and no common_name entry names it.
TEST_F(MutualTlsTest, CommonNameSpellingTheAdminsSpiffeIdIsRefusedAdminRpcsAndAuditedAsACn) {
  testing::TestCert forged = ca_.IssueNamed({kAdminId, {}, {}});
  auto stub = Stub(&forged);
  v1::ListKeysResponse keys;
  grpc::Status st = ListKeys(stub.get(), &keys);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(st.error_message(), absl::StrCat("caller \"cn:", kAdminId,
                                             "\" has no role in the policy; ListKeys needs role "
                                             "admin"));
  EXPECT_EQ(RevokeTokenId(stub.get(), "some-jti").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Issue(stub.get(), "admin").error_code(), grpc::StatusCode::PERMISSION_DENIED);

  std::vector<rapidjson::Document> lines = Audit();
  ASSERT_EQ(lines.size(), 3u);
  for (const rapidjson::Document& line : lines) {
    EXPECT_EQ(Field(line, "audit"), "refused");
    EXPECT_EQ(Field(line, "caller"), absl::StrCat("cn:", kAdminId));
  }
}

// The attack with a DNS SAN: "spiffe://..." is no DNS name, so the SAN names nobody. The server
// falls back to the CN, which no entry names either.
TEST_F(MutualTlsTest, DnsSanSpellingTheAdminsSpiffeIdIsRefusedAdminRpcs) {
  testing::TestCert forged = ca_.IssueNamed({"mallory", {kAdminId}, {}});
  auto stub = Stub(&forged);
  v1::ListKeysResponse keys;
  grpc::Status st = ListKeys(stub.get(), &keys);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(st.error_message(),
            "caller \"cn:mallory\" has no role in the policy; ListKeys needs role admin");
  std::vector<rapidjson::Document> lines = Audit();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(Field(lines[0], "caller"), "cn:mallory");

  // Without a CN to fall back on, the certificate identifies nobody.
  testing::TestCert bare = ca_.IssueNamed({"", {kAdminId}, {}});
  st = ListKeys(Stub(&bare).get(), &keys);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED) << st.error_message();
}

// A DNS SAN is a DNS name: a certificate whose DNS SAN is the text a common_name entry names does
// not get that entry's roles, and neither does one whose URI SAN is a DNS entry's name.
TEST_F(MutualTlsTest, NamesOfOneKindNeverMatchEntriesOfAnother) {
  testing::TestCert dns_as_cn = ca_.IssueNamed({"x", {kCnId}, {}});
  v1::ValidateTokenResponse validated;
  grpc::Status st = Validate(Stub(&dns_as_cn).get(), "not.a.token", &validated);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(st.error_message(), HasSubstr(absl::StrCat("caller \"dns:", kCnId, "\"")));

  testing::TestCert cn_as_dns = ca_.IssueNamed({kDnsId, {}, {}});
  st = Validate(Stub(&cn_as_dns).get(), "not.a.token", &validated);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(st.error_message(), HasSubstr(absl::StrCat("caller \"cn:", kDnsId, "\"")));
}

TEST_F(MutualTlsTest, CommonNameOnlyCertificateIsAdmittedOnlyByACommonNameEntry) {
  const std::string without_cn_entry = R"({"callers": [
    {"spiffe_id": "spiffe://test.signet/ns/ops/sa/oncall", "roles": ["admin"]},
    {"dns_name": "legacy-batch-job", "roles": ["validator"]}]})";
  std::string tmp = Path("policy.json.tmp");
  testing::WriteFile(tmp, without_cn_entry, 0644);
  ASSERT_EQ(std::rename(tmp.c_str(), Path("policy.json").c_str()), 0);
  testing::TestCert batch = ca_.IssueNamed({kCnId, {}, {}});
  v1::ValidateTokenResponse validated;
  grpc::Status last;
  ASSERT_TRUE(Eventually([&] {
    last = Validate(Stub(&batch).get(), "not.a.token", &validated);
    return last.error_code() == grpc::StatusCode::PERMISSION_DENIED;
  })) << last.error_message();
  EXPECT_EQ(last.error_message(), absl::StrCat("caller \"cn:", kCnId,
                                               "\" has no role in the policy; ValidateToken "
                                               "needs role validator"));

  testing::WriteFile(tmp, kPolicy, 0644);  // names it with "common_name"
  ASSERT_EQ(std::rename(tmp.c_str(), Path("policy.json").c_str()), 0);
  EXPECT_TRUE(Eventually([&] {
    last = Validate(Stub(&batch).get(), "not.a.token", &validated);
    return last.ok();
  })) << last.error_message();
  // A certificate with a DNS SAN is identified by it, whatever its CN: the entry does not apply.
  testing::TestCert with_dns = ca_.IssueNamed({kCnId, {"batch.test.signet"}, {}});
  last = Validate(Stub(&with_dns).get(), "not.a.token", &validated);
  EXPECT_EQ(last.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(last.error_message(), HasSubstr("caller \"dns:batch.test.signet\""));
}

TEST_F(MutualTlsTest, PolicyReloadWithACrossTrustDomainPatternKeepsThePolicyInForce) {
  testing::WriteFile(Path("policy.json"), R"({"callers": [
    {"spiffe_id": "spiffe://*/ns/evil/sa/mallory", "roles": ["admin"]}]})",
                     0644);
  absl::SleepFor(absl::Seconds(1));  // several reload turns at the refused file
  v1::ListKeysResponse keys;
  EXPECT_EQ(ListKeys(Stub(&unknown_).get(), &keys).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(ListKeys(Stub(&admin_).get(), &keys).ok());
}

// The attack: an issuer mints a token for a privileged subject. Its entry allows "user:*" only.
TEST_F(MutualTlsTest, IssuerLimitedToUserSubjectsCannotMintAdmin) {
  auto shop = Stub(&shop_);
  v1::IssueTokenResponse issued;
  grpc::Status st = Issue(shop.get(), "user:42", {"shop"}, absl::Minutes(5), &issued);
  ASSERT_TRUE(st.ok()) << st.error_message();
  st = Issue(shop.get(), "admin", {"shop"}, absl::Minutes(5), &issued);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(st.error_message(), absl::StrCat("subject \"admin\" is not allowed for caller \"",
                                             Typed(kShopId), "\" (allowed: user:*)"));
  // A long subject is echoed only in part (the request limit is 256 bytes).
  const std::string long_subject = "admin" + std::string(250, 'z');
  st = Issue(shop.get(), long_subject, {"shop"}, absl::Minutes(5), &issued);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(st.error_message(), HasSubstr("...\" (255 bytes) is not allowed"));
  EXPECT_EQ(st.error_message().find(long_subject), std::string::npos);

  std::vector<rapidjson::Document> lines = Audit();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(Field(lines[1], "audit"), "refused");
  EXPECT_EQ(Field(lines[1], "caller"), Typed(kShopId));
  EXPECT_THAT(Field(lines[1], "why"), HasSubstr("subject \"admin\" is not allowed"));
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

TEST_F(ServerOnlyTlsTest, CallersAreUnauthenticatedAndOnlyAnyEntriesApply) {
  testing::WriteFile(Path("policy.json"),
                     R"({"callers": [{"any": true, "roles": ["validator"]},
                                     {"spiffe_id": "spiffe://test.signet/ns/ops/sa/oncall",
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

TEST_F(ServerOnlyTlsTest, UnauthenticatedCallerWithoutAnyEntryIsUnauthenticated) {
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
                     R"({"callers": [{"common_name": "a", "roles": ["admin"], "ttl": "5m"}]})",
                     0644);
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

TEST_F(ServerOnlyTlsTest, PerCallerWatchLimitAsLargeAsTheReplicasIsAStartUpError) {
  server::ServerConfig config = SecureConfig(/*mutual=*/true);
  config.max_watchers = 100;
  config.max_watchers_per_caller = 100;
  absl::Status s = StartError(config);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("--max_watchers_per_caller (100) must be smaller than "
                                     "--max_watchers (100)"));
}

TEST_F(ServerOnlyTlsTest, SpiffePatternThatCouldSpanTrustDomainsIsAStartUpError) {
  testing::WriteFile(Path("policy.json"), R"({"callers": [
    {"spiffe_id": "*/ns/signet/sa/admin", "roles": ["admin"]}]})",
                     0644);
  absl::Status s = StartError(SecureConfig(/*mutual=*/true));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr(Path("policy.json") +
                                     ": callers[0].spiffe_id: spiffe \"*/ns/signet/sa/admin\" must "
                                     "start with \"spiffe://\" and a literal trust domain"));
  // The same pattern in the old untyped form is refused too, with how to write it now.
  testing::WriteFile(Path("policy.json"), R"({"callers": [
    {"identity": "*/ns/signet/sa/admin", "roles": ["admin"]}]})",
                     0644);
  s = StartError(SecureConfig(/*mutual=*/true));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("callers[0].identity: the untyped \"identity\" field is no "
                                     "longer accepted"));
}

}  // namespace
}  // namespace signet
