// The policy file, its evaluation, its reloading, caller identities from an AuthContext, and the
// audit log's refusal to write secrets. No network.
#include "server/policy/policy.h"

#include <map>
#include <memory>
#include <optional>
#include <set>
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

IssueRequestView Request(std::vector<std::string> audiences, absl::Duration ttl,
                         std::string subject = "user:42") {
  return IssueRequestView{std::move(subject), std::move(audiences), ttl};
}

std::optional<PeerIdentity> Spiffe(const std::string& id) {
  return PeerIdentity{IdentityKind::kSpiffe, id};
}
std::optional<PeerIdentity> Dns(const std::string& name) {
  return PeerIdentity{IdentityKind::kDns, name};
}
std::optional<PeerIdentity> Cn(const std::string& name) {
  return PeerIdentity{IdentityKind::kCommonName, name};
}

IdentityPattern Pattern(IdentityKind kind, const std::string& text) {
  absl::StatusOr<IdentityPattern> p = IdentityPattern::Parse(kind, text);
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *std::move(p) : IdentityPattern::Any();
}

std::string PatternError(IdentityKind kind, const std::string& text) {
  absl::StatusOr<IdentityPattern> p = IdentityPattern::Parse(kind, text);
  EXPECT_FALSE(p.ok()) << text;
  return std::string(p.status().message());
}

// --- identity patterns ---

TEST(IdentityPattern, ExactSpiffePatternMatchesOnlyThatSpiffeId) {
  IdentityPattern p = Pattern(IdentityKind::kSpiffe, "spiffe://prod/ns/auth/sa/login");
  EXPECT_FALSE(p.glob().is_glob());
  EXPECT_TRUE(p.Matches(Spiffe("spiffe://prod/ns/auth/sa/login")));
  EXPECT_FALSE(p.Matches(Spiffe("spiffe://prod/ns/auth/sa/login2")));
  EXPECT_FALSE(p.Matches(Spiffe("spiffe://prod/ns/auth/sa/logi")));
}

TEST(IdentityPattern, ACommonNameOrDnsNameSpellingASpiffeIdIsNotThatSpiffeId) {
  IdentityPattern p = Pattern(IdentityKind::kSpiffe, "spiffe://prod/ns/auth/sa/login");
  EXPECT_FALSE(p.Matches(Cn("spiffe://prod/ns/auth/sa/login")));
  EXPECT_FALSE(p.Matches(Dns("spiffe://prod/ns/auth/sa/login")));
  IdentityPattern glob = Pattern(IdentityKind::kSpiffe, "spiffe://prod/*");
  EXPECT_FALSE(glob.Matches(Cn("spiffe://prod/ns/auth/sa/login")));
  IdentityPattern cn = Pattern(IdentityKind::kCommonName, "legacy-client");
  EXPECT_TRUE(cn.Matches(Cn("legacy-client")));
  EXPECT_FALSE(cn.Matches(Dns("legacy-client")));
  EXPECT_FALSE(cn.Matches(std::nullopt));
}

TEST(IdentityPattern, StarMatchesAnyRunOfCharactersIncludingSlashes) {
  IdentityPattern p = Pattern(IdentityKind::kSpiffe, "spiffe://prod/ns/auth/*");
  EXPECT_TRUE(p.glob().is_glob());
  EXPECT_TRUE(p.Matches(Spiffe("spiffe://prod/ns/auth/sa/login")));
  EXPECT_FALSE(p.Matches(Spiffe("spiffe://prod/ns/authz/sa/login")));
  EXPECT_FALSE(p.Matches(Spiffe("spiffe://staging/ns/auth/sa/login")));
}

TEST(IdentityPattern, DnsGlobsMatchDnsNamesCaseInsensitively) {
  IdentityPattern p = Pattern(IdentityKind::kDns, "*.svc.*.LOCAL");
  EXPECT_EQ(p.ToString(), "dns:*.svc.*.local");
  EXPECT_TRUE(p.Matches(Dns("api.svc.cluster.local")));
  EXPECT_TRUE(p.Matches(Dns("a.b.svc.c.d.local")));
  EXPECT_FALSE(p.Matches(Dns("api.svc.cluster.localhost")));
}

