// Hostile tokens through the real ValidateToken RPC: each gets valid=false with the exact reason
// (or, where gRPC refuses the request before signet sees it, exactly that gRPC status), the server
// stays up after each, and its memory stays flat over 10,000 hostile calls.
//
// Two in-process servers: one with the default limits (8 KiB tokens, 64 KiB requests), where
// megabyte tokens never reach the codec, and one with the largest limits the flags allow
// (1 MiB tokens, 4 MiB requests), where they do.
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/substitute.h"
#include "gtest/gtest.h"
#include "server/proto_convert.h"
#include "signet/base64url.h"
#include "signet/clock.h"
#include "signet/jwk.h"
#include "signet/token_verifier.h"
#include "tests/integration/reliability/reliability_util.h"
#include "tests/integration/test_support.h"
#include "token/signing/signing_key.h"

namespace signet {
namespace {

using ::signet::v1::Reason;

constexpr int64_t kNow = 1700000000;

// What one ValidateToken call gave: the gRPC status, then valid and reason when it was OK.
struct Answer {
  grpc::StatusCode code = grpc::StatusCode::UNKNOWN;
  bool valid = false;
  Reason reason = v1::REASON_UNSPECIFIED;
};

std::string Describe(const Answer& a) {
  if (a.code != grpc::StatusCode::OK) return absl::StrCat("gRPC status ", a.code);
  return a.valid ? "valid" : absl::StrCat("invalid: ", v1::Reason_Name(a.reason));
}

// What a case expects: an invalid answer with `reason`, or a gRPC error `code`, or valid.
struct Expect {
  static Expect Invalid(Reason r) { return {grpc::StatusCode::OK, false, r}; }
  static Expect Status(grpc::StatusCode c) { return {c, false, v1::REASON_UNSPECIFIED}; }
  static Expect Valid() { return {grpc::StatusCode::OK, true, v1::REASON_UNSPECIFIED}; }
  grpc::StatusCode code;
  bool valid;
  Reason reason;
};

bool Matches(const Answer& a, const Expect& e) {
  if (a.code != e.code) return false;
  if (a.code != grpc::StatusCode::OK) return true;
  return a.valid == e.valid && a.reason == e.reason;
}

std::string B64(const std::string& s) { return Base64UrlEncode(s); }

std::string Header(const std::string& alg, const std::string& kid, const std::string& extra = "") {
  return absl::StrCat(R"({"alg":")", alg, R"(","kid":")", kid, R"(","typ":"JWT")", extra, "}");
}

// Claims valid at kNow; `extra` is spliced in before the closing brace.
std::string Claims(const std::string& exp = "", const std::string& extra = "") {
  std::string e = exp.empty() ? absl::StrCat(kNow + 3600) : exp;
  return absl::Substitute(R"({"iss":"signet","sub":"mallory","iat":$0,"nbf":$0,"exp":$1,)"
                          R"("jti":"hostile-jti"$2})",
                          kNow, e, extra);
}

std::string Nested(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

const server::SigningKey& ActiveKey(server::SignetServer* s) {
  return *s->key_ring()->Current()->active;
}

// header.payload.signature, signed by `key` whatever the header says.
std::string SignWith(const server::SigningKey& key, const std::string& header,
                     const std::string& payload) {
  std::string input = absl::StrCat(B64(header), ".", B64(payload));
  absl::StatusOr<std::string> sig = key.Sign(input);
  EXPECT_TRUE(sig.ok()) << sig.status();
  return absl::StrCat(input, ".", B64(sig.ok() ? *sig : ""));
}

class HostileInputTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    clock_ = new FakeClock(absl::FromUnixSeconds(kNow));
    normal_ = StartServer("normal", 8 * 1024, 64 * 1024).release();
    roomy_ = StartServer("roomy", 1024 * 1024, 4 * 1024 * 1024).release();
  }
  static void TearDownTestSuite() {
    delete normal_;
    delete roomy_;
    delete clock_;
    delete dir_;
  }

