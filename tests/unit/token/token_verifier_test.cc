#include "signet/token_verifier.h"

#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/substitute.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "signet/base64url.h"
#include "signet/reason.h"
#include "tests/unit/token/test_signer.h"

namespace signet {
namespace {

using testing::SigningInput;
using testing::TestSigner;

constexpr int64_t kNowSeconds = 1700000000;
const absl::Time kNow = absl::FromUnixSeconds(kNowSeconds);
constexpr char kJti[] = "AAECAwQFBgcICQoLDA0ODw";  // The bytes 0..15.

std::string Header(absl::string_view alg, absl::string_view kid) {
  return absl::StrCat(R"({"alg":")", alg, R"(","kid":")", kid, R"(","typ":"JWT"})");
}

// A full signet claims set; `extra` is spliced in before the closing brace.
std::string Claims(int64_t iat, int64_t nbf, int64_t exp, absl::string_view extra = "") {
  return absl::Substitute(
      R"({"iss":"signet","sub":"user-7","aud":["orders","billing"],"iat":$0,"nbf":$1,)"
      R"("exp":$2,"jti":"$3","backend":"django.contrib.auth.backends.ModelBackend",)"
      R"("role":"admin","n":[1,{"k":true}]$4})",
      iat, nbf, exp, kJti, extra);
}

std::string DefaultClaims() { return Claims(kNowSeconds, kNowSeconds, kNowSeconds + 3600); }

std::string FlipBit(std::string s, size_t bit) {
  s[bit / 8] ^= static_cast<char>(1 << (bit % 8));
  return s;
}

class TokenVerifierTest : public ::testing::Test {
 protected:
  TokenVerifierTest()
      : ed_(TestSigner::Ed25519()),
        es_(TestSigner::P256()),
        hs_(TestSigner::Hmac("0123456789abcdef0123456789abcdef")),
        revoked_(TestSigner::Ed25519()) {
    keys_ = KeySet::Builder()
                .Add(ed_.VerifyKeyFor("ed"))
                .Add(es_.VerifyKeyFor("es"))
                .Add(hs_.VerifyKeyFor("hs"))
                .Add(revoked_.VerifyKeyFor("revoked"), KeySet::Status::kRevoked)
                .Build();
  }

  static TokenVerifier MakeVerifier(absl::Duration leeway = absl::Seconds(30),
                                    size_t max_token_bytes = 8 * 1024) {
    ValidationPolicy policy;
    policy.issuer = "signet";
    policy.leeway = leeway;
    policy.max_token_bytes = max_token_bytes;
    absl::StatusOr<TokenVerifier> verifier = TokenVerifier::Create(policy);
    EXPECT_TRUE(verifier.ok()) << verifier.status();
    return *std::move(verifier);
  }

  VerifyResult Verify(std::string_view token, std::string_view audience = {},
                      const RevocationSet* revocations = nullptr) const {
    return verifier_.Verify(token, keys_, revocations, kNow,
                            audience.empty() ? Audience::Any() : Audience::Expect(audience));
  }
  Reason ReasonOf(std::string_view token, std::string_view audience = {}) const {
    return Verify(token, audience).reason;
  }

  // An EdDSA token under kid "ed" with the given claims.
  std::string EdToken(std::string_view claims) const {
    return ed_.Token(Header("EdDSA", "ed"), claims);
  }
  // A token with the given header JSON, signed by the Ed25519 key.
  std::string EdTokenWithHeader(std::string_view header) const {
    return ed_.Token(header, DefaultClaims());
  }

