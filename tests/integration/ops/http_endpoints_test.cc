// signet-server's HTTP side, read with a real HTTP client from an in-process server (gRPC and HTTP
// on loopback port 0, a fake clock): JWKS, OIDC discovery, Prometheus metrics, liveness and
// readiness.
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "server/http/well_known.h"
#include "server/store/store.h"
#include "signet/clock.h"
#include "signet/jwk.h"
#include "signet/key_set.h"
#include "signet/token_verifier.h"
#include "tests/integration/ops/ops_test_util.h"
#include "tests/integration/test_support.h"

namespace signet {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::UnorderedElementsAre;

constexpr char kTokenService[] = "signet.v1.TokenService";

std::string Handled(const std::string& method, const std::string& code) {
  return "signet_grpc_server_handled_total{grpc_service=\"" + std::string(kTokenService) +
         "\",grpc_method=\"" + method + "\",grpc_code=\"" + code + "\"}";
}

std::string LatencyCount(const std::string& method) {
  return "signet_grpc_server_handling_seconds_count{grpc_service=\"" + std::string(kTokenService) +
         "\",grpc_method=\"" + method + "\"}";
}

double At(const std::map<std::string, double>& m, const std::string& series) {
  auto it = m.find(series);
  if (it == m.end()) {
    ADD_FAILURE() << "no series " << series;
    return -1;
  }
  return it->second;
}

// A memory store whose writes can be made to fail as an unreachable database does.
class FlakyStore final : public server::Store {
 public:
  explicit FlakyStore(std::shared_ptr<std::atomic<bool>> fail)
      : inner_(server::NewMemoryStore()), fail_(std::move(fail)) {}
  absl::StatusOr<server::StoreSnapshot> Load() override { return inner_->Load(); }
  absl::StatusOr<std::vector<server::KeyRecord>> LoadKeys() override { return inner_->LoadKeys(); }
  absl::StatusOr<std::vector<server::KeyRecord>> UpdateKeys(const KeyDecision& decide) override {
    if (*fail_) return absl::UnavailableError("database unreachable");
    return inner_->UpdateKeys(decide);
  }
  absl::Status AddTokenRevocation(const server::TokenRevocationRecord& record) override {
    if (*fail_) return absl::UnavailableError("database unreachable");
    return inner_->AddTokenRevocation(record);
  }
  absl::Status AddSubjectRevocation(const server::SubjectRevocationRecord& record) override {
    if (*fail_) return absl::InternalError("disk I/O error");
    return inner_->AddSubjectRevocation(record);
  }
  absl::Status PruneRevocations(absl::Time now) override { return inner_->PruneRevocations(now); }
  int schema_version() const override { return inner_->schema_version(); }

 private:
  std::unique_ptr<server::Store> inner_;
  std::shared_ptr<std::atomic<bool>> fail_;
};

// Holds one reflection stream open (a call the server must let finish while it drains).
class HeldStream final : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  explicit HeldStream(const std::shared_ptr<grpc::Channel>& channel) : stub_(channel) {
    // ServerReflectionRequest{list_services = ""}: field 7, length 0.
    grpc::Slice slice(std::string("\x3a\x00", 2));
    request_ = grpc::ByteBuffer(&slice, 1);
    stub_.PrepareBidiStreamingCall(&ctx_,
                                   "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                                   grpc::StubOptions(), this);
    StartWrite(&request_);
    StartRead(&response_);
    StartCall();
  }
  // True once the server answered: its handler is running and waits for the next request.
  bool WaitAnswered() {
    answered_.WaitForNotification();
    return read_ok_;
  }
  void Close() { StartWritesDone(); }
  void WaitDone() { done_.WaitForNotification(); }

  void OnReadDone(bool ok) override {
    read_ok_ = ok;
    answered_.Notify();
  }
  void OnDone(const grpc::Status&) override { done_.Notify(); }

 private:
  grpc::GenericStub stub_;
  grpc::ClientContext ctx_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  std::atomic<bool> read_ok_{false};
  absl::Notification answered_;
  absl::Notification done_;
};

class HttpEndpointsTest : public ::testing::Test {
 protected:
  void SetUp() override { StartServer(nullptr); }

