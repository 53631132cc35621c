#include "token/signing/token_signer.h"

#include <rapidjson/document.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "signet/algorithm.h"
#include "signet/base64url.h"
#include "signet/key_set.h"
#include "signet/token_verifier.h"
#include "signet/validation_policy.h"
#include "signet/verified_token.h"
#include "tests/unit/token/signing/rfc8037.h"
#include "tests/unit/token/signing/sample_claims.h"
#include "token/signing/signing_key.h"

namespace signet::server {
namespace {

using ::signet::server::rfc8037::FromB64;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const absl::Time kIssuedAt = absl::FromUnixSeconds(1700000000);

std::unique_ptr<SigningKey> Rfc8037Key() {
  absl::StatusOr<std::unique_ptr<SigningKey>> key =
      SigningKey::FromPrivateBytes(Algorithm::kEdDSA, rfc8037::kKid, FromB64(rfc8037::kSeedB64));
  EXPECT_TRUE(key.ok()) << key.status();
  return key.ok() ? *std::move(key) : nullptr;
}

TokenClaims Claims() { return testing::SampleClaims(kIssuedAt); }

struct DecodedToken {
  std::string header;
  std::string payload;
  std::string signature;
};

DecodedToken Decode(std::string_view token) {
  std::vector<std::string> parts =
      absl::StrSplit(absl::string_view(token.data(), token.size()), '.');
  EXPECT_EQ(parts.size(), 3u);
  if (parts.size() != 3) return {};
  return {FromB64(parts[0]), FromB64(parts[1]), FromB64(parts[2])};
}

// Signs `claims` with the RFC 8037 key; the decoded token, or all-empty on failure.
DecodedToken SignAndDecode(const TokenClaims& claims) {
  std::unique_ptr<SigningKey> key = Rfc8037Key();
  if (key == nullptr) return {};
  absl::StatusOr<std::string> token = SignToken(*key, claims);
  EXPECT_TRUE(token.ok()) << token.status();
  return token.ok() ? Decode(*token) : DecodedToken{};
}

VerifyResult SignAndVerify(const TokenClaims& claims, std::string_view audience = "orders") {
  std::unique_ptr<SigningKey> key = Rfc8037Key();
  if (key == nullptr) return {};
  absl::StatusOr<std::string> token = SignToken(*key, claims);
  EXPECT_TRUE(token.ok()) << token.status();
  if (!token.ok()) return {};
  ValidationPolicy policy;
  policy.issuer = "signet";
  absl::StatusOr<TokenVerifier> verifier = TokenVerifier::Create(policy);
  EXPECT_TRUE(verifier.ok()) << verifier.status();
  KeySet keys = KeySet::Builder().Add(key->verify_key()).Build();
  return verifier->Verify(*token, keys, nullptr, kIssuedAt + absl::Minutes(1),
                          audience.empty() ? Audience::Any() : Audience::Expect(audience));
}

absl::Status SignStatus(std::string caller_claims_json) {
  std::unique_ptr<SigningKey> key = Rfc8037Key();
  if (key == nullptr) return absl::InternalError("no key");
  TokenClaims claims = Claims();
  claims.caller_claims_json = std::move(caller_claims_json);
  return SignToken(*key, claims).status();
}

bool SameJson(std::string_view a, std::string_view b) {
  rapidjson::Document da;
  rapidjson::Document db;
  da.Parse(a.data(), a.size());
  db.Parse(b.data(), b.size());
  return !da.HasParseError() && !db.HasParseError() && da == db;
}

TEST(SignToken, HeaderNamesAlgorithmKidAndType) {
  DecodedToken t = SignAndDecode(Claims());
  EXPECT_EQ(t.header, R"({"alg":"EdDSA","kid":"kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k",)"
                      R"("typ":"JWT"})");
}

TEST(SignToken, PayloadHasRegisteredClaimsInOrderThenCallerClaims) {
  DecodedToken t = SignAndDecode(Claims());
  EXPECT_EQ(t.payload,
            R"({"iss":"signet","sub":"42","aud":"orders","iat":1700000000,"nbf":1700000000,)"
            R"("exp":1700003600,"jti":"AAECAwQFBgcICQoLDA0ODw",)"
            R"("backend":"django.contrib.auth.backends.ModelBackend","role":"admin"})");
}

TEST(SignToken, SignatureIsTheKeysSignatureOfHeaderDotPayload) {
  std::unique_ptr<SigningKey> key = Rfc8037Key();
  ASSERT_NE(key, nullptr);
  absl::StatusOr<std::string> token = SignToken(*key, Claims());
  ASSERT_TRUE(token.ok()) << token.status();
  const size_t last_dot = token->rfind('.');
  absl::StatusOr<std::string> sig = key->Sign(std::string_view(*token).substr(0, last_dot));
  ASSERT_TRUE(sig.ok());
  EXPECT_EQ(token->substr(last_dot + 1), Base64UrlEncode(*sig));
}

TEST(SignToken, TimesAreWholeSecondsFloored) {
  TokenClaims claims = Claims();
  claims.issued_at = kIssuedAt + absl::Milliseconds(999);
  claims.expires_at = kIssuedAt + absl::Hours(1) + absl::Milliseconds(999);
  claims.caller_claims_json.clear();
  DecodedToken t = SignAndDecode(claims);
  EXPECT_THAT(t.payload, HasSubstr(R"("iat":1700000000,"nbf":1700000000,"exp":1700003600,)"));
}

TEST(SignToken, InfiniteTimesAreRefused) {
  std::unique_ptr<SigningKey> key = Rfc8037Key();
  ASSERT_NE(key, nullptr);
  TokenClaims claims = Claims();
  claims.expires_at = absl::InfiniteFuture();
  EXPECT_EQ(SignToken(*key, claims).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SignToken, NoAudienceMeansNoAudClaim) {
  TokenClaims claims = Claims();
  claims.audiences.clear();
  DecodedToken t = SignAndDecode(claims);
  EXPECT_THAT(t.payload, HasSubstr(R"("sub":"42","iat":)"));
  EXPECT_THAT(t.payload, ::testing::Not(HasSubstr(R"("aud")")));

  VerifyResult unchecked = SignAndVerify(claims, /*audience=*/"");
  EXPECT_EQ(unchecked.reason, Reason::kValid) << ReasonName(unchecked.reason);
  ASSERT_TRUE(unchecked.token.has_value());
  EXPECT_THAT(unchecked.token->audiences(), IsEmpty());
  EXPECT_EQ(SignAndVerify(claims, "orders").reason, Reason::kAudienceMismatch);
}

TEST(SignToken, OneAudienceIsAString) {
  DecodedToken t = SignAndDecode(Claims());
  EXPECT_THAT(t.payload, HasSubstr(R"("sub":"42","aud":"orders","iat":)"));

  VerifyResult r = SignAndVerify(Claims(), "orders");
  EXPECT_EQ(r.reason, Reason::kValid) << ReasonName(r.reason);
  ASSERT_TRUE(r.token.has_value());
  EXPECT_THAT(r.token->audiences(), ElementsAre("orders"));
}

TEST(SignToken, SeveralAudiencesAreAnArray) {
  TokenClaims claims = Claims();
  claims.audiences = {"orders", "billing"};
  DecodedToken t = SignAndDecode(claims);
  EXPECT_THAT(t.payload, HasSubstr(R"("sub":"42","aud":["orders","billing"],"iat":)"));

  VerifyResult r = SignAndVerify(claims, "billing");
  EXPECT_EQ(r.reason, Reason::kValid) << ReasonName(r.reason);
  ASSERT_TRUE(r.token.has_value());
  EXPECT_THAT(r.token->audiences(), ElementsAre("orders", "billing"));
  EXPECT_EQ(SignAndVerify(claims, "shipping").reason, Reason::kAudienceMismatch);
}

TEST(SignToken, EmptyBackendIsOmitted) {
  TokenClaims claims = Claims();
  claims.backend.clear();
  DecodedToken t = SignAndDecode(claims);
  EXPECT_THAT(t.payload, HasSubstr(R"("jti":"AAECAwQFBgcICQoLDA0ODw","role":"admin"})"));

  VerifyResult r = SignAndVerify(claims);
  EXPECT_EQ(r.reason, Reason::kValid) << ReasonName(r.reason);
  ASSERT_TRUE(r.token.has_value());
  EXPECT_EQ(r.token->backend(), "");
}

TEST(SignToken, VerifiedTokenCarriesEveryRegisteredClaim) {
  VerifyResult r = SignAndVerify(Claims());
  EXPECT_EQ(r.reason, Reason::kValid) << ReasonName(r.reason);
  ASSERT_TRUE(r.token.has_value());
  EXPECT_EQ(r.token->issuer(), "signet");
  EXPECT_EQ(r.token->subject(), "42");
  EXPECT_EQ(r.token->backend(), "django.contrib.auth.backends.ModelBackend");
  EXPECT_EQ(r.token->issued_at(), kIssuedAt);
  EXPECT_EQ(r.token->not_before(), kIssuedAt);
  EXPECT_EQ(r.token->expires_at(), kIssuedAt + absl::Hours(1));
  EXPECT_EQ(r.token->token_id(), "AAECAwQFBgcICQoLDA0ODw");
  EXPECT_EQ(r.token->key_id(), rfc8037::kKid);
}

TEST(SignToken, NoCallerClaimsGivesAnEmptyObject) {
  TokenClaims claims = Claims();
  claims.caller_claims_json.clear();
  VerifyResult r = SignAndVerify(claims);
  ASSERT_TRUE(r.token.has_value());
  EXPECT_EQ(r.token->CallerClaimsJson(), "{}");

  claims.caller_claims_json = "{}";
  DecodedToken t = SignAndDecode(claims);
  EXPECT_THAT(t.payload, HasSubstr(R"("backend":"django.contrib.auth.backends.ModelBackend"})"));
}

TEST(SignToken, NestedCallerClaimsArePreservedAndRoundTrip) {
  const std::string caller =
      R"({"role":"admin","scopes":["read","write"],"org":{"id":7,"name":"Acme \u00e9",)"
      R"("tags":[true,false,null,{"deep":[1.5,-2,18446744073709551615]}]},"ratio":0.25})";
  TokenClaims claims = Claims();
  claims.caller_claims_json = caller;
  DecodedToken t = SignAndDecode(claims);
  // Re-serialised compactly: the same members, in the same order, with the same values.
  EXPECT_THAT(t.payload,
              HasSubstr(R"("role":"admin","scopes":["read","write"],"org":{"id":7,)"
                        "\"name\":\"Acme \xc3\xa9\","
                        R"("tags":[true,false,null,{"deep":[1.5,-2,18446744073709551615]}]},)"
                        R"("ratio":0.25})"));

  VerifyResult r = SignAndVerify(claims);
  EXPECT_EQ(r.reason, Reason::kValid) << ReasonName(r.reason);
  ASSERT_TRUE(r.token.has_value());
  EXPECT_TRUE(SameJson(r.token->CallerClaimsJson(), caller)) << r.token->CallerClaimsJson();
}

TEST(SignToken, CallerClaimsWithWhitespaceAreWrittenCompactly) {
  TokenClaims claims = Claims();
  claims.caller_claims_json = " {\n  \"a\" : [ 1 , 2 ] ,\n  \"b\" : { } }\n";
  DecodedToken t = SignAndDecode(claims);
  EXPECT_THAT(t.payload, HasSubstr(R"("a":[1,2],"b":{}})"));
}

TEST(SignToken, EveryRegisteredNameIsRefusedAsACallerClaim) {
  for (std::string name : {"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "backend"}) {
    absl::Status s = SignStatus("{\"ok\":1,\"" + name + "\":\"x\"}");
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_THAT(std::string(s.message()), HasSubstr("\"" + name + "\"")) << s;
  }
}

TEST(SignToken, RegisteredNamesInsideNestedCallerClaimsAreAllowed) {
  EXPECT_TRUE(SignStatus(R"({"upstream":{"iss":"other","sub":"7"}})").ok());
}

TEST(SignToken, CallerClaimsThatAreNotAnObjectAreRefused) {
  for (std::string json : {"[]", "[1]", "\"x\"", "3", "null", "true"}) {
    absl::Status s = SignStatus(json);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << json;
    EXPECT_THAT(std::string(s.message()), HasSubstr("JSON object")) << s;
  }
}

TEST(SignToken, CallerClaimsThatAreNotJsonAreRefused) {
  for (std::string json : {"{", "{\"a\":1,}", "{\"a\":1} {}", "{'a':1}", "{\"a\":NaN}", " "}) {
    EXPECT_EQ(SignStatus(json).code(), absl::StatusCode::kInvalidArgument) << json;
  }
}

TEST(SignToken, CallerClaimsThatAreNotUtf8AreRefused) {
  EXPECT_EQ(SignStatus("{\"a\":\"\xff\"}").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SignStatus("{\"\xc3\":1}").code(), absl::StatusCode::kInvalidArgument);
}

// Found by tests/fuzz/claims_fuzzer (docs/RELIABILITY.md).
TEST(SignToken, CallerClaimsWithALoneSurrogateEscapeAreRefused) {
  EXPECT_EQ(SignStatus(R"({"a":"\udc00"})").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SignStatus(R"({"\udee0":1})").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(SignStatus(R"({"a":"\ud83d\ude00"})").ok());  // A pair is a character.
}

// RapidJSON 1.1.0's full-precision strtod reads these as arbitrary numbers; found by
// tests/fuzz/claims_fuzzer.
TEST(SignToken, CallerClaimNumbersAreReadExactlyHoweverTheyAreWritten) {
  TokenClaims claims = Claims();
  claims.caller_claims_json =
      R"({"a":0e300,"b":[0.0E-40],"c":-0.0000000000000000000000000,)"
      R"("d":0.0000000000000000000000000000001e-300,"e":1e-400,"f":0.1,"g":12345678901234567890,)"
      R"("h":123456789012345678901234567890,"i":-9223372036854775808})";
  DecodedToken t = SignAndDecode(claims);
  EXPECT_THAT(t.payload, HasSubstr(R"("a":0.0,"b":[0.0],"c":-0.0,"d":0.0,"e":0.0,"f":0.1,)"
                                   R"("g":12345678901234567890,"h":1.2345678901234568e29,)"
                                   R"("i":-9223372036854775808})"));
}

TEST(SignToken, RepeatedCallerClaimIsRefusedByName) {
  absl::Status s = SignStatus(R"({"role":"a","team":"b","role":"c"})");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("\"role\"")) << s;
}

TEST(SignToken, RepeatedMemberInsideACallerClaimIsRefusedByName) {
  absl::Status s = SignStatus(R"({"org":{"tags":[{"id":1,"id":2}]}})");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("\"org\"")) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("\"id\"")) << s;
}

TEST(SignToken, CallerClaimsNestedTooDeeplyAreRefused) {
  std::string deep = "{\"a\":" + std::string(100, '[') + std::string(100, ']') + "}";
  EXPECT_EQ(SignStatus(deep).code(), absl::StatusCode::kInvalidArgument);
  std::string fine = "{\"a\":" + std::string(25, '[') + std::string(25, ']') + "}";
  EXPECT_TRUE(SignStatus(fine).ok());
}

TEST(SignToken, SubjectThatIsNotUtf8IsRefused) {
  std::unique_ptr<SigningKey> key = Rfc8037Key();
  ASSERT_NE(key, nullptr);
  TokenClaims claims = Claims();
  claims.subject = "\xff";
  EXPECT_EQ(SignToken(*key, claims).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SignToken, StringsAreJsonEscaped) {
  TokenClaims claims = Claims();
  claims.subject = "a\"b\\c\n";
  claims.caller_claims_json.clear();
  DecodedToken t = SignAndDecode(claims);
  EXPECT_THAT(t.payload, HasSubstr(R"("sub":"a\"b\\c\n",)"));
  VerifyResult r = SignAndVerify(claims);
  ASSERT_TRUE(r.token.has_value());
  EXPECT_EQ(r.token->subject(), "a\"b\\c\n");
}

TEST(NewTokenId, Is22Base64UrlCharactersOf16Bytes) {
  std::string id = NewTokenId();
  EXPECT_EQ(id.size(), 22u);
  std::string bytes;
  ASSERT_TRUE(Base64UrlDecode(id, &bytes)) << id;
  EXPECT_EQ(bytes.size(), 16u);
}

TEST(NewTokenId, DiffersEveryCall) { EXPECT_NE(NewTokenId(), NewTokenId()); }

}  // namespace
}  // namespace signet::server