TEST(IdentityPattern, AnyMatchesEveryoneIncludingCallersWithoutIdentity) {
  IdentityPattern p = IdentityPattern::Any();
  EXPECT_TRUE(p.Matches(std::nullopt));
  EXPECT_TRUE(p.Matches(Spiffe("spiffe://anything/at/all")));
  EXPECT_TRUE(p.Matches(Cn("x")));
  EXPECT_EQ(p.ToString(), "any");
}

TEST(IdentityPattern, SpiffePatternMustNameOneTrustDomainLiterally) {
  // A pattern without the scheme could otherwise match across trust domains.
  EXPECT_THAT(PatternError(IdentityKind::kSpiffe, "*/ns/signet/sa/admin"),
              HasSubstr("must start with \"spiffe://\" and a literal trust domain"));
  EXPECT_THAT(PatternError(IdentityKind::kSpiffe, "spiffe://*/ns/auth"),
              HasSubstr("'*' in its trust domain"));
  EXPECT_THAT(PatternError(IdentityKind::kSpiffe, "spiffe://pro*/ns/auth"),
              HasSubstr("'*' in its trust domain"));
  EXPECT_THAT(PatternError(IdentityKind::kSpiffe, "spiffe://*"),
              HasSubstr("'*' in its trust domain"));
  EXPECT_THAT(PatternError(IdentityKind::kSpiffe, "spiffe:///ns/auth"),
              HasSubstr("has no trust domain"));
  EXPECT_THAT(PatternError(IdentityKind::kSpiffe, "SPIFFE://prod/ns/auth"),
              HasSubstr("must start with"));
  EXPECT_THAT(PatternError(IdentityKind::kSpiffe, "spiffe://prod"), HasSubstr("has no path"));
  EXPECT_THAT(PatternError(IdentityKind::kSpiffe, "spiffe://prod/ns/../admin"),
              HasSubstr("\"..\" path segment"));
  EXPECT_THAT(PatternError(IdentityKind::kSpiffe, "spiffe://prod/**"), HasSubstr("**"));
}

TEST(IdentityPattern, DnsPatternMustBeADnsName) {
  EXPECT_THAT(PatternError(IdentityKind::kDns, "spiffe://prod/ns/signet/sa/admin"),
              HasSubstr("is not a DNS name"));
  EXPECT_THAT(PatternError(IdentityKind::kDns, "gateway/admin"), HasSubstr("is not a DNS name"));
  EXPECT_THAT(PatternError(IdentityKind::kDns, "gateway..example.com"), HasSubstr("empty label"));
  EXPECT_THAT(PatternError(IdentityKind::kDns, "-gateway.example.com"),
              HasSubstr("starting or ending with '-'"));
  EXPECT_THAT(PatternError(IdentityKind::kDns, ""), HasSubstr("is empty"));
}

TEST(IdentityPattern, CommonNameIsAnyTextWithoutControlCharacters) {
  EXPECT_EQ(Pattern(IdentityKind::kCommonName, "Legacy Batch Job").ToString(),
            "cn:Legacy Batch Job");
  EXPECT_THAT(PatternError(IdentityKind::kCommonName, "a\nb"), HasSubstr("control character"));
  EXPECT_THAT(PatternError(IdentityKind::kCommonName, ""), HasSubstr("is empty"));
}

// --- parsing ---

constexpr char kPolicy[] = R"({
  "callers": [
    {"spiffe_id": "spiffe://prod/ns/auth/sa/login", "roles": ["issuer"]},
    {"spiffe_id": "spiffe://prod/ns/shop/*", "roles": ["issuer", "validator"],
     "subjects": ["user:*", "guest"], "audiences": ["shop", "payments"], "max_ttl": "15m",
     "description": "shop services mint short tokens for themselves"},
    {"spiffe_id": "spiffe://prod/ns/ops/sa/oncall", "roles": ["admin"]},
    {"spiffe_id": "spiffe://prod/ns/api/*", "roles": ["validator"]},
    {"dns_name": "gateway.prod.example.com", "roles": ["validator"]}
  ]
})";