  static std::unique_ptr<server::SignetServer> StartServer(const std::string& name,
                                                           size_t max_token, size_t max_request) {
    server::SignetServer::Options options;
    options.config = testing::TestConfig(dir_->path() + "/" + name);
    options.config.max_token_bytes = max_token;
    options.config.max_request_bytes = max_request;
    options.clock = clock_;
    options.run_maintenance = false;
    return testing::StartServer(std::move(options));
  }

  void SetUp() override {
    ASSERT_NE(normal_, nullptr);
    ASSERT_NE(roomy_, nullptr);
    normal_stub_ = testing::NewStub(normal_->port());
    roomy_stub_ = testing::NewStub(roomy_->port());
  }

  static const server::SigningKey& Key(server::SignetServer* s) { return ActiveKey(s); }
  // header.payload.signature signed by the server's active key.
  static std::string Signed(server::SignetServer* s, const std::string& header,
                            const std::string& payload) {
    return SignWith(ActiveKey(s), header, payload);
  }
  static std::string Valid(server::SignetServer* s) {
    return Signed(s, Header("EdDSA", Key(s).kid()), Claims());
  }

  static Answer Validate(v1::TokenService::Stub* stub, const std::string& token) {
    v1::ValidateTokenRequest req;
    req.set_token(token);
    req.set_any_audience(true);
    v1::ValidateTokenResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    grpc::Status st = stub->ValidateToken(&ctx, req, &resp);
    return Answer{st.error_code(), resp.valid(), resp.reason()};
  }

  // Sends `token`, checks the answer, then that the server still validates a good token.
  void Check(const std::string& name, v1::TokenService::Stub* stub, server::SignetServer* s,
             const std::string& token, const Expect& expect) {
    SCOPED_TRACE(name);
    Answer a = Validate(stub, token);
    EXPECT_TRUE(Matches(a, expect)) << name << ": got " << Describe(a) << ", want "
                                    << Describe(Answer{expect.code, expect.valid, expect.reason})
                                    << " (token of " << token.size() << " bytes)";
    Answer alive = Validate(stub, Valid(s));
    EXPECT_TRUE(alive.code == grpc::StatusCode::OK && alive.valid)
        << "after " << name << " the server answered " << Describe(alive);
  }

