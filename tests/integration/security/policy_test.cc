// The policy file, its evaluation, its reloading, caller identities from an AuthContext, and the
// audit log's refusal to write secrets. No network.
#include "server/policy/policy.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "grpcpp/security/auth_context.h"
#include "gtest/gtest.h"
#include "server/audit_log.h"
#include "server/policy/peer_identity.h"
#include "server/policy/policy_authorizer.h"
#include "server/policy/policy_file.h"
#include "tests/integration/test_support.h"

namespace signet::server {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

Policy MustParse(const std::string& json) {
  absl::StatusOr<Policy> policy = ParsePolicyJson(json, "p.json");
  EXPECT_TRUE(policy.ok()) << policy.status();
  return policy.ok() ? *std::move(policy) : Policy({});
}

std::string ParseError(const std::string& json) {
  absl::StatusOr<Policy> policy = ParsePolicyJson(json, "p.json");
  EXPECT_FALSE(policy.ok()) << json;
  EXPECT_EQ(policy.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(policy.status().message());
}

IssueRequestView Request(std::vector<std::string> audiences, absl::Duration ttl) {
  return IssueRequestView{std::move(audiences), ttl};
}

// --- identity patterns ---

TEST(IdentityPattern, ExactPatternMatchesOnlyItself) {
  absl::StatusOr<IdentityPattern> p = IdentityPattern::Parse("spiffe://prod/ns/auth/sa/login");
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->is_glob());
  EXPECT_TRUE(p->Matches("spiffe://prod/ns/auth/sa/login"));
  EXPECT_FALSE(p->Matches("spiffe://prod/ns/auth/sa/login2"));
  EXPECT_FALSE(p->Matches("spiffe://prod/ns/auth/sa/logi"));
}

TEST(IdentityPattern, StarMatchesAnyRunOfCharactersIncludingSlashes) {
  absl::StatusOr<IdentityPattern> p = IdentityPattern::Parse("spiffe://prod/ns/auth/*");
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->is_glob());
  EXPECT_TRUE(p->Matches("spiffe://prod/ns/auth/sa/login"));
  EXPECT_TRUE(p->Matches("spiffe://prod/ns/auth/"));
  EXPECT_FALSE(p->Matches("spiffe://prod/ns/authz/sa/login"));
  EXPECT_FALSE(p->Matches("spiffe://staging/ns/auth/sa/login"));
}

TEST(IdentityPattern, StarsInTheMiddleAndAtBothEndsMatch) {
  absl::StatusOr<IdentityPattern> p = IdentityPattern::Parse("*.svc.*.local");
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->Matches("api.svc.cluster.local"));
  EXPECT_TRUE(p->Matches("a.b.svc.c.d.local"));
  EXPECT_FALSE(p->Matches("api.svc.cluster.localhost"));
}

TEST(IdentityPattern, LoneStarMatchesEveryoneIncludingUnauthenticatedCallers) {
  absl::StatusOr<IdentityPattern> p = IdentityPattern::Parse("*");
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->Matches(""));
  EXPECT_TRUE(p->Matches("spiffe://anything/at/all"));
}

TEST(IdentityPattern, BadGlobsAreRefused) {
  EXPECT_THAT(IdentityPattern::Parse("spiffe://prod/**").status().message(), HasSubstr("**"));
  EXPECT_THAT(IdentityPattern::Parse("spiffe://*/ns/auth").status().message(),
              HasSubstr("trust domain"));
  EXPECT_THAT(IdentityPattern::Parse("spiffe://pro*/ns/auth").status().message(),
              HasSubstr("trust domain"));
  EXPECT_THAT(IdentityPattern::Parse("spiffe:///ns/auth").status().message(),
              HasSubstr("without a trust domain"));
  EXPECT_THAT(IdentityPattern::Parse("login service").status().message(), HasSubstr("whitespace"));
  EXPECT_THAT(IdentityPattern::Parse("").status().message(), HasSubstr("empty"));
}

// --- parsing ---

constexpr char kPolicy[] = R"({
  "callers": [
    {"identity": "spiffe://prod/ns/auth/sa/login", "roles": ["issuer"]},
    {"identity": "spiffe://prod/ns/shop/*", "roles": ["issuer", "validator"],
     "audiences": ["shop", "payments"], "max_ttl": "15m",
     "description": "shop services mint short tokens for themselves"},
    {"identity": "spiffe://prod/ns/ops/sa/oncall", "roles": ["admin"]},
    {"identity": "spiffe://prod/ns/api/*", "roles": ["validator"]}
  ]
})";