  void StartServer(std::unique_ptr<server::Store> store, const std::string& public_url = "",
                   const std::function<void(server::ServerConfig*)>& configure = nullptr) {
    server::SignetServer::Options options;
    options.config = testing::TestConfig(dir_.path());
    options.config.http_listen = "127.0.0.1:0";
    options.config.public_url = public_url;
    if (configure) configure(&options.config);
    options.config.publish_ahead = absl::Minutes(10);
    options.clock = &clock_;
    options.run_maintenance = false;
    options.store = std::move(store);
    server_ = testing::StartServer(std::move(options));
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(server_->http_port(), 0);
    stub_ = testing::NewStub(server_->port());
    http_ = std::make_unique<httplib::Client>("127.0.0.1", server_->http_port());
  }

  void RestartServer(std::unique_ptr<server::Store> store, const std::string& public_url = "",
                     const std::function<void(server::ServerConfig*)>& configure = nullptr) {
    http_.reset();
    stub_.reset();
    server_.reset();
    StartServer(std::move(store), public_url, configure);
  }

  httplib::Result Get(const std::string& path, const httplib::Headers& headers = {}) {
    return http_->Get(path.c_str(), headers);
  }

  std::map<std::string, double> Scrape() {
    httplib::Result r = Get("/metrics");
    if (!r || r->status != 200) {
      ADD_FAILURE() << "GET /metrics failed";
      return {};
    }
    return testing::ParseMetrics(r->body);
  }

  v1::IssueTokenResponse Issue(const std::string& subject) {
    return testing::IssueFor(stub_.get(), subject);
  }

  v1::ValidateTokenResponse Validate(const std::string& token) {
    return testing::ValidateAnyAudience(stub_.get(), token);
  }

  std::vector<std::string> KidsOf(const std::string& jwks_json) {
    absl::StatusOr<std::vector<std::shared_ptr<const VerifyKey>>> keys = ParseJwks(jwks_json);
    EXPECT_TRUE(keys.ok()) << keys.status();
    std::vector<std::string> kids;
    if (keys.ok()) {
      for (const auto& k : *keys) kids.push_back(k->kid());
    }
    return kids;
  }

  // Verifies `token` the way a gateway does: keys from the JWKS only, no call to signet.
  Reason VerifyThroughJwks(const std::string& token) {
    httplib::Result r = Get(server::kJwksPath);
    if (!r || r->status != 200) {
      ADD_FAILURE() << "GET jwks failed";
      return Reason::kMalformed;
    }
    absl::StatusOr<std::vector<std::shared_ptr<const VerifyKey>>> keys = ParseJwks(r->body);
    if (!keys.ok()) {
      ADD_FAILURE() << keys.status();
      return Reason::kMalformed;
    }
    KeySet::Builder builder;
    for (const auto& k : *keys) builder.Add(k);
    KeySet set = builder.Build();
    ValidationPolicy policy;
    policy.issuer = "signet";
    absl::StatusOr<TokenVerifier> verifier = TokenVerifier::Create(policy);
    if (!verifier.ok()) {
      ADD_FAILURE() << verifier.status();
      return Reason::kMalformed;
    }
    return verifier->Verify(token, set, nullptr, clock_.Now(), Audience::Any()).reason;
  }