TEST(PolicyFile, ValidFileGivesOneRulePerCaller) {
  Policy policy = MustParse(kPolicy);
  ASSERT_EQ(policy.rules().size(), 5u);
  const PolicyRule& shop = policy.rules()[1];
  EXPECT_EQ(shop.identity.ToString(), "spiffe:spiffe://prod/ns/shop/*");
  EXPECT_EQ(shop.roles.ToString(), "issuer, validator");
  ASSERT_EQ(shop.subjects.size(), 2u);
  EXPECT_EQ(shop.subjects[0].text(), "user:*");
  EXPECT_EQ(shop.audiences, (std::vector<std::string>{"shop", "payments"}));
  EXPECT_EQ(shop.max_ttl, absl::Minutes(15));
  EXPECT_FALSE(policy.rules()[0].limited());
  EXPECT_EQ(policy.rules()[4].identity.ToString(), "dns:gateway.prod.example.com");
}

TEST(PolicyFile, EmptyCallerListIsValidAndGrantsNothing) {
  Policy policy = MustParse(R"({"callers": []})");
  EXPECT_TRUE(policy.RolesOf(Cn("anyone")).empty());
}

TEST(PolicyFile, UnknownTopLevelFieldIsAnErrorNamingIt) {
  EXPECT_EQ(ParseError(R"({"callers": [], "colour": "red"})"),
            "policy file p.json: colour: unknown field (known: callers)");
}

TEST(PolicyFile, UnknownEntryFieldIsAnErrorNamingItsPath) {
  EXPECT_EQ(ParseError(R"({"callers": [{"common_name": "a", "roles": ["admin"]},
                                        {"common_name": "b", "role": ["admin"]}]})"),
            "policy file p.json: callers[1].role: unknown field (known: spiffe_id, dns_name, "
            "common_name, any, roles, subjects, audiences, max_ttl, description)");
}

TEST(PolicyFile, UntypedIdentityFieldIsRefusedWithHowToWriteItNow) {
  EXPECT_EQ(ParseError(R"({"callers": [{"identity": "spiffe://prod/ns/x", "roles": ["admin"]}]})"),
            "policy file p.json: callers[0].identity: the untyped \"identity\" field is no longer "
            "accepted (a CN or DNS name could pass for a SPIFFE ID); write \"spiffe_id\": "
            "\"spiffe://prod/ns/x\"");
  EXPECT_THAT(ParseError(R"({"callers": [{"identity": "*", "roles": ["validator"]}]})"),
              HasSubstr("write \"any\": true"));
  EXPECT_THAT(
      ParseError(R"({"callers": [{"identity": "gw.example.com", "roles": ["validator"]}]})"),
      HasSubstr("write \"dns_name\": \"gw.example.com\" if the certificate names it in a "
                "DNS SAN, or \"common_name\": \"gw.example.com\" if in its subject CN"));
  EXPECT_THAT(ParseError(R"({"callers": [{"identity": "Batch Job", "roles": ["validator"]}]})"),
              HasSubstr("write \"common_name\": \"Batch Job\""));
}

TEST(PolicyFile, EntryMustNameItsCallerWithExactlyOneKind) {
  EXPECT_EQ(ParseError(R"({"callers": [{"roles": ["admin"]}]})"),
            "policy file p.json: callers[0]: name the caller with exactly one of \"spiffe_id\", "
            "\"dns_name\", \"common_name\" or \"any\": true");
  EXPECT_THAT(ParseError(R"({"callers": [{"spiffe_id": "spiffe://p/a", "common_name": "a",
                                          "roles": ["admin"]}]})"),
              HasSubstr("callers[0].common_name: name the caller with exactly one of"));
  EXPECT_THAT(ParseError(R"({"callers": [{"dns_name": "a.b", "any": true, "roles": ["admin"]}]})"),
              HasSubstr("callers[0].any: name the caller with exactly one of"));
  EXPECT_THAT(ParseError(R"({"callers": [{"any": false, "roles": ["validator"]}]})"),
              HasSubstr("callers[0].any: must be true"));
}