  TestSigner ed_, es_, hs_, revoked_;
  KeySet keys_;
  TokenVerifier verifier_ = MakeVerifier();
};

// --- Valid tokens -------------------------------------------------------------------------------

TEST_F(TokenVerifierTest, AValidEdDsaTokenCarriesEveryClaim) {
  const VerifyResult r = Verify(EdToken(DefaultClaims()), "orders");
  ASSERT_EQ(r.reason, Reason::kValid);
  EXPECT_TRUE(r.valid());
  ASSERT_TRUE(r.token.has_value());
  const VerifiedToken& t = *r.token;
  EXPECT_EQ(t.issuer(), "signet");
  EXPECT_EQ(t.subject(), "user-7");
  EXPECT_EQ(t.backend(), "django.contrib.auth.backends.ModelBackend");
  EXPECT_THAT(t.audiences(), ::testing::ElementsAre("orders", "billing"));
  EXPECT_EQ(t.issued_at(), kNow);
  EXPECT_EQ(t.not_before(), kNow);
  EXPECT_EQ(t.expires_at(), kNow + absl::Hours(1));
  EXPECT_EQ(t.token_id(), kJti);
  EXPECT_EQ(t.key_id(), "ed");
  EXPECT_EQ(t.payload_json(), DefaultClaims());
  EXPECT_EQ(t.CallerClaimsJson(), R"({"role":"admin","n":[1,{"k":true}]})");
}

TEST_F(TokenVerifierTest, AValidEs256TokenVerifies) {
  const VerifyResult r = Verify(es_.Token(Header("ES256", "es"), DefaultClaims()));
  EXPECT_EQ(r.reason, Reason::kValid);
  ASSERT_TRUE(r.token.has_value());
  EXPECT_EQ(r.token->key_id(), "es");
}

TEST_F(TokenVerifierTest, AValidHs256TokenVerifies) {
  const VerifyResult r = Verify(hs_.Token(Header("HS256", "hs"), DefaultClaims()));
  EXPECT_EQ(r.reason, Reason::kValid);
  ASSERT_TRUE(r.token.has_value());
  EXPECT_EQ(r.token->key_id(), "hs");
}

TEST_F(TokenVerifierTest, MinimalClaimsAreValidAndAbsentTimesFailClosed) {
  const std::string claims =
      absl::Substitute(R"({"iss":"signet","sub":"u","exp":$0})", kNowSeconds + 60);
  const VerifyResult r = Verify(EdToken(claims));
  ASSERT_EQ(r.reason, Reason::kValid);
  EXPECT_EQ(r.token->backend(), "");
  EXPECT_TRUE(r.token->audiences().empty());
  EXPECT_EQ(r.token->token_id(), "");
  EXPECT_EQ(r.token->issued_at(), absl::InfinitePast());
  EXPECT_EQ(r.token->not_before(), absl::InfinitePast());
  EXPECT_EQ(r.token->CallerClaimsJson(), "{}");
  // Without iat the token counts as issued before any subject revocation.
  RevocationSet revocations =
      RevocationSet().WithSubject("u", kNow - absl::Hours(1), kNow + absl::Hours(1));
  EXPECT_EQ(Verify(EdToken(claims), "", &revocations).reason, Reason::kSubjectRevoked);
}

TEST_F(TokenVerifierTest, AudienceMayBeASingleString) {
  const std::string claims =
      absl::Substitute(R"({"iss":"signet","sub":"u","aud":"orders","exp":$0})", kNowSeconds + 60);
  const VerifyResult r = Verify(EdToken(claims), "orders");
  ASSERT_EQ(r.reason, Reason::kValid);
  EXPECT_THAT(r.token->audiences(), ::testing::ElementsAre("orders"));
  EXPECT_EQ(ReasonOf(EdToken(claims), "billing"), Reason::kAudienceMismatch);
}

TEST_F(TokenVerifierTest, TypIsOptionalAndCaseInsensitive) {
  EXPECT_EQ(ReasonOf(EdTokenWithHeader(R"({"alg":"EdDSA","kid":"ed"})")), Reason::kValid);
  EXPECT_EQ(ReasonOf(EdTokenWithHeader(R"({"alg":"EdDSA","kid":"ed","typ":"jwt"})")),
            Reason::kValid);
  EXPECT_EQ(ReasonOf(EdTokenWithHeader(R"({"typ":"Jwt","kid":"ed","alg":"EdDSA","x":[1]})")),
            Reason::kValid);
}

TEST_F(TokenVerifierTest, FractionalNumericDatesAreAccepted) {
  const std::string claims = absl::StrCat(R"({"iss":"signet","sub":"u","iat":)", kNowSeconds,
                                          R"(.25,"exp":)", kNowSeconds + 60, ".5}");
  const VerifyResult r = Verify(EdToken(claims));
  ASSERT_EQ(r.reason, Reason::kValid);
  EXPECT_EQ(r.token->expires_at(), kNow + absl::Milliseconds(60500));
  EXPECT_EQ(r.token->issued_at(), kNow + absl::Milliseconds(250));
}

TEST_F(TokenVerifierTest, TheSameTokenVerifiesOnManyThreadsAtOnce) {
  const std::string token = hs_.Token(Header("HS256", "hs"), DefaultClaims());
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const VerifyResult r = Verify(token);
        if (!r.valid() || r.token->subject() != "user-7") ++failures[t];
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures, std::vector<int>(4, 0));
}

// --- One test per reason, in check order --------------------------------------------------------

TEST_F(TokenVerifierTest, ReasonNamesMatchTheProto) {
  const std::vector<std::pair<Reason, std::string>> names = {
      {Reason::kValid, "VALID"},
      {Reason::kMalformed, "MALFORMED"},
      {Reason::kUnsupportedAlgorithm, "UNSUPPORTED_ALGORITHM"},
      {Reason::kUnknownKey, "UNKNOWN_KEY"},
      {Reason::kAlgorithmMismatch, "ALGORITHM_MISMATCH"},
      {Reason::kBadSignature, "BAD_SIGNATURE"},
      {Reason::kExpired, "EXPIRED"},
      {Reason::kNotYetValid, "NOT_YET_VALID"},
      {Reason::kIssuerMismatch, "ISSUER_MISMATCH"},
      {Reason::kAudienceMismatch, "AUDIENCE_MISMATCH"},
      {Reason::kKeyRevoked, "KEY_REVOKED"},
      {Reason::kTokenRevoked, "TOKEN_REVOKED"},
      {Reason::kSubjectRevoked, "SUBJECT_REVOKED"},
  };
  ASSERT_EQ(names.size(), static_cast<size_t>(kReasonCount));
  for (const auto& [reason, name] : names) EXPECT_EQ(ReasonName(reason), name);
}

TEST_F(TokenVerifierTest, AlgorithmNamesRoundTripAndNoneIsRefused) {
  for (Algorithm alg : {Algorithm::kEdDSA, Algorithm::kES256, Algorithm::kHS256}) {
    absl::StatusOr<Algorithm> parsed = AlgorithmFromName(AlgorithmName(alg));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, alg);
  }
  EXPECT_EQ(AlgorithmName(Algorithm::kEdDSA), "EdDSA");
  EXPECT_EQ(AlgorithmName(Algorithm::kES256), "ES256");
  EXPECT_EQ(AlgorithmName(Algorithm::kHS256), "HS256");
  for (const char* name : {"none", "None", "eddsa", "RS256", "HS512", ""}) {
    EXPECT_EQ(AlgorithmFromName(name).status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST_F(TokenVerifierTest, AlgNoneIsUnsupported) {
  const std::string unsigned_token =
      absl::StrCat(SigningInput(R"({"alg":"none","kid":"ed"})", DefaultClaims()), ".");
  const VerifyResult r = Verify(unsigned_token);
  EXPECT_EQ(r.reason, Reason::kUnsupportedAlgorithm);
  EXPECT_FALSE(r.token.has_value());
  EXPECT_EQ(ReasonOf(absl::StrCat(SigningInput(R"({"alg":"none"})", DefaultClaims()), ".")),
            Reason::kUnsupportedAlgorithm);
}

TEST_F(TokenVerifierTest, UnknownAlgorithmsAreUnsupported) {
  for (const char* alg : {"RS256", "HS512", "ES384", "eddsa", "EDDSA", "Ed25519", ""}) {
    EXPECT_EQ(ReasonOf(EdTokenWithHeader(Header(alg, "ed"))), Reason::kUnsupportedAlgorithm) << alg;
  }
}

TEST_F(TokenVerifierTest, AnUnknownKidIsUnknownKey) {
  const VerifyResult r = Verify(ed_.Token(Header("EdDSA", "nobody"), DefaultClaims()));
  EXPECT_EQ(r.reason, Reason::kUnknownKey);
  EXPECT_FALSE(r.token.has_value());
}

TEST_F(TokenVerifierTest, AnAlgOtherThanTheKeysIsAlgorithmMismatch) {
  EXPECT_EQ(ReasonOf(es_.Token(Header("ES256", "ed"), DefaultClaims())),
            Reason::kAlgorithmMismatch);
  EXPECT_EQ(ReasonOf(hs_.Token(Header("HS256", "es"), DefaultClaims())),
            Reason::kAlgorithmMismatch);
  EXPECT_EQ(ReasonOf(ed_.Token(Header("EdDSA", "hs"), DefaultClaims())),
            Reason::kAlgorithmMismatch);
}

TEST_F(TokenVerifierTest, Hs256SignedWithAPublicKeyAsSecretIsNeverValid) {
  // The classic confusion attack: the public key bytes used as an HMAC secret.
  for (const TestSigner* pub : {&ed_, &es_}) {
    TestSigner forger = TestSigner::Hmac(pub->public_bytes());
    const std::string kid = pub == &ed_ ? "ed" : "es";
    EXPECT_EQ(ReasonOf(forger.Token(Header("HS256", kid), DefaultClaims())),
              Reason::kAlgorithmMismatch);
    EXPECT_EQ(ReasonOf(forger.Token(Header("HS256", "unknown"), DefaultClaims())),
              Reason::kUnknownKey);
  }
}

TEST_F(TokenVerifierTest, ASignatureByAnotherKeyIsBadSignature) {
  TestSigner other = TestSigner::Ed25519();
  const VerifyResult r = Verify(other.Token(Header("EdDSA", "ed"), DefaultClaims()));
  EXPECT_EQ(r.reason, Reason::kBadSignature);
  EXPECT_FALSE(r.token.has_value());
  TestSigner other_hmac = TestSigner::Hmac("another secret of at least 32 bytes");
  EXPECT_EQ(ReasonOf(other_hmac.Token(Header("HS256", "hs"), DefaultClaims())),
            Reason::kBadSignature);
}

TEST_F(TokenVerifierTest, FlippingAnyBitOfTheSignatureIsBadSignature) {
  for (const auto& [signer, alg, kid] :
       std::vector<std::tuple<const TestSigner*, std::string, std::string>>{
           {&ed_, "EdDSA", "ed"}, {&es_, "ES256", "es"}, {&hs_, "HS256", "hs"}}) {
    const std::string input = SigningInput(Header(alg, kid), DefaultClaims());
    const std::string sig = signer->Sign(input);
    ASSERT_EQ(ReasonOf(absl::StrCat(input, ".", Base64UrlEncode(sig))), Reason::kValid);
    for (size_t bit = 0; bit < sig.size() * 8; ++bit) {
      ASSERT_EQ(ReasonOf(absl::StrCat(input, ".", Base64UrlEncode(FlipBit(sig, bit)))),
                Reason::kBadSignature)
          << alg << " bit " << bit;
    }
  }
}

TEST_F(TokenVerifierTest, ChangingThePayloadOrHeaderAfterSigningIsBadSignature) {
  const std::string token = EdToken(DefaultClaims());
  const size_t dot1 = token.find('.');
  const size_t dot2 = token.rfind('.');
  const std::string forged_payload = Base64UrlEncode(
      absl::StrReplaceAll(DefaultClaims(), {{R"("sub":"user-7")", R"("sub":"admin")"}}));
  EXPECT_EQ(ReasonOf(absl::StrCat(token.substr(0, dot1 + 1), forged_payload, token.substr(dot2))),
            Reason::kBadSignature);
  const std::string other_header = Base64UrlEncode(R"({"alg":"EdDSA","kid":"ed","typ":"jwt"})");
  EXPECT_EQ(ReasonOf(absl::StrCat(other_header, token.substr(dot1))), Reason::kBadSignature);
}

TEST_F(TokenVerifierTest, SignaturesOfTheWrongLengthAreBadSignature) {
  for (const auto& [signer, alg, kid] :
       std::vector<std::tuple<const TestSigner*, std::string, std::string>>{
           {&ed_, "EdDSA", "ed"}, {&es_, "ES256", "es"}, {&hs_, "HS256", "hs"}}) {
    const std::string input = SigningInput(Header(alg, kid), DefaultClaims());
    const std::string sig = signer->Sign(input);
    EXPECT_EQ(ReasonOf(absl::StrCat(input, ".")), Reason::kBadSignature) << alg;
    EXPECT_EQ(ReasonOf(absl::StrCat(input, ".", Base64UrlEncode(sig.substr(1)))),
              Reason::kBadSignature)
        << alg;
    EXPECT_EQ(ReasonOf(absl::StrCat(input, ".", Base64UrlEncode(sig + sig))), Reason::kBadSignature)
        << alg;
  }
}

TEST_F(TokenVerifierTest, ExpiredTokensAreExpiredWithNoVerifiedTokenYetTheirSignedClaimsRead) {
  const std::string token =
      EdToken(Claims(kNowSeconds - 7200, kNowSeconds - 7200, kNowSeconds - 3600));
  const VerifyResult r = Verify(token);
  EXPECT_EQ(r.reason, Reason::kExpired);
  EXPECT_FALSE(r.token.has_value());  // A VerifiedToken exists only for a valid token.
  Reason reason = Reason::kMalformed;
  const std::optional<SignedClaims> claims = verifier_.ReadSigned(token, keys_, &reason);
  EXPECT_EQ(reason, Reason::kValid);
  ASSERT_TRUE(claims.has_value());
  EXPECT_EQ(claims->subject(), "user-7");
}

TEST_F(TokenVerifierTest, ReadSignedRefusesWhatFailsUpToTheSignature) {
  Reason reason = Reason::kValid;
  TestSigner forger = TestSigner::Ed25519();
  EXPECT_FALSE(
      verifier_.ReadSigned(forger.Token(Header("EdDSA", "ed"), DefaultClaims()), keys_, &reason));
  EXPECT_EQ(reason, Reason::kBadSignature);
  EXPECT_FALSE(verifier_.ReadSigned(EdTokenWithHeader(Header("EdDSA", "nobody")), keys_, &reason));
  EXPECT_EQ(reason, Reason::kUnknownKey);
  EXPECT_FALSE(verifier_.ReadSigned("not.a.token", keys_, &reason));
  EXPECT_EQ(reason, Reason::kMalformed);
}

TEST_F(TokenVerifierTest, TokensFromTheFutureAreNotYetValid) {
  EXPECT_EQ(ReasonOf(EdToken(Claims(kNowSeconds, kNowSeconds + 600, kNowSeconds + 3600))),
            Reason::kNotYetValid);
  EXPECT_EQ(ReasonOf(EdToken(Claims(kNowSeconds + 600, kNowSeconds, kNowSeconds + 3600))),
            Reason::kNotYetValid);
}

TEST_F(TokenVerifierTest, AnotherIssuerIsIssuerMismatch) {
  const std::string other =
      absl::StrReplaceAll(DefaultClaims(), {{R"("iss":"signet")", R"("iss":"signet2")"}});
  const VerifyResult r = Verify(EdToken(other));
  EXPECT_EQ(r.reason, Reason::kIssuerMismatch);
  EXPECT_FALSE(r.token.has_value());
  const std::optional<SignedClaims> claims = verifier_.ReadSigned(EdToken(other), keys_);
  ASSERT_TRUE(claims.has_value());
  EXPECT_EQ(claims->issuer(), "signet2");
  const std::string missing = absl::StrReplaceAll(DefaultClaims(), {{R"("iss":"signet",)", ""}});
  EXPECT_EQ(ReasonOf(EdToken(missing)), Reason::kIssuerMismatch);
}

TEST_F(TokenVerifierTest, AnAudienceNotInAudIsAudienceMismatch) {
  EXPECT_EQ(ReasonOf(EdToken(DefaultClaims()), "shipping"), Reason::kAudienceMismatch);
  EXPECT_EQ(ReasonOf(EdToken(DefaultClaims()), "Orders"), Reason::kAudienceMismatch);
  EXPECT_EQ(ReasonOf(EdToken(DefaultClaims()), "billing"), Reason::kValid);
  EXPECT_EQ(ReasonOf(EdToken(DefaultClaims()), ""), Reason::kValid);
  const std::string no_aud =
      absl::StrReplaceAll(DefaultClaims(), {{R"("aud":["orders","billing"],)", ""}});
  EXPECT_EQ(ReasonOf(EdToken(no_aud), "orders"), Reason::kAudienceMismatch);
  EXPECT_EQ(ReasonOf(EdToken(no_aud)), Reason::kValid);
  const std::string empty_aud =
      absl::StrReplaceAll(DefaultClaims(), {{R"("aud":["orders","billing"],)", R"("aud":[],)"}});
  EXPECT_EQ(ReasonOf(EdToken(empty_aud), "orders"), Reason::kAudienceMismatch);
}

TEST_F(TokenVerifierTest, ARevokedKeyIsKeyRevokedAfterTheSignatureCheck) {
  const VerifyResult r = Verify(revoked_.Token(Header("EdDSA", "revoked"), DefaultClaims()));
  EXPECT_EQ(r.reason, Reason::kKeyRevoked);
  EXPECT_FALSE(r.token.has_value());
  // Still readable (RevokeToken of a token signed by a revoked key).
  const std::optional<SignedClaims> claims =
      verifier_.ReadSigned(revoked_.Token(Header("EdDSA", "revoked"), DefaultClaims()), keys_);
  ASSERT_TRUE(claims.has_value());
  EXPECT_EQ(claims->key_id(), "revoked");
  TestSigner forger = TestSigner::Ed25519();
  EXPECT_EQ(ReasonOf(forger.Token(Header("EdDSA", "revoked"), DefaultClaims())),
            Reason::kBadSignature);
}

TEST_F(TokenVerifierTest, ARevokedJtiIsTokenRevoked) {
  const RevocationSet revocations = RevocationSet().WithToken(kJti, kNow + absl::Hours(1));
  const VerifyResult r = Verify(EdToken(DefaultClaims()), "", &revocations);
  EXPECT_EQ(r.reason, Reason::kTokenRevoked);
  EXPECT_FALSE(r.token.has_value());
  const RevocationSet expired = RevocationSet().WithToken(kJti, kNow);
  EXPECT_EQ(Verify(EdToken(DefaultClaims()), "", &expired).reason, Reason::kValid);
  const RevocationSet opaque = RevocationSet().WithToken("opaque-id", kNow + absl::Hours(1));
  const std::string claims = absl::StrReplaceAll(DefaultClaims(), {{kJti, "opaque-id"}});
  EXPECT_EQ(Verify(EdToken(claims), "", &opaque).reason, Reason::kTokenRevoked);
}

TEST_F(TokenVerifierTest, ASubjectRevokedAfterIssueIsSubjectRevoked) {
  const RevocationSet after =
      RevocationSet().WithSubject("user-7", kNow + absl::Seconds(1), kNow + absl::Hours(2));
  EXPECT_EQ(Verify(EdToken(DefaultClaims()), "", &after).reason, Reason::kSubjectRevoked);
  const RevocationSet at_issue = RevocationSet().WithSubject("user-7", kNow, kNow + absl::Hours(2));
  EXPECT_EQ(Verify(EdToken(DefaultClaims()), "", &at_issue).reason, Reason::kValid);
  const RevocationSet other =
      RevocationSet().WithSubject("user-8", kNow + absl::Seconds(1), kNow + absl::Hours(2));
  EXPECT_EQ(Verify(EdToken(DefaultClaims()), "", &other).reason, Reason::kValid);
}

TEST_F(TokenVerifierTest, TheFirstFailingCheckDecides) {
  // Expired and from the wrong issuer: expiry is checked first.
  const std::string expired_other_issuer =
      absl::StrReplaceAll(Claims(kNowSeconds - 7200, kNowSeconds - 7200, kNowSeconds - 3600),
                          {{R"("iss":"signet")", R"("iss":"x")"}});
  EXPECT_EQ(ReasonOf(EdToken(expired_other_issuer), "nobody"), Reason::kExpired);
  // Wrong issuer and wrong audience: issuer first.
  const std::string other_issuer =
      absl::StrReplaceAll(DefaultClaims(), {{R"("iss":"signet")", R"("iss":"x")"}});
  EXPECT_EQ(ReasonOf(EdToken(other_issuer), "nobody"), Reason::kIssuerMismatch);
  // Revoked key, jti and subject: the key first, then the jti.
  const RevocationSet all =
      RevocationSet()
          .WithToken(kJti, kNow + absl::Hours(1))
          .WithSubject("user-7", kNow + absl::Seconds(1), kNow + absl::Hours(1));
  EXPECT_EQ(Verify(revoked_.Token(Header("EdDSA", "revoked"), DefaultClaims()), "", &all).reason,
            Reason::kKeyRevoked);
  EXPECT_EQ(Verify(EdToken(DefaultClaims()), "nobody", &all).reason, Reason::kAudienceMismatch);
  EXPECT_EQ(Verify(EdToken(DefaultClaims()), "", &all).reason, Reason::kTokenRevoked);
  // A malformed claims set with a bad signature: the signature decides (claims are not read).
  TestSigner forger = TestSigner::Ed25519();
  EXPECT_EQ(ReasonOf(forger.Token(Header("EdDSA", "ed"), "[]")), Reason::kBadSignature);
  // Unknown alg and missing kid: the alg first.
  EXPECT_EQ(ReasonOf(EdTokenWithHeader(R"({"alg":"none","crit":["x"]})")),
            Reason::kUnsupportedAlgorithm);
}

// --- Time edges ---------------------------------------------------------------------------------

TEST_F(TokenVerifierTest, ATokenWhoseExpIsNowIsExpiredWithoutLeeway) {
  const TokenVerifier strict = MakeVerifier(absl::ZeroDuration());
  auto reason = [&](int64_t exp) {
    return strict
        .Verify(EdToken(Claims(kNowSeconds - 60, kNowSeconds - 60, exp)), keys_, nullptr, kNow,
                Audience::Any())
        .reason;
  };
  EXPECT_EQ(reason(kNowSeconds), Reason::kExpired);
  EXPECT_EQ(reason(kNowSeconds - 1), Reason::kExpired);
  EXPECT_EQ(reason(kNowSeconds + 1), Reason::kValid);
}

TEST_F(TokenVerifierTest, LeewayExtendsExpExactly) {
  auto reason = [&](std::string exp) {
    return ReasonOf(EdToken(absl::StrCat(R"({"iss":"signet","sub":"u","exp":)", exp, "}")));
  };
  EXPECT_EQ(reason(absl::StrCat(kNowSeconds - 30)), Reason::kExpired);
  EXPECT_EQ(reason(absl::StrCat(kNowSeconds - 31)), Reason::kExpired);
  EXPECT_EQ(reason(absl::StrCat(kNowSeconds - 29)), Reason::kValid);
  EXPECT_EQ(reason(absl::StrCat(kNowSeconds - 30, ".5")), Reason::kValid);
  EXPECT_EQ(reason(absl::StrCat(kNowSeconds - 31, ".5")), Reason::kExpired);
}

TEST_F(TokenVerifierTest, LeewayExtendsNbfAndIatExactly) {
  auto reason = [&](int64_t iat, int64_t nbf) {
    return ReasonOf(EdToken(Claims(iat, nbf, kNowSeconds + 3600)));
  };
  EXPECT_EQ(reason(kNowSeconds, kNowSeconds + 30), Reason::kValid);
  EXPECT_EQ(reason(kNowSeconds, kNowSeconds + 31), Reason::kNotYetValid);
  EXPECT_EQ(reason(kNowSeconds + 30, kNowSeconds), Reason::kValid);
  EXPECT_EQ(reason(kNowSeconds + 31, kNowSeconds), Reason::kNotYetValid);

  const TokenVerifier strict = MakeVerifier(absl::ZeroDuration());
  auto strict_reason = [&](int64_t nbf) {
    return strict
        .Verify(EdToken(Claims(kNowSeconds - 10, nbf, kNowSeconds + 3600)), keys_, nullptr, kNow,
                Audience::Any())
        .reason;
  };
  EXPECT_EQ(strict_reason(kNowSeconds), Reason::kValid);
  EXPECT_EQ(strict_reason(kNowSeconds + 1), Reason::kNotYetValid);
}

// --- Malformed tokens ---------------------------------------------------------------------------

TEST_F(TokenVerifierTest, TokensThatAreNotThreeSegmentsAreMalformed) {
  const std::string token = EdToken(DefaultClaims());
  const size_t dot1 = token.find('.');
  const size_t dot2 = token.rfind('.');
  for (const std::string& bad : {
           std::string(),
           std::string("."),
           std::string(".."),
           std::string("..."),
           token.substr(0, dot1),
           token.substr(0, dot2),
           token.substr(0, dot2 + 0) + "..",
           absl::StrCat(token, "."),
           absl::StrCat(token, ".", token.substr(dot2 + 1)),
           absl::StrCat(token.substr(0, dot1), ".", token.substr(dot1)),
           absl::StrCat(".", token),
           token.substr(dot1),
       }) {
    const VerifyResult r = Verify(bad);
    EXPECT_EQ(r.reason, Reason::kMalformed) << bad;
    EXPECT_FALSE(r.token.has_value());
  }
}

TEST_F(TokenVerifierTest, EveryPrefixOfATokenFailsWithoutCrashing) {
  const std::string token = EdToken(DefaultClaims());
  const size_t dot2 = token.rfind('.');
  for (size_t n = 0; n < token.size(); ++n) {
    const Reason reason = ReasonOf(token.substr(0, n));
    // Cut inside the signature: a canonical shorter signature is bad, anything else malformed.
    if (n > dot2 + 1) {
      EXPECT_THAT(reason, ::testing::AnyOf(Reason::kMalformed, Reason::kBadSignature)) << n;
    } else if (n == dot2 + 1) {
      EXPECT_EQ(reason, Reason::kBadSignature) << n;  // An empty signature.
    } else {
      EXPECT_EQ(reason, Reason::kMalformed) << n;
    }
  }
}

TEST_F(TokenVerifierTest, PaddingWhitespaceAndForeignCharactersAreMalformed) {
  const std::string token = EdToken(DefaultClaims());
  const size_t dot1 = token.find('.');
  const size_t dot2 = token.rfind('.');
  auto with_at = [&](size_t pos, std::string_view what) {
    std::string t = token;
    t.insert(pos, what);
    return t;
  };
  for (const std::string& bad : {
           absl::StrCat(token, "="),
           absl::StrCat(token, "=="),
           with_at(dot1, "="),
           with_at(dot2, "=="),
           absl::StrCat(" ", token),
           absl::StrCat(token, " "),
           absl::StrCat(token, "\n"),
           with_at(dot1 + 4, " "),
           with_at(dot2 + 4, "\t"),
           with_at(dot1, "\r\n"),
           absl::StrReplaceAll(token, {{"-", "+"}, {"_", "/"}}) + "+/",
           with_at(5, std::string_view("\0", 1)),
           absl::StrCat("Bearer ", token),
       }) {
    EXPECT_EQ(ReasonOf(bad), Reason::kMalformed) << bad;
  }
}

TEST_F(TokenVerifierTest, NonCanonicalBase64IsMalformed) {
  // A header of 1 mod 4 characters, and a last character with unused bits set.
  const std::string header = Base64UrlEncode(Header("EdDSA", "ed"));
  const std::string rest = EdToken(DefaultClaims()).substr(header.size());
  ASSERT_NE(header.size() % 4, 0u);  // The last character has unused bits.
  std::string bent = header;
  bent.back() = static_cast<char>(bent.back() + 1);  // A->B, Q->R, g->h, w->x...: one set.
  EXPECT_EQ(ReasonOf(bent + rest), Reason::kMalformed);
  std::string one_mod_four = header;
  while (one_mod_four.size() % 4 != 1) one_mod_four += 'A';
  EXPECT_EQ(ReasonOf(one_mod_four + rest), Reason::kMalformed);
}

TEST_F(TokenVerifierTest, EmptySegmentsFailPrecisely) {
  // Empty header: not JSON.
  EXPECT_EQ(ReasonOf(absl::StrCat(".", Base64UrlEncode(DefaultClaims()), ".AAAA")),
            Reason::kMalformed);
  // Empty payload with a valid signature over it: the claims are not JSON.
  const VerifyResult r = Verify(ed_.Token(Header("EdDSA", "ed"), ""));
  EXPECT_EQ(r.reason, Reason::kMalformed);
  EXPECT_FALSE(r.token.has_value());
  // Empty signature: no signature verifies.
  EXPECT_EQ(ReasonOf(absl::StrCat(SigningInput(Header("EdDSA", "ed"), DefaultClaims()), ".")),
            Reason::kBadSignature);
}

TEST_F(TokenVerifierTest, OversizedTokensAreMalformedBeforeAnythingElse) {
  const std::string token = EdToken(DefaultClaims());
  const TokenVerifier exact = MakeVerifier(absl::Seconds(30), token.size());
  EXPECT_EQ(exact.Verify(token, keys_, nullptr, kNow, Audience::Any()).reason, Reason::kValid);
  const TokenVerifier one_short = MakeVerifier(absl::Seconds(30), token.size() - 1);
  EXPECT_EQ(one_short.Verify(token, keys_, nullptr, kNow, Audience::Any()).reason,
            Reason::kMalformed);
  // Over the default 8 KiB even though everything else is fine.
  const std::string big =
      EdToken(Claims(kNowSeconds, kNowSeconds, kNowSeconds + 3600,
                     absl::StrCat(R"(,"pad":")", std::string(8000, 'x'), R"(")")));
  ASSERT_GT(big.size(), 8u * 1024);
  EXPECT_EQ(ReasonOf(big), Reason::kMalformed);
  EXPECT_EQ(ReasonOf(std::string(100000, 'A')), Reason::kMalformed);
}

TEST_F(TokenVerifierTest, HeaderProblemsAreMalformed) {
  for (const std::string& header : {
           std::string(R"({"kid":"ed"})"),
           std::string(R"({"alg":null,"kid":"ed"})"),
           std::string(R"({"alg":1,"kid":"ed"})"),
           std::string(R"({"alg":["EdDSA"],"kid":"ed"})"),
           std::string(R"({"alg":{"v":"EdDSA"},"kid":"ed"})"),
           std::string(R"({"alg":"EdDSA"})"),
           std::string(R"({"alg":"EdDSA","kid":""})"),
           std::string(R"({"alg":"EdDSA","kid":7})"),
           std::string(R"({"alg":"EdDSA","kid":["ed"]})"),
           std::string(R"({"alg":"EdDSA","kid":"ed","crit":["exp"]})"),
           std::string(R"({"alg":"EdDSA","kid":"ed","jku":"https://evil.example/jwks"})"),
           std::string(R"({"alg":"EdDSA","kid":"ed","jwk":{"kty":"OKP"}})"),
           std::string(R"({"alg":"EdDSA","kid":"ed","x5u":"https://evil.example/cert"})"),
           std::string(R"({"alg":"EdDSA","kid":"ed","x5c":["MIIB"]})"),
           std::string(R"({"alg":"EdDSA","kid":"ed","typ":"JOSE"})"),
           std::string(R"({"alg":"EdDSA","kid":"ed","typ":"JWTX"})"),
           std::string(R"({"alg":"EdDSA","kid":"ed","typ":1})"),
           std::string(R"({"alg":"EdDSA","alg":"EdDSA","kid":"ed"})"),
           std::string(R"({"alg":"EdDSA","kid":"ed","kid":"ed"})"),
           std::string(R"({"alg":"EdDSA","kid":"ed","x":{"a":1,"a":1}})"),
           std::string(R"({"alg":"EdDSA","kid":"ed"} )") + "x",
           std::string(R"({"alg":"EdDSA","kid":"ed"}{})"),
           std::string(R"({"alg":"EdDSA","kid":"ed")"),
           std::string(R"({"alg":"EdDSA","kid":"ed",})"),
           std::string(R"({"alg":"EdDSA","kid":"e)") + "\xff" + R"("})",
           std::string(R"({"alg":"EdDSA","kid":"e)") + "\xc0\xaf" + R"("})",
           std::string(R"({"alg":"EdDSA","kid":"ed"})") + std::string(1, '\0'),
           std::string(R"({'alg':'EdDSA','kid':'ed'})"),
           std::string(R"([{"alg":"EdDSA","kid":"ed"}])"),
           std::string(R"("EdDSA")"),
           std::string("1"),
           std::string("null"),
           std::string("{}"),
       }) {
    EXPECT_EQ(ReasonOf(EdTokenWithHeader(header)), Reason::kMalformed) << header;
  }
}

TEST_F(TokenVerifierTest, ClaimsOfTheWrongTypeOrRangeAreMalformed) {
  const std::string base = R"("iss":"signet","sub":"u")";
  const std::string exp = absl::StrCat(R"("exp":)", kNowSeconds + 60);
  for (const std::string& claims : {
           // exp required, a number, finite, in [0, 2^53).
           absl::StrCat("{", base, "}"),
           absl::StrCat("{", base, R"(,"exp":")", kNowSeconds + 60, R"("})"),
           absl::StrCat("{", base, R"(,"exp":1e300})"),
           absl::StrCat("{", base, R"(,"exp":1e400})"),
           absl::StrCat("{", base, R"(,"exp":-1})"),
           absl::StrCat("{", base, R"(,"exp":-0.5})"),
           absl::StrCat("{", base, R"(,"exp":9007199254740992})"),
           absl::StrCat("{", base, R"(,"exp":18446744073709551615})"),
           absl::StrCat("{", base, R"(,"exp":99999999999999999999999})"),
           absl::StrCat("{", base, R"(,"exp":null})"),
           absl::StrCat("{", base, R"(,"exp":true})"),
           absl::StrCat("{", base, R"(,"exp":[1])"),
           absl::StrCat("{", base, R"(,"exp":{"v":1}})"),
           absl::StrCat("{", base, R"(,"exp":NaN})"),
           absl::StrCat("{", base, R"(,"exp":Infinity})"),
           // iat and nbf optional, but numbers in range when present.
           absl::StrCat("{", base, ",", exp, R"(,"iat":"now"})"),
           absl::StrCat("{", base, ",", exp, R"(,"iat":-5})"),
           absl::StrCat("{", base, ",", exp, R"(,"nbf":1e300})"),
           absl::StrCat("{", base, ",", exp, R"(,"nbf":null})"),
           // sub required, a non-empty string.
           absl::StrCat(R"({"iss":"signet",)", exp, "}"),
           absl::StrCat(R"({"iss":"signet","sub":7,)", exp, "}"),
           absl::StrCat(R"({"iss":"signet","sub":"",)", exp, "}"),
           absl::StrCat(R"({"iss":"signet","sub":["u"],)", exp, "}"),
           // iss, jti, backend strings; aud a string or an array of strings.
           absl::StrCat(R"({"iss":1,"sub":"u",)", exp, "}"),
           absl::StrCat("{", base, ",", exp, R"(,"jti":1})"),
           absl::StrCat("{", base, ",", exp, R"(,"backend":false})"),
           absl::StrCat("{", base, ",", exp, R"(,"aud":1})"),
           absl::StrCat("{", base, ",", exp, R"(,"aud":["a",1]})"),
           absl::StrCat("{", base, ",", exp, R"(,"aud":[["a"]]})"),
           absl::StrCat("{", base, ",", exp, R"(,"aud":[{"a":"b"}]})"),
           absl::StrCat("{", base, ",", exp, R"(,"aud":{"a":"b"}})"),
           absl::StrCat("{", base, ",", exp, R"(,"aud":null})"),
       }) {
    const VerifyResult r = Verify(EdToken(claims));
    EXPECT_EQ(r.reason, Reason::kMalformed) << claims;
    EXPECT_FALSE(r.token.has_value()) << claims;
  }
}

TEST_F(TokenVerifierTest, ClaimsThatAreNotAStrictJsonObjectAreMalformed) {
  const std::string good = DefaultClaims();
  const std::string body = good.substr(1, good.size() - 2);
  for (const std::string& claims : {
           std::string("[]"),
           std::string("\"x\""),
           std::string("1"),
           std::string("null"),
           good + " x",
           good + "{}",
           good + std::string(1, '\0'),
           good.substr(0, good.size() - 1),
           absl::StrCat("{", body, R"(,"sub":"admin"})"),
           absl::StrCat("{", body, R"(,"role":"root"})"),
           absl::StrCat("{", body, R"(,"x":{"a":1,"a":2}})"),
           absl::StrCat("{", body, R"(,"x":[{"a":1,"b":{"c":1,"c":1}}]})"),
           absl::StrCat("{", body, R"(,"x":"\ud800"})"),
           absl::StrCat("{", body, R"(,"x":")", "\xed\xa0\x80", R"("})"),
           absl::StrCat("{", body, R"(,"x":")", "\xff\xfe", R"("})"),
           absl::StrCat("{", body, R"(,"x":")", "\xe2\x82", R"("})"),
           absl::StrCat("{", body, R"(,"x":")", "a\nb", R"("})"),
           absl::StrCat("{", body, R"(,"x":01})"),
           absl::StrCat("{", body, R"(,"x":1,})"),
       }) {
    const VerifyResult r = Verify(EdToken(claims));
    EXPECT_EQ(r.reason, Reason::kMalformed) << claims;
    EXPECT_FALSE(r.token.has_value());
  }
}

TEST_F(TokenVerifierTest, LoneSurrogateEscapesAreMalformedInValuesNamesAndHeaders) {
  // RapidJSON decodes a lone low surrogate to bytes that are not UTF-8; the parser refuses it,
  // and a high surrogate that is alone or followed by anything but a low one.
  const std::string good = DefaultClaims();
  const std::string body = good.substr(1, good.size() - 2);
  for (const char* bad : {R"(\udc00)", R"(\udfff)", R"(a\udc00b)", R"(\ud800)", R"(\udbff)",
                          R"(\ud800x)", R"(\ud800\u0041)", R"(\ud800\ud800)", R"(\udc00\ud800)"}) {
    for (const std::string& claims : {absl::StrCat("{", body, R"(,"x":")", bad, R"("})"),
                                      absl::StrCat("{", body, R"(,")", bad, R"(":1})"),
                                      absl::StrCat("{", body, R"(,"x":["a",")", bad, R"("]})"),
                                      absl::StrCat("{", body, R"(,"x":{"y":")", bad, R"("}})")}) {
      const VerifyResult r = Verify(EdToken(claims));
      EXPECT_EQ(r.reason, Reason::kMalformed) << claims;
      EXPECT_FALSE(r.token.has_value()) << claims;
    }
    // Also when the rest of the text is not ASCII (the parse that validates UTF-8).
    EXPECT_EQ(ReasonOf(EdToken(absl::StrCat("{", body, R"(,"x":"é)", bad, R"("})"))),
              Reason::kMalformed)
        << bad;
    EXPECT_EQ(
        ReasonOf(ed_.Token(absl::StrCat(R"({"alg":"EdDSA","kid":"ed","x":")", bad, R"("})"), good)),
        Reason::kMalformed)
        << bad;
  }
  // A pair is one character; other escapes of the same bytes' neighbourhood are fine.
  for (const char* fine : {R"(\ud83d\ude00)", R"(\ud7ff)", R"(\ue000)", "\xed\x9f\xbf", "é"}) {
    EXPECT_EQ(ReasonOf(EdToken(absl::StrCat("{", body, R"(,"x":")", fine, R"("})"))),
              Reason::kValid)
        << fine;
  }
}

TEST_F(TokenVerifierTest, DuplicatesAreFoundInLargeObjectsToo) {
  std::string many;
  for (int i = 0; i < 40; ++i) absl::StrAppend(&many, R"(,"c)", i, R"(":)", i);
  const std::string good = Claims(kNowSeconds, kNowSeconds, kNowSeconds + 3600, many);
  EXPECT_EQ(ReasonOf(EdToken(good)), Reason::kValid);
  EXPECT_EQ(ReasonOf(EdToken(Claims(kNowSeconds, kNowSeconds, kNowSeconds + 3600,
                                    absl::StrCat(many, R"(,"c3":0)")))),
            Reason::kMalformed);
  EXPECT_EQ(ReasonOf(EdToken(Claims(kNowSeconds, kNowSeconds, kNowSeconds + 3600,
                                    absl::StrCat(many, R"(,"sub":"x")")))),
            Reason::kMalformed);
}

TEST_F(TokenVerifierTest, DeeplyNestedJsonIsMalformedWithoutOverflowingTheStack) {
  const TokenVerifier roomy = MakeVerifier(absl::Seconds(30), 1024 * 1024);
  const std::string arrays = std::string(100000, '[') + std::string(100000, ']');
  std::string objects;
  for (int i = 0; i < 100000; ++i) objects += R"({"a":)";
  objects += "1" + std::string(100000, '}');
  for (const std::string& deep : {arrays, objects}) {
    const std::string claims =
        Claims(kNowSeconds, kNowSeconds, kNowSeconds + 3600, absl::StrCat(R"(,"deep":)", deep));
    const VerifyResult r = roomy.Verify(EdToken(claims), keys_, nullptr, kNow, Audience::Any());
    EXPECT_EQ(r.reason, Reason::kMalformed);
    EXPECT_FALSE(r.token.has_value());
    // The same in the header, where nothing has been verified yet.
    const std::string header = absl::StrCat(R"({"alg":"EdDSA","kid":"ed","deep":)", deep, "}");
    EXPECT_EQ(
        roomy.Verify(ed_.Token(header, DefaultClaims()), keys_, nullptr, kNow, Audience::Any())
            .reason,
        Reason::kMalformed);
  }
  // Moderate nesting in caller claims is fine.
  const std::string nested = std::string(20, '[') + std::string(20, ']');
  EXPECT_EQ(ReasonOf(EdToken(Claims(kNowSeconds, kNowSeconds, kNowSeconds + 3600,
                                    absl::StrCat(R"(,"nested":)", nested)))),
            Reason::kValid);
}

TEST_F(TokenVerifierTest, TheRfc7515ExampleWithoutKidIsMalformed) {
  // RFC 7515 A.1 verifies at the JWS level (see verify_key_test) but carries no kid.
  EXPECT_EQ(ReasonOf("eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
                     "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9p"
                     "c19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            Reason::kMalformed);
}

TEST_F(TokenVerifierTest, AnEmptyKeySetKnowsNoKey) {
  EXPECT_EQ(
      verifier_.Verify(EdToken(DefaultClaims()), KeySet(), nullptr, kNow, Audience::Any()).reason,
      Reason::kUnknownKey);
}

// --- Create and PeekHeader ----------------------------------------------------------------------

TEST(TokenVerifierCreate, RefusesPoliciesOutOfBounds) {
  auto make = [](std::string issuer, absl::Duration leeway, size_t max) {
    ValidationPolicy policy;
    policy.issuer = std::move(issuer);
    policy.leeway = leeway;
    policy.max_token_bytes = max;
    return TokenVerifier::Create(policy);
  };
  EXPECT_TRUE(make("signet", absl::Seconds(30), 8192).ok());
  EXPECT_TRUE(make("signet", absl::ZeroDuration(), 256).ok());
  EXPECT_TRUE(make("signet", absl::Minutes(5), 1024 * 1024).ok());
  EXPECT_EQ(make("", absl::Seconds(30), 8192).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(make("signet", -absl::Nanoseconds(1), 8192).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(make("signet", absl::Minutes(5) + absl::Nanoseconds(1), 8192).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(make("signet", absl::InfiniteDuration(), 8192).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(make("signet", absl::Seconds(30), 255).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(make("signet", absl::Seconds(30), 1024 * 1024 + 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(make("signet", absl::Seconds(30), 0).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(TokenVerifierCreate, KeepsThePolicy) {
  ValidationPolicy policy;
  policy.issuer = "signet";
  policy.leeway = absl::Seconds(7);
  policy.max_token_bytes = 4096;
  absl::StatusOr<TokenVerifier> verifier = TokenVerifier::Create(policy);
  ASSERT_TRUE(verifier.ok());
  EXPECT_EQ(verifier->policy().issuer, "signet");
  EXPECT_EQ(verifier->policy().leeway, absl::Seconds(7));
  EXPECT_EQ(verifier->policy().max_token_bytes, 4096u);
}

TEST_F(TokenVerifierTest, HeadersSeenBeforeGiveTheSameAnswersAsTheFirstTime) {
  // More distinct headers than a thread keeps parsed, in turn, three times over.
  const std::vector<std::pair<std::string, Reason>> cases = {
      {EdToken(DefaultClaims()), Reason::kValid},
      {es_.Token(Header("ES256", "es"), DefaultClaims()), Reason::kValid},
      {hs_.Token(Header("HS256", "hs"), DefaultClaims()), Reason::kValid},
      {EdTokenWithHeader(R"({"alg":"none","kid":"ed"})"), Reason::kUnsupportedAlgorithm},
      {EdTokenWithHeader(R"({"alg":"EdDSA","kid":"ed","crit":["exp"]})"), Reason::kMalformed},
      {EdTokenWithHeader(R"({"alg":"EdDSA","kid":"nobody"})"), Reason::kUnknownKey},
      {EdTokenWithHeader(R"({"alg":"ES256","kid":"ed"})"), Reason::kAlgorithmMismatch},
      {EdTokenWithHeader(std::string(600, ' ') + R"({"alg":"EdDSA","kid":"ed"})"), Reason::kValid},
  };
  for (int round = 0; round < 3; ++round) {
    for (const auto& [token, reason] : cases) {
      const VerifyResult r = Verify(token);
      EXPECT_EQ(r.reason, reason) << round << " " << token;
      if (reason == Reason::kValid) {
        ASSERT_TRUE(r.token.has_value());
        EXPECT_EQ(r.token->subject(), "user-7");
      }
    }
  }
}

TEST_F(TokenVerifierTest, HasCallerClaimsSaysWhetherAnyMemberIsNotRegistered) {
  const VerifyResult with = Verify(EdToken(DefaultClaims()));
  ASSERT_TRUE(with.token.has_value());
  EXPECT_TRUE(with.token->has_caller_claims());

  const std::string registered_only =
      absl::StrCat(R"({"iss":"signet","sub":"u","aud":["a"],"iat":)", kNowSeconds, R"(,"nbf":)",
                   kNowSeconds, R"(,"exp":)", kNowSeconds + 60, R"(,"jti":"j","backend":"b"})");
  const VerifyResult without = Verify(EdToken(registered_only));
  ASSERT_EQ(without.reason, Reason::kValid);
  EXPECT_FALSE(without.token->has_caller_claims());
  EXPECT_EQ(without.token->CallerClaimsJson(), "{}");
}

TEST_F(TokenVerifierTest, PeekHeaderReadsAlgAndKidWithoutVerifying) {
  TestSigner forger = TestSigner::Hmac("any secret at all, thirty-two bytes+");
  absl::StatusOr<TokenHeader> header =
      PeekHeader(forger.Token(Header("HS256", "hs-key-1"), DefaultClaims()));
  ASSERT_TRUE(header.ok()) << header.status();
  EXPECT_EQ(header->algorithm, Algorithm::kHS256);
  EXPECT_EQ(header->kid, "hs-key-1");
}

TEST_F(TokenVerifierTest, PeekHeaderFailsWithTheReasonName) {
  absl::StatusOr<TokenHeader> none =
      PeekHeader(absl::StrCat(SigningInput(R"({"alg":"none","kid":"k"})", "{}"), "."));
  EXPECT_EQ(none.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(none.status().message(), "UNSUPPORTED_ALGORITHM");
  absl::StatusOr<TokenHeader> no_kid =
      PeekHeader(absl::StrCat(SigningInput(R"({"alg":"EdDSA"})", "{}"), "."));
  EXPECT_EQ(no_kid.status().message(), "MALFORMED");
  EXPECT_EQ(PeekHeader("a.b").status().message(), "MALFORMED");
  const std::string token = EdToken(DefaultClaims());
  EXPECT_TRUE(PeekHeader(token, token.size()).ok());
  EXPECT_EQ(PeekHeader(token, token.size() - 1).status().message(), "MALFORMED");
}

}  // namespace
}  // namespace signet