  v1::ListKeysResponse ListKeys() {
    v1::ListKeysRequest req;
    v1::ListKeysResponse resp;
    grpc::ClientContext ctx;
    grpc::Status st = stub_->ListKeys(&ctx, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp;
  }

  std::string KidInState(v1::KeyState state) {
    v1::ListKeysResponse keys = ListKeys();
    for (const v1::Key& k : keys.keys()) {
      if (k.state() == state) return k.key_id();
    }
    ADD_FAILURE() << "no key in state " << v1::KeyState_Name(state);
    return "";
  }

  testing::TempDir dir_;
  FakeClock clock_{absl::FromUnixSeconds(1'800'000'000)};
  std::unique_ptr<server::SignetServer> server_;
  std::unique_ptr<v1::TokenService::Stub> stub_;
  std::unique_ptr<httplib::Client> http_;
};

TEST_F(HttpEndpointsTest, JwksVerifiesAFreshlyIssuedToken) {
  v1::IssueTokenResponse issued = Issue("user-42");
  httplib::Result r = Get(server::kJwksPath);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
  EXPECT_THAT(KidsOf(r->body), ::testing::Contains(issued.key_id()));
  EXPECT_EQ(VerifyThroughJwks(issued.token()), Reason::kValid);
}

TEST_F(HttpEndpointsTest, JwksPublishesExactlyThePendingAndActiveKeys) {
  std::string active = KidInState(v1::KEY_STATE_ACTIVE);
  std::string pending = KidInState(v1::KEY_STATE_PENDING);
  httplib::Result r = Get(server::kJwksPath);
  ASSERT_TRUE(r);
  EXPECT_THAT(KidsOf(r->body), UnorderedElementsAre(active, pending));
  EXPECT_EQ(r->body, server_->key_ring()->Current()->jwks_json);
}

TEST_F(HttpEndpointsTest, RevokedKeyLeavesTheJwksAtOnce) {
  v1::IssueTokenResponse issued = Issue("user-1");
  std::string pending = KidInState(v1::KEY_STATE_PENDING);
  v1::RevokeKeyRequest req;
  req.set_key_id(issued.key_id());
  req.set_reason("leaked in a test");
  v1::RevokeKeyResponse resp;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub_->RevokeKey(&ctx, req, &resp).ok());
  EXPECT_EQ(resp.active_key_id(), pending);

  httplib::Result r = Get(server::kJwksPath);
  ASSERT_TRUE(r);
  std::vector<std::string> kids = KidsOf(r->body);
  EXPECT_THAT(kids, Not(::testing::Contains(issued.key_id())));
  EXPECT_THAT(kids, ::testing::Contains(pending));
  EXPECT_EQ(VerifyThroughJwks(issued.token()), Reason::kUnknownKey);
  // A token signed after the emergency verifies from the JWKS a cache already had.
  EXPECT_EQ(VerifyThroughJwks(Issue("user-2").token()), Reason::kValid);
}

TEST_F(HttpEndpointsTest, JwksHasAStrongEtagAndMaxAgeBelowPublishAhead) {
  httplib::Result r = Get(server::kJwksPath);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->get_header_value("Cache-Control"), "public, max-age=300");
  std::string etag = r->get_header_value("ETag");
  EXPECT_EQ(etag, server::StrongEtag(r->body));
  EXPECT_EQ(etag.rfind("W/", 0), std::string::npos);
}

TEST_F(HttpEndpointsTest, MatchingIfNoneMatchAnswers304WithoutABody) {
  httplib::Result first = Get(server::kJwksPath);
  ASSERT_TRUE(first);
  std::string etag = first->get_header_value("ETag");
  httplib::Result again = Get(server::kJwksPath, {{"If-None-Match", etag}});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 304);
  EXPECT_EQ(again->body, "");
  EXPECT_EQ(again->get_header_value("ETag"), etag);
  EXPECT_EQ(again->get_header_value("Cache-Control"), "public, max-age=300");
  httplib::Result weak = Get(server::kJwksPath, {{"If-None-Match", "\"other\", W/" + etag}});
  ASSERT_TRUE(weak);
  EXPECT_EQ(weak->status, 304);
}

// httplib writes the headers and the body of an answer separately: with Nagle's algorithm on the
// server's socket the body waited for the client's delayed ACK of the headers, 40 ms on Linux, on
// every request of a kept-alive connection once the connection looked interactive.
TEST_F(HttpEndpointsTest, KeptAliveConnectionGetsEachAnswerWithoutWaitingForAnAck) {
  http_->set_keep_alive(true);
  std::vector<int64_t> micros;
  for (int i = 0; i < 12; ++i) {
    const absl::Time start = absl::Now();
    httplib::Result r = Get(server::kJwksPath);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200);
    micros.push_back(absl::ToInt64Microseconds(absl::Now() - start));
  }
  std::sort(micros.begin(), micros.end());
  EXPECT_LT(micros[micros.size() / 2], 20'000) << "median of " << micros.size() << " requests";
}

TEST_F(HttpEndpointsTest, ChangedKeySetGetsANewEtagAndAFullAnswer) {
  httplib::Result first = Get(server::kJwksPath);
  ASSERT_TRUE(first);
  std::string etag = first->get_header_value("ETag");
  v1::RotateKeyRequest req;
  req.set_immediate(true);
  v1::RotateKeyResponse resp;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub_->RotateKey(&ctx, req, &resp).ok());
  httplib::Result r = Get(server::kJwksPath, {{"If-None-Match", etag}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->get_header_value("ETag"), etag);
  EXPECT_THAT(KidsOf(r->body), ::testing::Contains(resp.pending().key_id()));
}

TEST_F(HttpEndpointsTest, DiscoveryDefaultsJwksUriToTheHttpAddress) {
  httplib::Result r = Get(server::kDiscoveryPath);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
  rapidjson::Document doc;
  doc.Parse(r->body.c_str());
  ASSERT_TRUE(doc.IsObject()) << r->body;
  EXPECT_STREQ(doc["issuer"].GetString(), "signet");
  EXPECT_EQ(std::string(doc["jwks_uri"].GetString()),
            "http://127.0.0.1:" + std::to_string(server_->http_port()) + "/.well-known/jwks.json");
  ASSERT_EQ(doc["id_token_signing_alg_values_supported"].Size(), 1u);
  EXPECT_STREQ(doc["id_token_signing_alg_values_supported"][0].GetString(), "EdDSA");
  ASSERT_TRUE(doc["response_types_supported"].IsArray());
  ASSERT_TRUE(doc["subject_types_supported"].IsArray());
  EXPECT_STREQ(doc["subject_types_supported"][0].GetString(), "public");
}

TEST_F(HttpEndpointsTest, DiscoveryUsesThePublicUrl) {
  RestartServer(nullptr, "https://signet.example.com/");
  httplib::Result r = Get(server::kDiscoveryPath);
  ASSERT_TRUE(r);
  rapidjson::Document doc;
  doc.Parse(r->body.c_str());
  ASSERT_TRUE(doc.IsObject()) << r->body;
  EXPECT_STREQ(doc["jwks_uri"].GetString(), "https://signet.example.com/.well-known/jwks.json");
}

TEST_F(HttpEndpointsTest, DiscoveryIsFoundFromAnIssuerWithAPathAndAnswersOnlyWhatIsTrue) {
  RestartServer(nullptr, "https://auth.example.com/signet/",
                [](server::ServerConfig* c) { c->issuer = "https://auth.example.com/signet"; });
  // OpenID Connect Discovery (issuer + path), RFC 8414 (path after the well-known name), and the
  // root paths.
  std::string body;
  for (const std::string path :
       {"/signet/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server/signet", "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server"}) {
    httplib::Result r = Get(path);
    ASSERT_TRUE(r) << path;
    ASSERT_EQ(r->status, 200) << path;
    if (body.empty()) body = r->body;
    EXPECT_EQ(r->body, body) << path;
  }
  rapidjson::Document doc;
  doc.Parse(body.c_str());
  ASSERT_TRUE(doc.IsObject()) << body;
  EXPECT_STREQ(doc["issuer"].GetString(), "https://auth.example.com/signet");
  EXPECT_STREQ(doc["jwks_uri"].GetString(),
               "https://auth.example.com/signet/.well-known/jwks.json");
  // No authorization endpoint, so no response type.
  ASSERT_TRUE(doc["response_types_supported"].IsArray());
  EXPECT_EQ(doc["response_types_supported"].Size(), 0u);
  EXPECT_FALSE(doc.HasMember("authorization_endpoint"));
  // A path that is not the issuer's finds nothing.
  httplib::Result other = Get("/other/.well-known/openid-configuration");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 404);
}