TEST(PolicyFile, PatternThatCouldSpanTrustDomainsIsRefusedAtLoad) {
  EXPECT_THAT(ParseError(R"({"callers": [{"spiffe_id": "*/ns/signet/sa/admin",
                                          "roles": ["admin"]}]})"),
              HasSubstr("policy file p.json: callers[0].spiffe_id: spiffe \"*/ns/signet/sa/admin\" "
                        "must start with \"spiffe://\" and a literal trust domain"));
  EXPECT_THAT(ParseError(R"({"callers": [{"spiffe_id": "spiffe://*/x", "roles": ["admin"]}]})"),
              HasSubstr("callers[0].spiffe_id: spiffe \"spiffe://*/x\" has '*' in its trust "
                        "domain"));
}

TEST(PolicyFile, DnsNameHoldingASpiffeIdIsRefused) {
  EXPECT_THAT(ParseError(R"({"callers": [{"dns_name": "spiffe://prod/ns/ops/sa/oncall",
                                          "roles": ["admin"]}]})"),
              HasSubstr("callers[0].dns_name: dns \"spiffe://prod/ns/ops/sa/oncall\" is not a DNS "
                        "name"));
}

TEST(PolicyFile, UnknownRoleIsAnErrorNamingItsPath) {
  EXPECT_EQ(ParseError(R"({"callers": [{"common_name": "a", "roles": ["validator", "issuers"]}]})"),
            "policy file p.json: callers[0].roles[1]: unknown role \"issuers\" (known: issuer, "
            "validator, admin)");
}

TEST(PolicyFile, AudienceAndSubjectLimitsMustNameAtLeastOne) {
  EXPECT_THAT(
      ParseError(R"({"callers": [{"common_name": "a", "roles": ["issuer"], "audiences": []}]})"),
      HasSubstr("callers[0].audiences: must name at least one audience"));
  EXPECT_THAT(
      ParseError(R"({"callers": [{"common_name": "a", "roles": ["issuer"], "subjects": []}]})"),
      HasSubstr("callers[0].subjects: must name at least one subject"));
  EXPECT_THAT(ParseError(R"({"callers": [{"common_name": "a", "roles": ["issuer"],
                                          "subjects": ["user:**"]}]})"),
              HasSubstr("callers[0].subjects[0]: \"user:**\" is a bad glob"));
  EXPECT_THAT(ParseError(R"({"callers": [{"common_name": "a", "roles": ["issuer"],
                                          "subjects": [""]}]})"),
              HasSubstr("callers[0].subjects[0]: must not be empty"));
}

TEST(PolicyFile, LimitsOnACallerThatCannotIssueAreAnError) {
  EXPECT_THAT(
      ParseError(R"({"callers": [{"common_name": "a", "roles": ["validator"], "max_ttl": "5m"}]})"),
      HasSubstr("callers[0].max_ttl: limits issuing, but roles grant neither issuer nor admin"));
  EXPECT_THAT(ParseError(R"({"callers": [{"common_name": "a", "roles": ["validator"],
                                          "subjects": ["user:*"]}]})"),
              HasSubstr("callers[0].subjects: limits issuing"));
}

TEST(PolicyFile, MaxTtlMustBeAPositiveDuration) {
  EXPECT_THAT(
      ParseError(R"({"callers": [{"common_name": "a", "roles": ["issuer"], "max_ttl": "soon"}]})"),
      HasSubstr("callers[0].max_ttl: \"soon\" is not a duration"));
  EXPECT_THAT(
      ParseError(R"({"callers": [{"common_name": "a", "roles": ["issuer"], "max_ttl": "-5m"}]})"),
      HasSubstr("must be positive"));
  EXPECT_THAT(
      ParseError(R"({"callers": [{"common_name": "a", "roles": ["issuer"], "max_ttl": 900}]})"),
      HasSubstr("callers[0].max_ttl: must be a string, not a number"));
}