TEST(PolicyFile, ValidFileGivesOneRulePerCaller) {
  Policy policy = MustParse(kPolicy);
  ASSERT_EQ(policy.rules().size(), 4u);
  const PolicyRule& shop = policy.rules()[1];
  EXPECT_EQ(shop.identity.text(), "spiffe://prod/ns/shop/*");
  EXPECT_EQ(shop.roles.ToString(), "issuer, validator");
  EXPECT_EQ(shop.audiences, (std::vector<std::string>{"shop", "payments"}));
  EXPECT_EQ(shop.max_ttl, absl::Minutes(15));
  EXPECT_FALSE(policy.rules()[0].limited());
}

TEST(PolicyFile, EmptyCallerListIsValidAndGrantsNothing) {
  Policy policy = MustParse(R"({"callers": []})");
  EXPECT_TRUE(policy.RolesOf("anyone").empty());
}

TEST(PolicyFile, UnknownTopLevelFieldIsAnErrorNamingIt) {
  EXPECT_EQ(ParseError(R"({"callers": [], "colour": "red"})"),
            "policy file p.json: colour: unknown field (known: callers)");
}

TEST(PolicyFile, UnknownEntryFieldIsAnErrorNamingItsPath) {
  EXPECT_EQ(ParseError(R"({"callers": [{"identity": "a", "roles": ["admin"]},
                                        {"identity": "b", "role": ["admin"]}]})"),
            "policy file p.json: callers[1].role: unknown field (known: identity, roles, "
            "audiences, max_ttl, description)");
}

TEST(PolicyFile, UnknownRoleIsAnErrorNamingItsPath) {
  EXPECT_EQ(ParseError(R"({"callers": [{"identity": "a", "roles": ["validator", "issuers"]}]})"),
            "policy file p.json: callers[0].roles[1]: unknown role \"issuers\" (known: issuer, "
            "validator, admin)");
}