TEST_F(HttpEndpointsTest, DiscoveryHasAnEtagThatChangesWithTheDocument) {
  httplib::Result first = Get(server::kDiscoveryPath);
  ASSERT_TRUE(first);
  const std::string etag = first->get_header_value("ETag");
  ASSERT_FALSE(etag.empty());
  EXPECT_EQ(first->get_header_value("Cache-Control"), "public, max-age=300");
  httplib::Result same = Get(server::kDiscoveryPath, {{"If-None-Match", etag}});
  ASSERT_TRUE(same);
  EXPECT_EQ(same->status, 304);
  EXPECT_TRUE(same->body.empty());

  // Another document (here another jwks_uri) has another ETag.
  RestartServer(nullptr, "https://signet.example.com");
  httplib::Result changed = Get(server::kDiscoveryPath, {{"If-None-Match", etag}});
  ASSERT_TRUE(changed);
  EXPECT_EQ(changed->status, 200);
  EXPECT_NE(changed->get_header_value("ETag"), etag);
}

TEST_F(HttpEndpointsTest, AWildcardListenerWithoutAPublicUrlAdvertisesNoJwksUri) {
  RestartServer(nullptr, "", [](server::ServerConfig* c) { c->http_listen = "0.0.0.0:0"; });
  httplib::Result r = Get(server::kDiscoveryPath);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_THAT(r->body, ::testing::HasSubstr("--public_url"));
  EXPECT_EQ(r->body.find("0.0.0.0"), std::string::npos);
  // The keys are served all the same.
  httplib::Result jwks = Get(server::kJwksPath);
  ASSERT_TRUE(jwks);
  EXPECT_EQ(jwks->status, 200);
}