TEST(PolicyFile, MissingOrEmptyRolesAreAnError) {
  EXPECT_THAT(ParseError(R"({"callers": [{"common_name": "a"}]})"),
              HasSubstr("callers[0].roles: is required"));
  EXPECT_THAT(ParseError(R"({"callers": [{"common_name": "a", "roles": []}]})"),
              HasSubstr("callers[0].roles: must be a non-empty array"));
}

TEST(PolicyFile, FieldNamedTwiceIsAnError) {
  EXPECT_THAT(ParseError(R"({"callers": [{"common_name": "a", "roles": ["issuer"],
                                          "common_name": "b"}]})"),
              HasSubstr("callers[0].common_name: appears twice"));
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
  Caller login{Spiffe("spiffe://prod/ns/auth/sa/login")};
  EXPECT_TRUE(policy.CheckRpc(login, Rpc::kIssueToken).ok());
  absl::Status s = policy.CheckRpc(login, Rpc::kRevokeKey);
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(s.message(),
            "caller \"spiffe:spiffe://prod/ns/auth/sa/login\" has role issuer; RevokeKey needs "
            "role admin");
  EXPECT_EQ(policy.CheckRpc(login, Rpc::kValidateToken).message(),
            "caller \"spiffe:spiffe://prod/ns/auth/sa/login\" has role issuer; ValidateToken "
            "needs role validator");
}

TEST(Policy, AdminMayCallEveryRpc) {
  Policy policy = MustParse(kPolicy);
  Caller oncall{Spiffe("spiffe://prod/ns/ops/sa/oncall")};
  for (Rpc rpc :
       {Rpc::kIssueToken, Rpc::kValidateToken, Rpc::kRevokeKey, Rpc::kRotateKey, Rpc::kListKeys,
        Rpc::kGetJwks, Rpc::kWatchKeys, Rpc::kRevokeToken, Rpc::kRevokeSubject}) {
    EXPECT_TRUE(policy.CheckRpc(oncall, rpc).ok()) << RpcName(rpc);
  }
}

TEST(Policy, CommonNameSpellingTheAdminsSpiffeIdGetsNoRole) {
  Policy policy = MustParse(kPolicy);
  absl::Status s = policy.CheckRpc(Caller{Cn("spiffe://prod/ns/ops/sa/oncall")}, Rpc::kRevokeKey);
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(s.message(),
            "caller \"cn:spiffe://prod/ns/ops/sa/oncall\" has no role in the policy; RevokeKey "
            "needs role admin");
}

TEST(Policy, ValidatorMayValidateFetchKeysAndWatchOnly) {
  Policy policy = MustParse(kPolicy);
  Caller api{Spiffe("spiffe://prod/ns/api/sa/frontend")};
  EXPECT_TRUE(policy.CheckRpc(api, Rpc::kValidateToken).ok());
  EXPECT_TRUE(policy.CheckRpc(api, Rpc::kGetJwks).ok());
  EXPECT_TRUE(policy.CheckRpc(api, Rpc::kWatchKeys).ok());
  EXPECT_EQ(policy.CheckRpc(api, Rpc::kListKeys).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(policy.CheckRpc(api, Rpc::kIssueToken).code(), absl::StatusCode::kPermissionDenied);
}

TEST(Policy, UnknownCallerIsDeniedWithTheRoleTheRpcNeeds) {
  Policy policy = MustParse(kPolicy);
  absl::Status s =
      policy.CheckRpc(Caller{Spiffe("spiffe://prod/ns/evil/sa/x")}, Rpc::kRevokeSubject);
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(s.message(),
            "caller \"spiffe:spiffe://prod/ns/evil/sa/x\" has no role in the policy; "
            "RevokeSubject needs role admin");
}

TEST(Policy, CallerWithoutIdentityIsUnauthenticatedUnlessAnAnyEntryAdmitsIt) {
  Policy strict = MustParse(kPolicy);
  absl::Status s = strict.CheckRpc(Caller{}, Rpc::kValidateToken);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(s.message(), HasSubstr("ValidateToken needs role validator"));

  Policy open = MustParse(R"({"callers": [{"any": true, "roles": ["validator"]}]})");
  EXPECT_TRUE(open.CheckRpc(Caller{}, Rpc::kValidateToken).ok());
  s = open.CheckRpc(Caller{}, Rpc::kIssueToken);
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(s.message(), "unauthenticated caller has role validator; IssueToken needs role issuer");
}

TEST(Policy, RolesOfEveryMatchingEntryAddUp) {
  Policy policy = MustParse(R"({"callers": [
    {"spiffe_id": "spiffe://prod/*", "roles": ["validator"]},
    {"spiffe_id": "spiffe://prod/ns/auth/sa/login", "roles": ["issuer"]}]})");
  EXPECT_EQ(policy.RolesOf(Spiffe("spiffe://prod/ns/auth/sa/login")).ToString(),
            "issuer, validator");
  EXPECT_EQ(policy.RolesOf(Spiffe("spiffe://prod/ns/api/sa/x")).ToString(), "validator");
  EXPECT_EQ(policy.RolesOf(Spiffe("spiffe://staging/ns/api/sa/x")).ToString(), "none");
  EXPECT_EQ(policy.RolesOf(Dns("prod")).ToString(), "none");
}