TEST(PolicyFile, BadGlobIsAnErrorNamingTheIdentityField) {
  EXPECT_THAT(ParseError(R"({"callers": [{"identity": "spiffe://*/x", "roles": ["admin"]}]})"),
              HasSubstr("policy file p.json: callers[0].identity: identity \"spiffe://*/x\" is a "
                        "bad glob"));
}

TEST(PolicyFile, AudienceLimitMustNameAtLeastOneAudience) {
  EXPECT_THAT(
      ParseError(R"({"callers": [{"identity": "a", "roles": ["issuer"], "audiences": []}]})"),
      HasSubstr("callers[0].audiences: must name at least one audience"));
}

TEST(PolicyFile, LimitsOnACallerThatCannotIssueAreAnError) {
  EXPECT_THAT(
      ParseError(R"({"callers": [{"identity": "a", "roles": ["validator"], "max_ttl": "5m"}]})"),
      HasSubstr("callers[0].max_ttl: limits issuing, but roles grant neither issuer nor admin"));
}

TEST(PolicyFile, MaxTtlMustBeAPositiveDuration) {
  EXPECT_THAT(
      ParseError(R"({"callers": [{"identity": "a", "roles": ["issuer"], "max_ttl": "soon"}]})"),
      HasSubstr("callers[0].max_ttl: \"soon\" is not a duration"));
  EXPECT_THAT(
      ParseError(R"({"callers": [{"identity": "a", "roles": ["issuer"], "max_ttl": "-5m"}]})"),
      HasSubstr("must be positive"));
  EXPECT_THAT(
      ParseError(R"({"callers": [{"identity": "a", "roles": ["issuer"], "max_ttl": 900}]})"),
      HasSubstr("callers[0].max_ttl: must be a string, not a number"));
}

TEST(PolicyFile, MissingOrEmptyRolesAreAnError) {
  EXPECT_THAT(ParseError(R"({"callers": [{"identity": "a"}]})"),
              HasSubstr("callers[0].roles: is required"));
  EXPECT_THAT(ParseError(R"({"callers": [{"identity": "a", "roles": []}]})"),
              HasSubstr("callers[0].roles: must be a non-empty array"));
  EXPECT_THAT(ParseError(R"({"callers": [{"roles": ["admin"]}]})"),
              HasSubstr("callers[0].identity: is required"));
}

TEST(PolicyFile, FieldNamedTwiceIsAnError) {
  EXPECT_THAT(
      ParseError(R"({"callers": [{"identity": "a", "roles": ["issuer"], "identity": "b"}]})"),
      HasSubstr("callers[0].identity: appears twice"));
}

TEST(PolicyFile, BrokenJsonIsAnErrorWithItsOffset) {
  EXPECT_THAT(ParseError(R"({"callers": [)"),
              HasSubstr("policy file p.json: invalid JSON at byte"));
  EXPECT_THAT(ParseError(R"([])"), HasSubstr("must be a JSON object, not an array"));
  EXPECT_THAT(ParseError(R"({})"), HasSubstr("callers: is required"));
  // Deep nesting is an error, not a stack overflow.
  EXPECT_THAT(ParseError(std::string(200000, '[')), HasSubstr("invalid JSON"));
}

TEST(PolicyFile, MissingFileIsAnErrorNamingIt) {
  absl::StatusOr<Policy> policy = LoadPolicyFile("/nonexistent/signet/policy.json");
  EXPECT_THAT(policy.status().message(), HasSubstr("/nonexistent/signet/policy.json"));
}

// --- evaluation ---

TEST(Policy, IssuerMayIssueButNotRevokeAndIsToldTheRoleItNeeds) {
  Policy policy = MustParse(kPolicy);
  Caller login{"spiffe://prod/ns/auth/sa/login"};
  EXPECT_TRUE(policy.CheckRpc(login, Rpc::kIssueToken).ok());
  absl::Status s = policy.CheckRpc(login, Rpc::kRevokeKey);
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(
      s.message(),
      "caller \"spiffe://prod/ns/auth/sa/login\" has role issuer; RevokeKey needs role admin");
  EXPECT_EQ(policy.CheckRpc(login, Rpc::kValidateToken).message(),
            "caller \"spiffe://prod/ns/auth/sa/login\" has role issuer; ValidateToken needs role "
            "validator");
}

TEST(Policy, AdminMayCallEveryRpc) {
  Policy policy = MustParse(kPolicy);
  Caller oncall{"spiffe://prod/ns/ops/sa/oncall"};
  for (Rpc rpc :
       {Rpc::kIssueToken, Rpc::kValidateToken, Rpc::kRevokeKey, Rpc::kRotateKey, Rpc::kListKeys,
        Rpc::kGetJwks, Rpc::kWatchKeys, Rpc::kRevokeToken, Rpc::kRevokeSubject}) {
    EXPECT_TRUE(policy.CheckRpc(oncall, rpc).ok()) << RpcName(rpc);
  }
}

TEST(Policy, ValidatorMayValidateFetchKeysAndWatchOnly) {
  Policy policy = MustParse(kPolicy);
  Caller api{"spiffe://prod/ns/api/sa/frontend"};
  EXPECT_TRUE(policy.CheckRpc(api, Rpc::kValidateToken).ok());
  EXPECT_TRUE(policy.CheckRpc(api, Rpc::kGetJwks).ok());
  EXPECT_TRUE(policy.CheckRpc(api, Rpc::kWatchKeys).ok());
  EXPECT_EQ(policy.CheckRpc(api, Rpc::kListKeys).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(policy.CheckRpc(api, Rpc::kIssueToken).code(), absl::StatusCode::kPermissionDenied);
}

TEST(Policy, UnknownCallerIsDeniedWithTheRoleTheRpcNeeds) {
  Policy policy = MustParse(kPolicy);
  absl::Status s = policy.CheckRpc(Caller{"spiffe://prod/ns/evil/sa/x"}, Rpc::kRevokeSubject);
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(s.message(),
            "caller \"spiffe://prod/ns/evil/sa/x\" has no role in the policy; RevokeSubject needs "
            "role admin");
}

TEST(Policy, CallerWithoutIdentityIsUnauthenticatedUnlessAStarEntryAdmitsIt) {
  Policy strict = MustParse(kPolicy);
  absl::Status s = strict.CheckRpc(Caller{}, Rpc::kValidateToken);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(s.message(), HasSubstr("ValidateToken needs role validator"));

  Policy open = MustParse(R"({"callers": [{"identity": "*", "roles": ["validator"]}]})");
  EXPECT_TRUE(open.CheckRpc(Caller{}, Rpc::kValidateToken).ok());
  s = open.CheckRpc(Caller{}, Rpc::kIssueToken);
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(s.message(), "unauthenticated caller has role validator; IssueToken needs role issuer");
}

TEST(Policy, RolesOfEveryMatchingEntryAddUp) {
  Policy policy = MustParse(R"({"callers": [
    {"identity": "spiffe://prod/*", "roles": ["validator"]},
    {"identity": "spiffe://prod/ns/auth/sa/login", "roles": ["issuer"]}]})");
  EXPECT_EQ(policy.RolesOf("spiffe://prod/ns/auth/sa/login").ToString(), "issuer, validator");
  EXPECT_EQ(policy.RolesOf("spiffe://prod/ns/api/sa/x").ToString(), "validator");
  EXPECT_EQ(policy.RolesOf("spiffe://staging/ns/api/sa/x").ToString(), "none");
}