// The signet_* series a text names (a PromQL expression, a rule file, a dashboard).
std::set<std::string> SeriesNamedIn(const std::string& text) {
  std::set<std::string> named;
  for (size_t at = text.find("signet_"); at != std::string::npos;
       at = text.find("signet_", at + 1)) {
    if (at > 0 && (std::isalnum(static_cast<unsigned char>(text[at - 1])) || text[at - 1] == '_')) {
      continue;  // Inside another word.
    }
    size_t end = at;
    while (end < text.size() &&
           (std::islower(static_cast<unsigned char>(text[end])) || text[end] == '_')) {
      ++end;
    }
    std::string name = text.substr(at, end - at);
    // A histogram's series are exported under the family's name.
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      const std::string s(suffix);
      if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
        name.resize(name.size() - s.size());
      }
    }
    named.insert(name);
  }
  return named;
}

// The monitoring component's alerts and dashboard read only series a real server exports: a
// renamed metric fails here, not silently in someone's Prometheus or Grafana.
TEST_F(HttpEndpointsTest, EverySeriesTheAlertsAndTheDashboardReadIsExported) {
  httplib::Result r = Get("/metrics");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  const std::string dir = std::string(SIGNET_SOURCE_DIR) + "/deploy/k8s/components/monitoring/";
  for (const char* file : {"prometheusrule.yaml", "signet-dashboard.json"}) {
    const std::set<std::string> named = SeriesNamedIn(testing::ReadFile(dir + file));
    EXPECT_GE(named.size(), 5u) << file;
    for (const std::string& series : named) {
      EXPECT_NE(r->body.find("# TYPE " + series + " "), std::string::npos)
          << file << " reads " << series << ", which the server does not export";
    }
  }
  // The dashboard is JSON Grafana can load: panels, each with a query.
  rapidjson::Document dashboard;
  dashboard.Parse(testing::ReadFile(dir + "signet-dashboard.json").c_str());
  ASSERT_TRUE(dashboard.IsObject());
  ASSERT_TRUE(dashboard.HasMember("panels") && dashboard["panels"].IsArray());
  EXPECT_GE(dashboard["panels"].Size(), 8u);
  for (const auto& panel : dashboard["panels"].GetArray()) {
    ASSERT_TRUE(panel.HasMember("targets") && panel["targets"].IsArray());
    for (const auto& target : panel["targets"].GetArray()) {
      EXPECT_TRUE(target.HasMember("expr") && target["expr"].IsString());
    }
  }
}