TEST(Policy, LimitedIssuerMayAskWithinItsSubjectsAudiencesAndTtl) {
  Policy policy = MustParse(kPolicy);
  Caller shop{Spiffe("spiffe://prod/ns/shop/sa/checkout")};
  EXPECT_TRUE(policy.CheckIssue(shop, Request({"shop"}, absl::Minutes(15))).ok());
  EXPECT_TRUE(policy.CheckIssue(shop, Request({"shop", "payments"}, absl::Minutes(1))).ok());
  EXPECT_TRUE(policy.CheckIssue(shop, Request({"shop"}, absl::Minutes(1), "guest")).ok());
}

TEST(Policy, LimitedIssuerAskingForAnotherSubjectIsToldWhichRuleRefusedIt) {
  Policy policy = MustParse(kPolicy);
  Caller shop{Spiffe("spiffe://prod/ns/shop/sa/checkout")};
  absl::Status s = policy.CheckIssue(shop, Request({"shop"}, absl::Minutes(5), "admin"));
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(s.message(),
            "subject \"admin\" is not allowed for caller "
            "\"spiffe:spiffe://prod/ns/shop/sa/checkout\" (allowed: user:*, guest)");
  // "guest" is exact: no prefix or suffix passes.
  EXPECT_FALSE(policy.CheckIssue(shop, Request({"shop"}, absl::Minutes(5), "guests")).ok());
}

TEST(Policy, RefusedSubjectIsEchoedOnlyInPart) {
  Policy policy = MustParse(kPolicy);
  const std::string huge = "admin" + std::string(250, 'x');
  absl::Status s = policy.CheckIssue(Caller{Spiffe("spiffe://prod/ns/shop/sa/checkout")},
                                     Request({"shop"}, absl::Minutes(5), huge));
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(s.message(),
              HasSubstr("subject \"admin" + std::string(59, 'x') + "...\" (255 bytes)"));
  EXPECT_THAT(s.message(), Not(HasSubstr(std::string(60, 'x'))));
}

TEST(Policy, LimitedIssuerAskingForAnotherAudienceIsToldWhichOne) {
  Policy policy = MustParse(kPolicy);
  absl::Status s = policy.CheckIssue(Caller{Spiffe("spiffe://prod/ns/shop/sa/checkout")},
                                     Request({"shop", "admin-console"}, absl::Minutes(5)));
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(s.message(),
            "audience \"admin-console\" is not allowed for caller "
            "\"spiffe:spiffe://prod/ns/shop/sa/checkout\" (allowed: shop, payments)");
}

TEST(Policy, LimitedIssuerMustNameAnAudience) {
  Policy policy = MustParse(kPolicy);
  absl::Status s = policy.CheckIssue(Caller{Spiffe("spiffe://prod/ns/shop/sa/checkout")},
                                     Request({}, absl::Minutes(5)));
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(s.message(), HasSubstr("may only issue tokens for audiences [shop, payments]: name "
                                     "at least one"));
}