  static testing::TempDir* dir_;
  static FakeClock* clock_;
  static server::SignetServer* normal_;
  static server::SignetServer* roomy_;
  std::unique_ptr<v1::TokenService::Stub> normal_stub_;
  std::unique_ptr<v1::TokenService::Stub> roomy_stub_;
};

testing::TempDir* HostileInputTest::dir_ = nullptr;
FakeClock* HostileInputTest::clock_ = nullptr;
server::SignetServer* HostileInputTest::normal_ = nullptr;
server::SignetServer* HostileInputTest::roomy_ = nullptr;

struct Case {
  std::string name;
  std::string token;
  Expect expect;
};

// Every hostile token of the table, built against server `s` (whose active key signs).
std::vector<Case> HostileCases(server::SignetServer* s) {
  const server::SigningKey& key = *s->key_ring()->Current()->active;
  const std::string kid = key.kid();
  const std::string claims = Claims();
  auto sign = [&](const std::string& h, const std::string& p) { return SignWith(key, h, p); };
  const std::string valid = sign(Header("EdDSA", kid), claims);
  const std::string head = valid.substr(0, valid.find('.'));
  const std::string payload = B64(claims);
  const std::string signature = valid.substr(valid.rfind('.') + 1);
  const std::string unsigned_input = absl::StrCat(head, ".", payload);
  const Expect malformed = Expect::Invalid(v1::REASON_MALFORMED);

  std::vector<Case> cases;
  auto add = [&](std::string name, std::string token, Expect e) {
    cases.push_back(Case{std::move(name), std::move(token), e});
  };

  // Algorithms.
  for (std::string alg : {"none", "None", "NONE", "nOnE"}) {
    add("alg " + alg + ", no signature", B64(Header(alg, kid)) + "." + payload + ".",
        Expect::Invalid(v1::REASON_UNSUPPORTED_ALGORITHM));
  }
  add("alg none, signed by the real key", sign(Header("none", kid), claims),
      Expect::Invalid(v1::REASON_UNSUPPORTED_ALGORITHM));
  add("alg RS256", sign(Header("RS256", kid), claims),
      Expect::Invalid(v1::REASON_UNSUPPORTED_ALGORITHM));
  add("alg missing", sign(absl::StrCat(R"({"kid":")", kid, R"("})"), claims), malformed);
  add("alg a number", sign(absl::StrCat(R"({"alg":1,"kid":")", kid, R"("})"), claims), malformed);
  {
    // The classic key confusion: HMAC keyed with what a verifier can read of the public key.
    const std::string hs_input = absl::StrCat(B64(Header("HS256", kid)), ".", payload);
    absl::StatusOr<std::string> jwk = ToJwk(*key.verify_key());
    for (const auto& [what, secret] : std::vector<std::pair<std::string, std::string>>{
             {"raw public key bytes", key.verify_key()->PublicBytes()},
             {"public key base64url", B64(key.verify_key()->PublicBytes())},
             {"public JWK text", jwk.ok() ? *jwk : ""}}) {
      add("HS256 keyed with the " + what,
          absl::StrCat(hs_input, ".", B64(reliability::HmacSha256(secret, hs_input))),
          Expect::Invalid(v1::REASON_ALGORITHM_MISMATCH));
    }
  }
  add("ES256 header on the EdDSA key", sign(Header("ES256", kid), claims),
      Expect::Invalid(v1::REASON_ALGORITHM_MISMATCH));

  // kid.
  add("kid missing", sign(R"({"alg":"EdDSA","typ":"JWT"})", claims), malformed);
  add("kid empty", sign(Header("EdDSA", ""), claims), malformed);
  add("kid a number", sign(R"({"alg":"EdDSA","kid":7})", claims), malformed);
  add("kid null", sign(R"({"alg":"EdDSA","kid":null})", claims), malformed);
  add("kid 10 KB long (over the 8 KiB token limit)",
      sign(Header("EdDSA", std::string(10 * 1024, 'k')), claims), malformed);
  add("kid ../../../etc/passwd", sign(Header("EdDSA", "../../../etc/passwd"), claims),
      Expect::Invalid(v1::REASON_UNKNOWN_KEY));
  add("kid ../ before the real kid", sign(Header("EdDSA", "../" + kid), claims),
      Expect::Invalid(v1::REASON_UNKNOWN_KEY));
  add("kid with an escaped NUL after the real kid", sign(Header("EdDSA", kid + "\\u0000"), claims),
      Expect::Invalid(v1::REASON_UNKNOWN_KEY));
  add("kid with an escaped NUL before the real kid", sign(Header("EdDSA", "\\u0000" + kid), claims),
      Expect::Invalid(v1::REASON_UNKNOWN_KEY));
  add("kid with a raw NUL byte (not JSON)",
      sign(Header("EdDSA", kid + std::string(1, '\0')), claims), malformed);
  add("kid with non-UTF-8 bytes", sign(Header("EdDSA", kid + "\xff\xfe"), claims), malformed);
  add("kid with an overlong UTF-8 '/'", sign(Header("EdDSA", "\xc0\xaf" + kid), claims), malformed);
  add("kid with a trailing space", sign(Header("EdDSA", kid + " "), claims),
      Expect::Invalid(v1::REASON_UNKNOWN_KEY));
  add("kid of another case", sign(Header("EdDSA", absl::AsciiStrToUpper(kid)), claims),
      Expect::Invalid(v1::REASON_UNKNOWN_KEY));
  {
    // The PENDING key is known and EdDSA too: a real key, but not the one that signed.
    std::string pending;
    for (const server::KeyRecord& r : s->key_ring()->Current()->key_records) {
      if (r.state == server::KeyState::kPending) pending = r.kid;
    }
    add("kid of the pending key on a token the active key signed",
        sign(Header("EdDSA", pending), claims), Expect::Invalid(v1::REASON_BAD_SIGNATURE));
  }

  // Header members that would fetch, embed or extend.
  for (const auto& [member, value] : std::vector<std::pair<std::string, std::string>>{
           {"jku", R"("https://evil.example/jwks.json")"},
           {"x5u", R"("https://evil.example/cert.pem")"},
           {"jwk",
            R"({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})"},
           {"x5c", R"(["MIIB"])"},
           {"crit", R"(["exp"])"},
           {"crit", R"([])"}}) {
    add(absl::StrCat("header member ", member, " = ", value),
        sign(Header("EdDSA", kid, absl::StrCat(",\"", member, "\":", value)), claims), malformed);
  }
  add("typ JWS", sign(absl::StrCat(R"({"alg":"EdDSA","kid":")", kid, R"(","typ":"JWS"})"), claims),
      malformed);
  add("alg twice",
      sign(absl::StrCat(R"({"alg":"EdDSA","alg":"none","kid":")", kid, R"("})"), claims),
      malformed);
  add("header an array", sign(R"(["EdDSA"])", claims), malformed);
  add("header not JSON", sign("alg=EdDSA", claims), malformed);

  // Nesting: the deepest the token size limit lets through, and the parser's exact bound.
  add("2,000-deep arrays in the header",
      sign(Header("EdDSA", kid, ",\"x\":" + Nested(2000)), claims), malformed);
  add("2,000-deep arrays in the payload",
      sign(Header("EdDSA", kid), Claims("", ",\"x\":" + Nested(2000))), malformed);
  add("caller claim nested 63 deep (the limit)",
      sign(Header("EdDSA", kid), Claims("", ",\"x\":" + Nested(63))), Expect::Valid());
  add("caller claim nested 64 deep", sign(Header("EdDSA", kid), Claims("", ",\"x\":" + Nested(64))),
      malformed);

  // Registered claims of the wrong type, range or number.
  const std::string exp = absl::StrCat(kNow + 3600);
  add("exp twice", sign(Header("EdDSA", kid), Claims("", ",\"exp\":" + exp)), malformed);
  add("sub twice", sign(Header("EdDSA", kid), Claims("", R"(,"sub":"root")")), malformed);
  add("caller claim twice", sign(Header("EdDSA", kid), Claims("", R"(,"x":1,"x":2)")), malformed);
  add("exp a string", sign(Header("EdDSA", kid), Claims("\"" + exp + "\"")), malformed);
  add("exp 1e300", sign(Header("EdDSA", kid), Claims("1e300")), malformed);
  add("exp negative", sign(Header("EdDSA", kid), Claims("-1")), malformed);
  add("exp 2^53", sign(Header("EdDSA", kid), Claims("9007199254740992")), malformed);
  add("exp 2^64", sign(Header("EdDSA", kid), Claims("18446744073709551616")), malformed);
  add("exp null", sign(Header("EdDSA", kid), Claims("null")), malformed);
  add("exp true", sign(Header("EdDSA", kid), Claims("true")), malformed);
  add("exp an array", sign(Header("EdDSA", kid), Claims("[" + exp + "]")), malformed);
  add("exp NaN (not JSON)", sign(Header("EdDSA", kid), Claims("NaN")), malformed);
  add("exp a float in the past", sign(Header("EdDSA", kid), Claims(absl::StrCat(kNow - 100, ".5"))),
      Expect::Invalid(v1::REASON_EXPIRED));
  // RFC 7519 NumericDate may be fractional: a float exp in the future is a valid token.
  add("exp a float in the future",
      sign(Header("EdDSA", kid), Claims(absl::StrCat(kNow + 3600, ".5"))), Expect::Valid());
  add("exp 0", sign(Header("EdDSA", kid), Claims("0")), Expect::Invalid(v1::REASON_EXPIRED));
  add("no exp",
      sign(Header("EdDSA", kid),
           absl::Substitute(R"({"iss":"signet","sub":"mallory","iat":$0})", kNow)),
      malformed);
  add("payload not an object", sign(Header("EdDSA", kid), "[1]"), malformed);
  add("payload trailing data", sign(Header("EdDSA", kid), claims + "{}"), malformed);
  add("payload with a raw NUL after the object", sign(Header("EdDSA", kid), claims + '\0'),
      malformed);

  // Shape.
  add("one dot", ".", malformed);
  add("two dots", "..", malformed);
  add("no dots", head, malformed);
  add("empty header", absl::StrCat(".", payload, ".", signature), malformed);
  add("empty payload", absl::StrCat(head, "..", signature),
      Expect::Invalid(v1::REASON_BAD_SIGNATURE));
  add("empty signature", unsigned_input + ".", Expect::Invalid(v1::REASON_BAD_SIGNATURE));
  add("signature of the wrong length", unsigned_input + "." + signature.substr(0, 40),
      Expect::Invalid(v1::REASON_BAD_SIGNATURE));
  add("trailing dot", valid + ".", malformed);
  add("four segments", valid + "." + signature, malformed);
  add("doubled dot", absl::StrCat(head, "..", payload, ".", signature), malformed);
  add("leading dot", "." + valid, malformed);
  add("JWE-like five segments", absl::StrCat(head, "...", payload, ".", signature), malformed);
  for (const auto& [what, ws] : std::vector<std::pair<std::string, std::string>>{
           {"space", " "}, {"tab", "\t"}, {"newline", "\n"}, {"CRLF", "\r\n"}}) {
    add("leading " + what, ws + valid, malformed);
    add("trailing " + what, valid + ws, malformed);
    add(what + " inside the payload segment",
        absl::StrCat(head, ".", payload.substr(0, 5), ws, payload.substr(5), ".", signature),
        malformed);
  }
  add("Bearer prefix inside the token", "Bearer " + valid, malformed);

  // base64url that a lax decoder would accept.
  add("signature padded", valid + "==", malformed);
  add("payload padded",
      absl::StrCat(head, ".", payload,
                   std::string((4 - payload.size() % 4) % 4 + 4, '=').substr(0, 2), ".", signature),
      malformed);
  add("standard alphabet (+ and /)", absl::StrReplaceAll(valid, {{"-", "+"}, {"_", "/"}}),
      valid.find_first_of("-_") == std::string::npos ? Expect::Valid() : malformed);
  {
    // The 86-character signature encodes 64 bytes: its last character carries 2 bits and 4 unused
    // bits. Setting one of those gives the same bytes to a lax decoder.
    std::string noncanonical = valid;
    char& last = noncanonical.back();
    static constexpr std::string_view kAlphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    last = kAlphabet[kAlphabet.find(last) | 1];
    add("signature with non-zero trailing bits", noncanonical, malformed);
  }
  add("header percent-encoded", absl::StrCat("%7B", valid), malformed);

  // gRPC-level: the request must carry a token.
  add("empty token", "", Expect::Status(grpc::StatusCode::INVALID_ARGUMENT));
  add("the valid token (control)", valid, Expect::Valid());
  return cases;
}

TEST_F(HostileInputTest, EveryHostileTokenGetsItsExactReasonAndTheServerStaysUp) {
  std::vector<Case> cases = HostileCases(normal_);
  ASSERT_GT(cases.size(), 80u);
  for (const Case& c : cases) Check(c.name, normal_stub_.get(), normal_, c.token, c.expect);
}

TEST_F(HostileInputTest, TheSameTableGetsTheSameAnswersWithTheLargestLimits) {
  for (Case c : HostileCases(roomy_)) {
    // The 10 KB kid fits the 1 MiB limit: it is then looked up, and unknown.
    if (c.name.rfind("kid 10 KB", 0) == 0) c.expect = Expect::Invalid(v1::REASON_UNKNOWN_KEY);
    Check(c.name, roomy_stub_.get(), roomy_, c.token, c.expect);
  }
}

TEST_F(HostileInputTest, MegabyteTokensAreRefusedByGrpcUnderDefaultLimits) {
  // 64 KiB is the default largest request: gRPC answers RESOURCE_EXHAUSTED before signet runs.
  const std::string kid = Key(normal_).kid();
  Check("1 MB of base64url", normal_stub_.get(), normal_, std::string(1000 * 1000, 'A'),
        Expect::Status(grpc::StatusCode::RESOURCE_EXHAUSTED));
  Check("1 MB payload", normal_stub_.get(), normal_,
        Signed(normal_, Header("EdDSA", kid),
               Claims("", ",\"x\":\"" + std::string(750000, 'x') + "\"")),
        Expect::Status(grpc::StatusCode::RESOURCE_EXHAUSTED));
  Check("100,000-deep arrays in the header", normal_stub_.get(), normal_,
        Signed(normal_, Header("EdDSA", kid, ",\"x\":" + Nested(100000)), Claims()),
        Expect::Status(grpc::StatusCode::RESOURCE_EXHAUSTED));
  // Just under the request limit: the codec's 8 KiB token limit answers.
  Check("60 KB token", normal_stub_.get(), normal_,
        Signed(normal_, Header("EdDSA", kid),
               Claims("", ",\"x\":\"" + std::string(44000, 'x') + "\"")),
        Expect::Invalid(v1::REASON_MALFORMED));
}

TEST_F(HostileInputTest, MegabyteTokensReachTheCodecUnderTheLargestLimits) {
  const std::string kid = Key(roomy_).kid();
  const std::string one_mb_payload =
      Claims("", ",\"x\":\"" + std::string(750000, 'x') + "\"");  // ~1,000,000 bytes as a token.
  const std::string signed_big = Signed(roomy_, Header("EdDSA", kid), one_mb_payload);
  ASSERT_GT(signed_big.size(), 990000u);
  ASSERT_LT(signed_big.size(), 1024u * 1024u);
  Check("1 MB token, validly signed", roomy_stub_.get(), roomy_, signed_big, Expect::Valid());
  std::string forged = signed_big;
  forged[forged.size() / 2] = forged[forged.size() / 2] == 'A' ? 'B' : 'A';
  Check("1 MB token, one byte changed", roomy_stub_.get(), roomy_, forged,
        Expect::Invalid(v1::REASON_BAD_SIGNATURE));
  Check("1 MiB + 1 byte", roomy_stub_.get(), roomy_, std::string(1024 * 1024 + 1, 'A'),
        Expect::Invalid(v1::REASON_MALFORMED));
  Check("1 MB of dots", roomy_stub_.get(), roomy_, std::string(1000 * 1000, '.'),
        Expect::Invalid(v1::REASON_MALFORMED));
  Check("100,000-deep arrays in the header", roomy_stub_.get(), roomy_,
        Signed(roomy_, Header("EdDSA", kid, ",\"x\":" + Nested(100000)), Claims()),
        Expect::Invalid(v1::REASON_MALFORMED));
  Check("100,000-deep arrays in the payload", roomy_stub_.get(), roomy_,
        Signed(roomy_, Header("EdDSA", kid), Claims("", ",\"x\":" + Nested(100000))),
        Expect::Invalid(v1::REASON_MALFORMED));
  Check("100,000-deep objects in the payload", roomy_stub_.get(), roomy_,
        Signed(roomy_, Header("EdDSA", kid),
               Claims("", ",\"x\":" + reliability::NestedObjects(100000))),
        Expect::Invalid(v1::REASON_MALFORMED));
  // Duplicate detection switches to a hash set for large objects: still linear, still exact.
  Check("50,000 caller claims", roomy_stub_.get(), roomy_,
        Signed(roomy_, Header("EdDSA", kid), Claims("", reliability::ManyMembers(50000))),
        Expect::Valid());
  Check("50,000 caller claims, the last repeating the first", roomy_stub_.get(), roomy_,
        Signed(roomy_, Header("EdDSA", kid),
               Claims("", reliability::ManyMembers(50000) + ",\"m0\":0")),
        Expect::Invalid(v1::REASON_MALFORMED));
}

TEST_F(HostileInputTest, NonUtf8InTheRequestFieldIsInvalidArgument) {
  // proto3 string fields must be UTF-8. ValidateToken parses its own request bytes, so a token
  // field that is not UTF-8 is INVALID_ARGUMENT with a message instead of gRPC's bare refusal.
  // (A non-UTF-8 kid has to travel inside the base64url header instead, which the table above
  // covers.)
  Check("raw 0xff in the token field", normal_stub_.get(), normal_, Valid(normal_) + "\xff",
        Expect::Status(grpc::StatusCode::INVALID_ARGUMENT));
}

TEST_F(HostileInputTest, NonUtf8InAnyRequestIsInvalidArgumentAndChangesNothing) {
  // Every unary method parses its own request bytes: gRPC's generated handlers would answer a
  // request protobuf refuses with UNIMPLEMENTED and no message.
  const std::string bad = "\xff\xfe";
  auto expect_invalid = [](const char* rpc, const grpc::Status& status) {
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << rpc;
    EXPECT_TRUE(absl::StrContains(status.error_message(), "must be UTF-8"))
        << rpc << ": " << status.error_message();
  };
  grpc::ClientContext list_context;
  v1::ListKeysResponse before;
  ASSERT_TRUE(normal_stub_->ListKeys(&list_context, v1::ListKeysRequest(), &before).ok());
  {
    grpc::ClientContext context;
    v1::IssueTokenRequest request;
    request.set_subject(bad);
    v1::IssueTokenResponse response;
    expect_invalid("IssueToken subject", normal_stub_->IssueToken(&context, request, &response));
  }
  {
    grpc::ClientContext context;
    v1::IssueTokenRequest request;
    request.set_subject("42");
    request.set_backend(bad);
    v1::IssueTokenResponse response;
    expect_invalid("IssueToken backend", normal_stub_->IssueToken(&context, request, &response));
  }
  {
    grpc::ClientContext context;
    v1::RevokeKeyRequest request;
    request.set_key_id(bad);
    v1::RevokeKeyResponse response;
    expect_invalid("RevokeKey", normal_stub_->RevokeKey(&context, request, &response));
  }
  {
    grpc::ClientContext context;
    v1::RevokeTokenRequest request;
    request.set_token_id(bad);
    v1::RevokeTokenResponse response;
    expect_invalid("RevokeToken", normal_stub_->RevokeToken(&context, request, &response));
  }
  {
    grpc::ClientContext context;
    v1::RevokeSubjectRequest request;
    request.set_subject(bad);
    v1::RevokeSubjectResponse response;
    expect_invalid("RevokeSubject", normal_stub_->RevokeSubject(&context, request, &response));
  }
  // Nothing changed, and the server still works.
  grpc::ClientContext after_context;
  v1::ListKeysResponse after;
  ASSERT_TRUE(normal_stub_->ListKeys(&after_context, v1::ListKeysRequest(), &after).ok());
  EXPECT_EQ(after.SerializeAsString(), before.SerializeAsString());
  Answer alive = Validate(normal_stub_.get(), Valid(normal_));
  EXPECT_TRUE(alive.code == grpc::StatusCode::OK && alive.valid);
}

// The exact answer for a one-character change of the valid token, from the codec's public
// pieces: canonical base64url (Base64UrlDecode), the header (PeekHeader), the key set.
Reason ExpectedForMutation(server::SignetServer* s, const std::string& token) {
  size_t dots = 0;
  for (char c : token) dots += c == '.';
  if (dots != 2) return v1::REASON_MALFORMED;
  const size_t d1 = token.find('.');
  const size_t d2 = token.find('.', d1 + 1);
  std::string scratch;
  for (std::string_view seg :
       {std::string_view(token).substr(0, d1), std::string_view(token).substr(d1 + 1, d2 - d1 - 1),
        std::string_view(token).substr(d2 + 1)}) {
    if (!Base64UrlDecode(seg, &scratch)) return v1::REASON_MALFORMED;
  }
  absl::StatusOr<TokenHeader> header = PeekHeader(token);
  if (!header.ok()) {
    return header.status().message() == "UNSUPPORTED_ALGORITHM" ? v1::REASON_UNSUPPORTED_ALGORITHM
                                                                : v1::REASON_MALFORMED;
  }
  const KeySet::Entry* entry = s->key_ring()->Current()->keys.Find(header->kid);
  if (entry == nullptr) return v1::REASON_UNKNOWN_KEY;
  if (entry->key->algorithm() != header->algorithm) return v1::REASON_ALGORITHM_MISMATCH;
  return v1::REASON_BAD_SIGNATURE;
}

TEST_F(HostileInputTest, AValidTokenWithAnyOneByteChangedIsInvalidForTheExactReason) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const std::string valid = Valid(normal_);
  ASSERT_TRUE(Validate(normal_stub_.get(), valid).valid);
  int checked = 0;
  for (size_t i = 0; i < valid.size(); ++i) {
    // Two changes per position: the next base64url character (still decodes; reaches the header
    // parser or the signature), and a flipped case bit (often outside the alphabet).
    const size_t at = kAlphabet.find(valid[i]);
    std::vector<char> replacements = {
        valid[i] == '.' ? 'A' : kAlphabet[(at + 1) % kAlphabet.size()],
        static_cast<char>(valid[i] ^ 0x20)};
    for (char r : replacements) {
      std::string mutated = valid;
      mutated[i] = r;
      if (mutated == valid) continue;
      const Reason want = ExpectedForMutation(normal_, mutated);
      const Answer got = Validate(normal_stub_.get(), mutated);
      ASSERT_EQ(got.code, grpc::StatusCode::OK) << "position " << i;
      EXPECT_FALSE(got.valid) << "position " << i << " changed to '" << r << "' is valid";
      EXPECT_EQ(v1::Reason_Name(got.reason), v1::Reason_Name(want))
          << "position " << i << " changed to '" << r << "'";
      ++checked;
    }
  }
  EXPECT_GT(checked, static_cast<int>(valid.size()));
  EXPECT_TRUE(Validate(normal_stub_.get(), valid).valid);
}

TEST_F(HostileInputTest, MemoryStaysFlatOverTenThousandHostileCalls) {
  std::vector<Case> cases = HostileCases(normal_);
  cases.push_back(Case{"1 MB", std::string(1000 * 1000, 'A'),
                       Expect::Status(grpc::StatusCode::RESOURCE_EXHAUSTED)});
  auto run = [&](int calls) {
    for (int i = 0; i < calls; ++i) {
      const Case& c = cases[i % cases.size()];
      Answer a = Validate(normal_stub_.get(), c.token);
      ASSERT_TRUE(Matches(a, c.expect)) << c.name << ": " << Describe(a);
    }
  };
  run(2000);  // Warm-up: thread-local buffers, gRPC's pools and arenas reach their working size.
  const int64_t warm_kb = reliability::RssKb();
  run(10000);
  const int64_t after_kb = reliability::RssKb();
  std::printf("RSS after warm-up %lld KiB, after 10,000 hostile calls %lld KiB\n",
              static_cast<long long>(warm_kb), static_cast<long long>(after_kb));
  if (reliability::kSanitizedBuild) {
    GTEST_SKIP() << "RSS is not meaningful under sanitizers (ASan keeps freed memory in "
                    "quarantine); the calls above ran and leaks are checked by LeakSanitizer";
  }
  EXPECT_LT(after_kb - warm_kb, 8 * 1024) << "RSS grew by " << (after_kb - warm_kb) << " KiB";
}

}  // namespace
}  // namespace signet