TEST_F(HttpEndpointsTest, MetricsCountRpcsByMethodAndCode) {
  std::map<std::string, double> before = Scrape();
  std::string token = Issue("a").token();
  Issue("b");
  Issue("c");
  {
    v1::IssueTokenRequest req;  // No subject: INVALID_ARGUMENT.
    v1::IssueTokenResponse resp;
    grpc::ClientContext ctx;
    EXPECT_EQ(stub_->IssueToken(&ctx, req, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
  Validate(token);
  Validate(token);
  Validate("not.a.token");
  std::map<std::string, double> after = Scrape();

  auto delta = [&](const std::string& series) {
    double b = before.count(series) ? before.at(series) : 0;
    return At(after, series) - b;
  };
  EXPECT_EQ(delta(Handled("IssueToken", "OK")), 3);
  EXPECT_EQ(delta(Handled("IssueToken", "INVALID_ARGUMENT")), 1);
  EXPECT_EQ(delta(Handled("ValidateToken", "OK")), 3);
  EXPECT_EQ(delta(Handled("RevokeKey", "OK")), 0);
  EXPECT_EQ(delta(LatencyCount("IssueToken")), 4);
  EXPECT_EQ(delta(LatencyCount("ValidateToken")), 3);
  EXPECT_EQ(delta("signet_token_validations_total{reason=\"VALID\"}"), 2);
  EXPECT_EQ(delta("signet_token_validations_total{reason=\"MALFORMED\"}"), 1);
  EXPECT_EQ(delta("signet_token_validations_total{reason=\"EXPIRED\"}"), 0);
  EXPECT_EQ(At(after, "signet_build_info{version=\"0.1.0\"}"), 1);
}

TEST_F(HttpEndpointsTest, MetricsCountHealthChecks) {
  std::map<std::string, double> before = Scrape();
  absl::StatusOr<int> serving = testing::HealthCheck(testing::NewChannel(server_->port()), "");
  ASSERT_TRUE(serving.ok()) << serving.status();
  EXPECT_EQ(*serving, 1);
  std::string series =
      "signet_grpc_server_handled_total{grpc_service=\"grpc.health.v1.Health\","
      "grpc_method=\"Check\",grpc_code=\"OK\"}";
  EXPECT_EQ(At(Scrape(), series) - At(before, series), 1);
}

TEST_F(HttpEndpointsTest, MetricsServeTheTextFormat) {
  httplib::Result r = Get("/metrics");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_THAT(r->body, HasSubstr("# TYPE signet_grpc_server_handled_total counter\n"));
  EXPECT_THAT(r->body, HasSubstr("# TYPE signet_grpc_server_handling_seconds histogram\n"));
  EXPECT_THAT(r->body, HasSubstr("# TYPE signet_keys gauge\n"));
}

TEST_F(HttpEndpointsTest, MetricsShowKeysRevocationsAndWatchers) {
  std::map<std::string, double> m = Scrape();
  EXPECT_EQ(At(m, "signet_keys{state=\"ACTIVE\"}"), 1);
  EXPECT_EQ(At(m, "signet_keys{state=\"PENDING\"}"), 1);
  EXPECT_EQ(At(m, "signet_keys{state=\"RETIRED\"}"), 0);
  EXPECT_EQ(At(m, "signet_keys{state=\"REVOKED\"}"), 0);
  EXPECT_EQ(At(m, "signet_revoked_tokens"), 0);
  EXPECT_EQ(At(m, "signet_revoked_subjects"), 0);
  EXPECT_EQ(At(m, "signet_watchkeys_watchers"), 0);

  {
    v1::RevokeTokenRequest req;
    req.set_token_id("jti-1");
    v1::RevokeTokenResponse resp;
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->RevokeToken(&ctx, req, &resp).ok());
  }
  {
    v1::RevokeSubjectRequest req;
    req.set_subject("user-9");
    v1::RevokeSubjectResponse resp;
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->RevokeSubject(&ctx, req, &resp).ok());
  }
  grpc::ClientContext watch_ctx;
  std::unique_ptr<grpc::ClientReader<v1::WatchKeysResponse>> reader =
      stub_->WatchKeys(&watch_ctx, v1::WatchKeysRequest());
  v1::WatchKeysResponse first;
  ASSERT_TRUE(reader->Read(&first));  // The watcher is registered once the state is sent.

  m = Scrape();
  EXPECT_EQ(At(m, "signet_revoked_tokens"), 1);
  EXPECT_EQ(At(m, "signet_revoked_subjects"), 1);
  EXPECT_EQ(At(m, "signet_watchkeys_watchers"), 1);
  watch_ctx.TryCancel();
  reader->Finish();
}

TEST_F(HttpEndpointsTest, MetricsCountStoreErrors) {
  auto fail = std::make_shared<std::atomic<bool>>(false);
  RestartServer(std::make_unique<FlakyStore>(fail));
  std::map<std::string, double> before = Scrape();
  {
    v1::RevokeKeyRequest req;
    req.set_key_id("no-such-key");  // A refusal, not a store error.
    v1::RevokeKeyResponse resp;
    grpc::ClientContext ctx;
    EXPECT_EQ(stub_->RevokeKey(&ctx, req, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
  }
  *fail = true;
  {
    v1::RevokeTokenRequest req;
    req.set_token_id("jti-1");
    v1::RevokeTokenResponse resp;
    grpc::ClientContext ctx;
    EXPECT_EQ(stub_->RevokeToken(&ctx, req, &resp).error_code(), grpc::StatusCode::UNAVAILABLE);
  }
  {
    v1::RevokeSubjectRequest req;
    req.set_subject("user-9");
    v1::RevokeSubjectResponse resp;
    grpc::ClientContext ctx;
    EXPECT_EQ(stub_->RevokeSubject(&ctx, req, &resp).error_code(), grpc::StatusCode::UNAVAILABLE);
  }
  *fail = false;
  std::map<std::string, double> after = Scrape();
  const std::string series = "signet_store_errors_total{source=\"change\"}";
  EXPECT_EQ(At(after, series) - At(before, series), 2);
  EXPECT_EQ(At(after, Handled("RevokeToken", "UNAVAILABLE")) -
                (before.count(Handled("RevokeToken", "UNAVAILABLE"))
                     ? before.at(Handled("RevokeToken", "UNAVAILABLE"))
                     : 0),
            1);
}

TEST_F(HttpEndpointsTest, HealthzAndReadyzAnswerOkWhileServing) {
  httplib::Result live = Get("/healthz");
  ASSERT_TRUE(live);
  EXPECT_EQ(live->status, 200);
  EXPECT_EQ(live->body, "ok\n");
  httplib::Result ready = Get("/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);
  EXPECT_EQ(ready->body, "ready\n");
}

TEST_F(HttpEndpointsTest, ReadyzAnswers503WhileDraining) {
  HeldStream held(testing::NewChannel(server_->port()));
  ASSERT_TRUE(held.WaitAnswered());
  std::thread drain([this] { server_->Shutdown(absl::Seconds(120)); });
  // The drain cannot finish while the stream is open, so /readyz must turn 503 and the HTTP
  // server must keep answering meanwhile.
  int status = 0;
  for (int i = 0; i < 12000 && status != 503; ++i) {
    httplib::Result r = Get("/readyz");
    ASSERT_TRUE(r) << "the HTTP server stopped before the drain finished";
    status = r->status;
    if (status != 503) absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(status, 503);
  httplib::Result body = Get("/readyz");
  ASSERT_TRUE(body);
  EXPECT_EQ(body->body, "not serving (starting or draining)\n");
  httplib::Result live = Get("/healthz");
  ASSERT_TRUE(live);
  EXPECT_EQ(live->status, 200);
  httplib::Result jwks = Get(server::kJwksPath);
  ASSERT_TRUE(jwks);
  EXPECT_EQ(jwks->status, 200);

  held.Close();
  held.WaitDone();
  drain.join();
  EXPECT_FALSE(Get("/healthz")) << "the HTTP server still answers after the drain";
}

TEST_F(HttpEndpointsTest, UnknownPathsAre404) {
  httplib::Result r = Get("/.well-known/nothing");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
}

TEST(HttpListen, EmptyTurnsHttpOff) {
  testing::TempDir dir;
  server::SignetServer::Options options;
  options.config = testing::TestConfig(dir.path());
  options.run_maintenance = false;
  absl::StatusOr<std::unique_ptr<server::SignetServer>> s =
      server::SignetServer::Start(std::move(options));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ((*s)->http_port(), 0);
}

TEST(HttpListen, MalformedAddressIsAStartUpError) {
  testing::TempDir dir;
  server::SignetServer::Options options;
  options.config = testing::TestConfig(dir.path());
  options.config.http_listen = "localhost";
  options.run_maintenance = false;
  absl::StatusOr<std::unique_ptr<server::SignetServer>> s =
      server::SignetServer::Start(std::move(options));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.status().message(), HasSubstr("--http_listen=localhost: no port"));
}

TEST(HttpListen, PortInUseIsAStartUpError) {
  int sock = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(sock, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(sock, 1), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(sock, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  std::string taken = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));

  testing::TempDir dir;
  server::SignetServer::Options options;
  options.config = testing::TestConfig(dir.path());
  options.config.http_listen = taken;
  options.run_maintenance = false;
  absl::StatusOr<std::unique_ptr<server::SignetServer>> s =
      server::SignetServer::Start(std::move(options));
  close(sock);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(s.status().message(), HasSubstr("cannot listen for HTTP on " + taken));
}

TEST(HttpListen, SignetServerExitsWithUsageErrorOnAMalformedAddress) {
  testing::TempDir dir;
  std::string out;
  int code = testing::RunServerOnce(
      {"--listen=127.0.0.1:0", "--data_dir=" + dir.path(), "--http_listen=127.0.0.1:http"}, &out);
  EXPECT_EQ(code, 2);
  EXPECT_THAT(out, HasSubstr("--http_listen=127.0.0.1:http: the port must be a number"));
}

}  // namespace
}  // namespace signet