TEST(Policy, LimitedIssuerAskingForALongerTtlIsRefused) {
  Policy policy = MustParse(kPolicy);
  absl::Status s = policy.CheckIssue(Caller{Spiffe("spiffe://prod/ns/shop/sa/checkout")},
                                     Request({"shop"}, absl::Minutes(16)));
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(s.message(),
            "ttl 16m exceeds the 15m that caller \"spiffe:spiffe://prod/ns/shop/sa/checkout\" may "
            "ask for");
}

TEST(Policy, UnlimitedIssuerEntryLiftsTheLimitsOfAnotherMatchingEntry) {
  Policy policy = MustParse(R"({"callers": [
    {"spiffe_id": "spiffe://prod/ns/shop/sa/checkout", "roles": ["issuer"], "audiences": ["shop"]},
    {"spiffe_id": "spiffe://prod/ns/shop/*", "roles": ["issuer"]}]})");
  EXPECT_TRUE(policy
                  .CheckIssue(Caller{Spiffe("spiffe://prod/ns/shop/sa/checkout")},
                              Request({"anything"}, absl::Hours(2), "admin"))
                  .ok());
}

TEST(Policy, AdminIsUnlimitedUnlessItsEntrySaysOtherwise) {
  Policy policy = MustParse(R"({"callers": [
    {"common_name": "root", "roles": ["admin"]},
    {"common_name": "ops", "roles": ["admin"], "max_ttl": "1h", "subjects": ["ops-test:*"]}]})");
  EXPECT_TRUE(policy.CheckIssue(Caller{Cn("root")}, Request({}, absl::Hours(24), "admin")).ok());
  EXPECT_EQ(policy.CheckIssue(Caller{Cn("ops")}, Request({}, absl::Hours(2), "ops-test:1")).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(policy.CheckIssue(Caller{Cn("ops")}, Request({}, absl::Minutes(5), "admin")).code(),
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
  Caller newcomer{Spiffe("spiffe://prod/ns/new/sa/x")};
  EXPECT_EQ(authz_->Authorize(newcomer, Rpc::kListKeys).code(),
            absl::StatusCode::kPermissionDenied);
  testing::WriteFile(path_, R"({"callers": [{"spiffe_id": "spiffe://prod/ns/new/*",
                                             "roles": ["admin"]}]})");
  absl::StatusOr<bool> reloaded = authz_->ReloadIfChanged();
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  EXPECT_TRUE(*reloaded);
  EXPECT_TRUE(authz_->Authorize(newcomer, Rpc::kListKeys).ok());
  // The old grants are gone with the old file.
  EXPECT_EQ(
      authz_->Authorize(Caller{Spiffe("spiffe://prod/ns/auth/sa/login")}, Rpc::kIssueToken).code(),
      absl::StatusCode::kPermissionDenied);
}