TEST(Policy, LimitedIssuerMayAskWithinItsAudiencesAndTtl) {
  Policy policy = MustParse(kPolicy);
  Caller shop{"spiffe://prod/ns/shop/sa/checkout"};
  EXPECT_TRUE(policy.CheckIssue(shop, Request({"shop"}, absl::Minutes(15))).ok());
  EXPECT_TRUE(policy.CheckIssue(shop, Request({"shop", "payments"}, absl::Minutes(1))).ok());
}

TEST(Policy, LimitedIssuerAskingForAnotherAudienceIsToldWhichOne) {
  Policy policy = MustParse(kPolicy);
  absl::Status s = policy.CheckIssue(Caller{"spiffe://prod/ns/shop/sa/checkout"},
                                     Request({"shop", "admin-console"}, absl::Minutes(5)));
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(s.message(),
            "audience \"admin-console\" is not allowed for caller "
            "\"spiffe://prod/ns/shop/sa/checkout\" (allowed: shop, payments)");
}

TEST(Policy, LimitedIssuerMustNameAnAudience) {
  Policy policy = MustParse(kPolicy);
  absl::Status s =
      policy.CheckIssue(Caller{"spiffe://prod/ns/shop/sa/checkout"}, Request({}, absl::Minutes(5)));
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(s.message(), HasSubstr("may only issue tokens for audiences [shop, payments]: name "
                                     "at least one"));
}

TEST(Policy, LimitedIssuerAskingForALongerTtlIsRefused) {
  Policy policy = MustParse(kPolicy);
  absl::Status s = policy.CheckIssue(Caller{"spiffe://prod/ns/shop/sa/checkout"},
                                     Request({"shop"}, absl::Minutes(16)));
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(
      s.message(),
      "ttl 16m exceeds the 15m that caller \"spiffe://prod/ns/shop/sa/checkout\" may ask for");
}

TEST(Policy, UnlimitedIssuerEntryLiftsTheLimitsOfAnotherMatchingEntry) {
  Policy policy = MustParse(R"({"callers": [
    {"identity": "spiffe://prod/ns/shop/sa/checkout", "roles": ["issuer"], "audiences": ["shop"]},
    {"identity": "spiffe://prod/ns/shop/*", "roles": ["issuer"]}]})");
  EXPECT_TRUE(policy
                  .CheckIssue(Caller{"spiffe://prod/ns/shop/sa/checkout"},
                              Request({"anything"}, absl::Hours(2)))
                  .ok());
}

TEST(Policy, AdminIsUnlimitedUnlessItsEntrySaysOtherwise) {
  Policy policy = MustParse(R"({"callers": [
    {"identity": "root", "roles": ["admin"]},
    {"identity": "ops", "roles": ["admin"], "max_ttl": "1h"}]})");
  EXPECT_TRUE(policy.CheckIssue(Caller{"root"}, Request({}, absl::Hours(24))).ok());
  EXPECT_EQ(policy.CheckIssue(Caller{"ops"}, Request({}, absl::Hours(2))).code(),
            absl::StatusCode::kPermissionDenied);
}

// --- reloading ---

class PolicyAuthorizerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.path() + "/policy.json";
    testing::WriteFile(path_, kPolicy);
    PolicyAuthorizer::Options options;
    options.path = path_;
    options.reload_interval = absl::ZeroDuration();  // the test reloads by hand
    absl::StatusOr<std::unique_ptr<PolicyAuthorizer>> authz = PolicyAuthorizer::Create(options);
    ASSERT_TRUE(authz.ok()) << authz.status();
    authz_ = *std::move(authz);
  }

  testing::TempDir dir_;
  std::string path_;
  std::unique_ptr<PolicyAuthorizer> authz_;
};

TEST_F(PolicyAuthorizerTest, UnchangedFileIsNotReparsed) {
  std::shared_ptr<const Policy> before = authz_->current();
  absl::StatusOr<bool> reloaded = authz_->ReloadIfChanged();
  ASSERT_TRUE(reloaded.ok());
  EXPECT_FALSE(*reloaded);
  EXPECT_EQ(authz_->current(), before);
}

TEST_F(PolicyAuthorizerTest, ChangedFileTakesEffect) {
  Caller newcomer{"spiffe://prod/ns/new/sa/x"};
  EXPECT_EQ(authz_->Authorize(newcomer, Rpc::kListKeys).code(),
            absl::StatusCode::kPermissionDenied);
  testing::WriteFile(path_, R"({"callers": [{"identity": "spiffe://prod/ns/new/*",
                                             "roles": ["admin"]}]})");
  absl::StatusOr<bool> reloaded = authz_->ReloadIfChanged();
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  EXPECT_TRUE(*reloaded);
  EXPECT_TRUE(authz_->Authorize(newcomer, Rpc::kListKeys).ok());
  // The old grants are gone with the old file.
  EXPECT_EQ(authz_->Authorize(Caller{"spiffe://prod/ns/auth/sa/login"}, Rpc::kIssueToken).code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(PolicyAuthorizerTest, BrokenNewFileKeepsThePolicyInForce) {
  std::shared_ptr<const Policy> before = authz_->current();
  testing::WriteFile(path_, R"({"callers": [{"identity": "x", "roles": ["root"]}]})");
  absl::StatusOr<bool> reloaded = authz_->ReloadIfChanged();
  ASSERT_FALSE(reloaded.ok());
  EXPECT_THAT(reloaded.status().message(), HasSubstr("callers[0].roles[0]: unknown role"));
  EXPECT_EQ(authz_->current(), before);
  EXPECT_TRUE(authz_->Authorize(Caller{"spiffe://prod/ns/auth/sa/login"}, Rpc::kIssueToken).ok());
}

TEST_F(PolicyAuthorizerTest, VanishedFileKeepsThePolicyInForce) {
  std::shared_ptr<const Policy> before = authz_->current();
  ASSERT_EQ(std::remove(path_.c_str()), 0);
  EXPECT_FALSE(authz_->ReloadIfChanged().ok());
  EXPECT_EQ(authz_->current(), before);
}

TEST(PolicyAuthorizer, BrokenFileAtStartIsAnError) {
  testing::TempDir dir;
  std::string path = dir.path() + "/policy.json";
  testing::WriteFile(path, R"({"callers": [{"identity": "x", "roles": "admin"}]})");
  PolicyAuthorizer::Options options;
  options.path = path;
  absl::StatusOr<std::unique_ptr<PolicyAuthorizer>> authz = PolicyAuthorizer::Create(options);
  EXPECT_EQ(authz.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(authz.status().message(), HasSubstr(path + ": callers[0].roles: must be"));
}

// --- caller identity ---

class FakeAuthContext final : public grpc::AuthContext {
 public:
  FakeAuthContext(bool authenticated, std::multimap<std::string, std::string> properties)
      : authenticated_(authenticated), properties_(std::move(properties)) {}
  bool IsPeerAuthenticated() const override { return authenticated_; }
  std::vector<grpc::string_ref> GetPeerIdentity() const override { return {}; }
  std::string GetPeerIdentityPropertyName() const override { return ""; }
  std::vector<grpc::string_ref> FindPropertyValues(const std::string& name) const override {
    std::vector<grpc::string_ref> out;
    auto [begin, end] = properties_.equal_range(name);
    for (auto it = begin; it != end; ++it) out.emplace_back(it->second);
    return out;
  }
  grpc::AuthPropertyIterator begin() const override { return EmptyIterator(); }
  grpc::AuthPropertyIterator end() const override { return EmptyIterator(); }
  void AddProperty(const std::string&, const grpc::string_ref&) override {
    ADD_FAILURE() << "signet must not add properties to an AuthContext";
  }
  bool SetPeerIdentityPropertyName(const std::string&) override {
    ADD_FAILURE() << "signet must not change an AuthContext";
    return false;
  }

 private:
  struct EmptyIterator : grpc::AuthPropertyIterator {};
  bool authenticated_;
  std::multimap<std::string, std::string> properties_;
};

TEST(PeerIdentity, SpiffeIdComesFirst) {
  FakeAuthContext auth(true, {{"peer_uri", "https://example.com/x"},
                              {"peer_uri", "spiffe://prod/ns/auth/sa/login"},
                              {"peer_dns", "login.auth.svc"},
                              {"x509_common_name", "login"}});
  EXPECT_EQ(PeerIdentity(auth), "spiffe://prod/ns/auth/sa/login");
}

TEST(PeerIdentity, FirstDnsNameComesWithoutSpiffeId) {
  FakeAuthContext auth(true, {{"peer_uri", "https://example.com/x"},
                              {"peer_dns", "login.auth.svc"},
                              {"peer_dns", "login"},
                              {"x509_common_name", "cn-login"}});
  EXPECT_EQ(PeerIdentity(auth), "login.auth.svc");
}

TEST(PeerIdentity, CommonNameComesLast) {
  FakeAuthContext auth(true, {{"x509_common_name", "batch-job"}});
  EXPECT_EQ(PeerIdentity(auth), "batch-job");
}

TEST(PeerIdentity, SeveralSpiffeIdsIdentifyNobody) {
  FakeAuthContext auth(true, {{"peer_uri", "spiffe://prod/a"},
                              {"peer_uri", "spiffe://prod/b"},
                              {"x509_common_name", "ambiguous"}});
  EXPECT_EQ(PeerIdentity(auth), "");
}

TEST(PeerIdentity, UnauthenticatedPeerHasNoIdentity) {
  FakeAuthContext auth(false, {{"x509_common_name", "not-verified"}});
  EXPECT_EQ(PeerIdentity(auth), "");
}

// --- audit ---

TEST(Audit, TokensAndPrivateKeysLookSecret) {
  EXPECT_TRUE(LooksLikeSecret("eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiI0MiJ9.c2lnbmF0dXJl"));
  EXPECT_TRUE(LooksLikeSecret("Bearer eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiI0MiJ9.c2ln"));
  EXPECT_TRUE(LooksLikeSecret("-----BEGIN PRIVATE KEY-----\nMC4CAQ...\n"));
  EXPECT_TRUE(LooksLikeSecret("-----BEGIN EC PRIVATE KEY-----"));
  EXPECT_FALSE(LooksLikeSecret("user-42"));
  EXPECT_FALSE(LooksLikeSecret("Xq3vJ8Lr0m2bT6nB_wK9aA"));  // a jti
  EXPECT_FALSE(LooksLikeSecret("eyJhbGciOiJFZERTQSJ9"));    // one part only
  EXPECT_FALSE(LooksLikeSecret("spiffe://prod/ns/auth/sa/login"));
}

TEST(Audit, EventWritesRedactedInsteadOfASecret) {
  const std::string token = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiI0MiJ9.c2lnbmF0dXJl";
  AuditEvent event("revoke_subject", Caller{"spiffe://prod/ns/ops/sa/oncall"}, "ipv4:1.2.3.4:5");
  event.Str("sub", token).Strs("aud", {"shop", token}).Str("reason", "compromised");
  std::string json = event.Json();
  EXPECT_THAT(json, Not(HasSubstr(token)));
  EXPECT_THAT(json, HasSubstr(R"("sub":"[redacted]")"));
  EXPECT_THAT(json, HasSubstr(R"("aud":["shop","[redacted]"])"));
  EXPECT_THAT(json, HasSubstr(R"("caller":"spiffe://prod/ns/ops/sa/oncall")"));
  EXPECT_THAT(json, HasSubstr(R"("reason":"compromised")"));
}

}  // namespace
}  // namespace signet::server
