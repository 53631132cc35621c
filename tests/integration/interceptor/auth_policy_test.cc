// AuthPolicy: method keys, lookups, and construction errors.
#include "signet/auth_policy.h"

#include <memory>
#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "signet/auth_failure.h"
#include "tests/integration/interceptor/fake_validator.h"

namespace signet {
namespace {

using ::testing::HasSubstr;

AuthOptions Options() {
  AuthOptions options;
  options.validator = std::make_shared<testing::FakeValidator>();
  options.audience = "svc";
  return options;
}

TEST(AuthPolicy, AnExactMethodWinsOverItsServicePrefix) {
  AuthOptions options = Options();
  options.default_requirement = Requirement::kRequired;
  options.methods["/pkg.Svc/"] = Requirement::kOptional;
  options.methods["/pkg.Svc/Secret"] = Requirement::kRequired;
  absl::StatusOr<std::shared_ptr<const AuthPolicy>> policy = AuthPolicy::Create(options);
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_EQ((*policy)->RequirementFor("/pkg.Svc/Secret"), Requirement::kRequired);
  EXPECT_EQ((*policy)->RequirementFor("/pkg.Svc/Public"), Requirement::kOptional);
}

TEST(AuthPolicy, UnlistedMethodsGetTheDefault) {
  AuthOptions options = Options();
  options.default_requirement = Requirement::kOptional;
  options.methods["/pkg.Svc/Secret"] = Requirement::kRequired;
  auto policy = AuthPolicy::Create(options);
  ASSERT_TRUE(policy.ok());
  EXPECT_EQ((*policy)->RequirementFor("/pkg.Other/Secret"), Requirement::kOptional);
  EXPECT_EQ((*policy)->RequirementFor("/pkg.Svc/Secre"), Requirement::kOptional);
  EXPECT_EQ((*policy)->RequirementFor(""), Requirement::kOptional);
  EXPECT_EQ((*policy)->RequirementFor("garbage"), Requirement::kOptional);
}

TEST(AuthPolicy, TheDefaultRequirementIsRequired) {
  auto policy = AuthPolicy::Create(Options());
  ASSERT_TRUE(policy.ok());
  EXPECT_EQ((*policy)->RequirementFor("/pkg.Svc/Anything"), Requirement::kRequired);
}

TEST(AuthPolicy, AServicePrefixDoesNotMatchAServiceWhoseNameItStarts) {
  AuthOptions options = Options();
  options.methods["/pkg.Svc/"] = Requirement::kOptional;
  auto policy = AuthPolicy::Create(options);
  ASSERT_TRUE(policy.ok());
  EXPECT_EQ((*policy)->RequirementFor("/pkg.SvcAdmin/Drop"), Requirement::kRequired);
}

TEST(AuthPolicy, KeepsTheAudience) {
  AuthOptions options = Options();
  options.audience = "orders";
  auto policy = AuthPolicy::Create(options);
  ASSERT_TRUE(policy.ok());
  EXPECT_FALSE((*policy)->audience().any());
  EXPECT_EQ((*policy)->audience().name(), "orders");
}

TEST(AuthPolicy, RefusesToGuessWhenNoAudienceIsChosen) {
  // Without this, a service that forgot its audience would accept tokens minted for any other.
  AuthOptions options = Options();
  options.audience = "";
  absl::StatusOr<std::shared_ptr<const AuthPolicy>> policy = AuthPolicy::Create(options);
  EXPECT_EQ(policy.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(policy.status().message(), HasSubstr("any_audience"));
  options.any_audience = true;
  policy = AuthPolicy::Create(options);
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_TRUE((*policy)->audience().any());
}

TEST(AuthPolicy, RefusesAnAudienceTogetherWithAnyAudience) {
  AuthOptions options = Options();
  options.any_audience = true;
  absl::StatusOr<std::shared_ptr<const AuthPolicy>> policy = AuthPolicy::Create(options);
  EXPECT_EQ(policy.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(policy.status().message(), HasSubstr("not both"));
}

TEST(AuthPolicy, RefusesAMissingValidator) {
  AuthOptions options;
  absl::StatusOr<std::shared_ptr<const AuthPolicy>> policy = AuthPolicy::Create(options);
  EXPECT_EQ(policy.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(policy.status().message(), HasSubstr("validator"));
}

TEST(AuthPolicy, RefusesMethodKeysThatAreNeitherServiceNorMethod) {
  for (const char* bad : {"", "/", "//", "pkg.Svc/Method", "/pkg.Svc", "/pkg.Svc/Method/",
                          "/pkg.Svc/Method/Extra", "//Method"}) {
    AuthOptions options = Options();
    options.methods[bad] = Requirement::kOptional;
    EXPECT_EQ(AuthPolicy::Create(options).status().code(), absl::StatusCode::kInvalidArgument)
        << "key: \"" << bad << "\"";
  }
}

TEST(AuthPolicy, RequirementsHaveNames) {
  EXPECT_EQ(RequirementName(Requirement::kOptional), "OPTIONAL");
  EXPECT_EQ(RequirementName(Requirement::kRequired), "REQUIRED");
}

TEST(AuthFailure, MessagesSayWhyWithoutTheToken) {
  EXPECT_EQ(AuthFailureMessage(AuthFailure::kMissingToken), "missing bearer token");
  EXPECT_EQ(AuthFailureMessage(AuthFailure::kInvalidToken, Reason::kExpired), "token expired");
  EXPECT_EQ(AuthFailureMessage(AuthFailure::kInvalidToken, Reason::kKeyRevoked),
            "token signing key revoked");
  EXPECT_EQ(AuthFailureMessage(AuthFailure::kValidatorUnavailable),
            "cannot validate tokens right now");
  EXPECT_EQ(AuthFailureMessage(AuthFailure::kNone), "");
  EXPECT_EQ(AuthFailureName(AuthFailure::kDuplicateHeader), "DUPLICATE_HEADER");
}

TEST(AuthFailure, EveryTokenReasonHasItsOwnMessage) {
  std::set<std::string_view> seen;
  for (int r = 1; r < kReasonCount; ++r) {
    std::string_view m = AuthFailureMessage(AuthFailure::kInvalidToken, static_cast<Reason>(r));
    EXPECT_TRUE(seen.insert(m).second) << "duplicate message: " << m;
  }
}

}  // namespace
}  // namespace signet