TEST_F(PolicyAuthorizerTest, BrokenNewFileKeepsThePolicyInForce) {
  std::shared_ptr<const Policy> before = authz_->current();
  testing::WriteFile(path_, R"({"callers": [{"common_name": "x", "roles": ["root"]}]})");
  absl::StatusOr<bool> reloaded = authz_->ReloadIfChanged();
  ASSERT_FALSE(reloaded.ok());
  EXPECT_THAT(reloaded.status().message(), HasSubstr("callers[0].roles[0]: unknown role"));
  EXPECT_EQ(authz_->current(), before);
  EXPECT_TRUE(
      authz_->Authorize(Caller{Spiffe("spiffe://prod/ns/auth/sa/login")}, Rpc::kIssueToken).ok());
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
  testing::WriteFile(path, R"({"callers": [{"common_name": "x", "roles": "admin"}]})");
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

std::optional<PeerIdentity> Choose(const FakeAuthContext& auth,
                                   const std::set<std::string>& named = {}) {
  return ChooseIdentity(ReadPeerNames(auth),
                        [&](absl::string_view dns) { return named.count(std::string(dns)) > 0; });
}

TEST(PeerIdentity, SpiffeIdComesFirst) {
  FakeAuthContext auth(true, {{"peer_uri", "https://example.com/x"},
                              {"peer_uri", "spiffe://prod/ns/auth/sa/login"},
                              {"peer_dns", "login.auth.svc"},
                              {"x509_common_name", "login"}});
  EXPECT_EQ(Choose(auth), Spiffe("spiffe://prod/ns/auth/sa/login"));
}

TEST(PeerIdentity, FirstDnsNameComesWithoutSpiffeId) {
  FakeAuthContext auth(true, {{"peer_uri", "https://example.com/x"},
                              {"peer_dns", "Login.Auth.svc"},
                              {"peer_dns", "login"},
                              {"x509_common_name", "cn-login"}});
  EXPECT_EQ(Choose(auth), Dns("login.auth.svc"));
}

TEST(PeerIdentity, AmongSeveralDnsNamesTheFirstThePolicyNamesIsTheIdentity) {
  FakeAuthContext auth(true, {{"peer_dns", "gateway"},
                              {"peer_dns", "gateway.edge.svc"},
                              {"peer_dns", "gateway.example.com"}});
  EXPECT_EQ(Choose(auth, {"gateway.example.com", "gateway.edge.svc"}), Dns("gateway.edge.svc"));
  Policy policy = MustParse(R"({"callers": [
    {"any": true, "roles": ["validator"]},
    {"dns_name": "*.example.com", "roles": ["issuer"]}]})");
  EXPECT_EQ(policy.Identify(ReadPeerNames(auth)).Name(), "dns:gateway.example.com");
}

TEST(PeerIdentity, DnsSanThatIsNoDnsNameIdentifiesNobody) {
  FakeAuthContext auth(true, {{"peer_dns", "spiffe://prod/ns/ops/sa/oncall"},
                              {"peer_dns", "*.example.com"},
                              {"x509_common_name", "batch"}});
  EXPECT_THAT(ReadPeerNames(auth).dns_names, ::testing::IsEmpty());
  EXPECT_EQ(Choose(auth), Cn("batch"));
}

TEST(PeerIdentity, CommonNameComesLast) {
  FakeAuthContext auth(true, {{"x509_common_name", "batch-job"}});
  EXPECT_EQ(Choose(auth), Cn("batch-job"));
}

TEST(PeerIdentity, SeveralSpiffeIdsIdentifyNobody) {
  FakeAuthContext auth(true, {{"peer_uri", "spiffe://prod/a"},
                              {"peer_uri", "spiffe://prod/b"},
                              {"x509_common_name", "ambiguous"}});
  EXPECT_EQ(Choose(auth), std::nullopt);
}

TEST(PeerIdentity, InvalidSpiffeIdIdentifiesNobody) {
  for (const char* uri : {"SPIFFE://prod/ns/ops/sa/oncall", "spiffe://prod/ns/../ops",
                          "spiffe://Prod/ns/ops", "spiffe://prod/ns/ops/"}) {
    FakeAuthContext auth(true, {{"peer_uri", uri}, {"peer_dns", "ok.example.com"}});
    EXPECT_EQ(Choose(auth), std::nullopt) << uri;
  }
}

TEST(PeerIdentity, UnauthenticatedPeerHasNoIdentity) {
  FakeAuthContext auth(false, {{"x509_common_name", "not-verified"}});
  EXPECT_EQ(Choose(auth), std::nullopt);
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
  AuditEvent event("revoke_subject", Caller{Spiffe("spiffe://prod/ns/ops/sa/oncall")},
                   "ipv4:1.2.3.4:5");
  event.Str("sub", token).Strs("aud", {"shop", token}).Str("reason", "compromised");
  std::string json = event.Json();
  EXPECT_THAT(json, Not(HasSubstr(token)));
  EXPECT_THAT(json, HasSubstr(R"("sub":"[redacted]")"));
  EXPECT_THAT(json, HasSubstr(R"("aud":["shop","[redacted]"])"));
  EXPECT_THAT(json, HasSubstr(R"("caller":"spiffe:spiffe://prod/ns/ops/sa/oncall")"));
  EXPECT_THAT(json, HasSubstr(R"("reason":"compromised")"));
}

}  // namespace
}  // namespace signet::server
