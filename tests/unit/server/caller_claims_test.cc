#include "server/caller_claims.h"

#include <string>

#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "signet/key_set.h"
#include "signet/token_verifier.h"
#include "tests/unit/token/signing/sample_claims.h"
#include "token/signing/signing_key.h"
#include "token/signing/token_signer.h"

namespace signet::server {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

// A verified token carrying `caller_claims_json`.
VerifiedToken Verified(const std::string& caller_claims_json) {
  static const std::unique_ptr<SigningKey> key = *SigningKey::Generate(Algorithm::kHS256);
  TokenClaims claims = testing::SampleClaims(kNow);
  claims.caller_claims_json = caller_claims_json;
  absl::StatusOr<std::string> token = SignToken(*key, claims);
  EXPECT_TRUE(token.ok()) << token.status();
  ValidationPolicy policy;
  policy.issuer = "signet";
  VerifyResult r = TokenVerifier::Create(policy)->Verify(
      *token, KeySet::Builder().Add(key->verify_key()).Build(), nullptr, kNow, Audience::Any());
  EXPECT_EQ(r.reason, Reason::kValid);
  return *r.token;
}

TEST(CallerClaimsToStruct, GivesWhatProtobufsJsonParserGivesForEveryKindOfValue) {
  for (const std::string& claims : {
           std::string(R"({"role":"admin"})"),
           std::string(
               R"({"role":"admin","tenant":"acme","n":7,"f":-1.5,"big":1152921504606846976})"),
           std::string(R"({"t":true,"f":false,"z":null,"e":"","u":"\u00e9t\u00e9 \ud83d\ude00"})"),
           std::string(R"({"esc":"a\"b\\c\n\t\u0001","arr":[1,"two",[3,[4]],{"k":null}]})"),
           std::string(R"({"o":{"p":{"q":{"r":[{"s":1e300},{"t":-0.0}]}}},"empty":{},"none":[]})"),
       }) {
    const VerifiedToken token = Verified(claims);
    ASSERT_TRUE(token.has_caller_claims());
    google::protobuf::Struct expected;
    ASSERT_TRUE(
        google::protobuf::util::JsonStringToMessage(token.CallerClaimsJson(), &expected, {}).ok());
    google::protobuf::Struct got;
    CallerClaimsToStruct(token, &got);
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(got, expected))
        << claims << "\ngot:      " << got.ShortDebugString()
        << "\nexpected: " << expected.ShortDebugString();
  }
}

TEST(CallerClaimsToStruct, LeavesRegisteredClaimsOut) {
  google::protobuf::Struct got;
  CallerClaimsToStruct(Verified(R"({"role":"admin"})"), &got);
  ASSERT_EQ(got.fields_size(), 1);
  EXPECT_EQ(got.fields().at("role").string_value(), "admin");
}

}  // namespace
}  // namespace signet::server
