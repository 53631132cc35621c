#include "token/signing/token_signer.h"

#include <rapidjson/document.h>
#include <rapidjson/encodings.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <sodium.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "signet/algorithm.h"
#include "signet/base64url.h"
#include "signet/registered_claims.h"
#include "signet/verified_token.h"

namespace signet::server {
namespace {

// Deeper caller claims are refused: rapidjson's writer recurses once per level.
// google.protobuf.Struct spends about three message levels per JSON level, and protobuf parsers
// stop at 100: deeper claims could be signed but not returned by ValidateToken.
constexpr int kMaxCallerClaimsDepth = 30;
constexpr size_t kTokenIdBytes = 16;

// Strings that are not valid UTF-8 make String() fail instead of producing JSON that every
// verifier would refuse.
using JsonWriter =
    rapidjson::Writer<rapidjson::StringBuffer, rapidjson::UTF8<>, rapidjson::UTF8<>,
                      rapidjson::CrtAllocator, rapidjson::kWriteValidateEncodingFlag>;

constexpr unsigned kCallerClaimsParseFlags = rapidjson::kParseValidateEncodingFlag |
                                             rapidjson::kParseIterativeFlag |
                                             rapidjson::kParseNumbersAsStringsFlag;

// Debian's Abseil has its own absl::string_view (not std::string_view).
absl::string_view AbslView(std::string_view s) { return {s.data(), s.size()}; }

// A member name for an error message: escaped and bounded.
std::string Quoted(std::string_view name) {
  constexpr size_t kMaxShown = 64;
  std::string shown = absl::CHexEscape(AbslView(name.substr(0, kMaxShown)));
  return absl::StrCat("\"", shown, name.size() > kMaxShown ? "...\"" : "\"");
}

std::string_view NameOf(const rapidjson::Value& name) {
  return {name.GetString(), name.GetStringLength()};
}

// Refuses repeated member names at every depth (verifiers refuse them), and excessive nesting.
absl::Status CheckNoDuplicates(const rapidjson::Value& value, int depth,
                               std::string_view top_member) {
  if (depth > kMaxCallerClaimsDepth) {
    return absl::InvalidArgumentError(absl::StrCat("caller claim ", Quoted(top_member),
                                                   " nests deeper than ", kMaxCallerClaimsDepth,
                                                   " levels"));
  }
  if (value.IsObject()) {
    absl::flat_hash_set<std::string_view> seen;
    seen.reserve(value.MemberCount());
    for (const auto& member : value.GetObject()) {
      std::string_view name = NameOf(member.name);
      if (!seen.insert(name).second) {
        return absl::InvalidArgumentError(
            depth == 1 ? absl::StrCat("caller claims repeat the member ", Quoted(name))
                       : absl::StrCat("caller claim ", Quoted(top_member), " repeats the member ",
                                      Quoted(name)));
      }
      if (absl::Status s =
              CheckNoDuplicates(member.value, depth + 1, depth == 1 ? name : top_member);
          !s.ok()) {
        return s;
      }
    }
  } else if (value.IsArray()) {
    for (const auto& element : value.GetArray()) {
      if (absl::Status s = CheckNoDuplicates(element, depth + 1, top_member); !s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

// Forwards a reader's events to `handler`, reading numbers from their text: integers exactly,
// others with the C library's strtod (correctly rounded). RapidJSON 1.1.0's own full-precision
// strtod misreads long or oddly written numbers: "0e300" and
// "0.0000000000000000000000000000001e-300" become arbitrary values, the latter after an
// out-of-range table index (found by tests/fuzz/claims_fuzzer; docs/RELIABILITY.md).
template <typename Handler>
class ExactNumbers {
 public:
  explicit ExactNumbers(Handler& handler) : h_(handler) {}
  bool Null() { return h_.Null(); }
  bool Bool(bool b) { return h_.Bool(b); }
  bool Int(int i) { return h_.Int(i); }
  bool Uint(unsigned u) { return h_.Uint(u); }
  bool Int64(int64_t i) { return h_.Int64(i); }
  bool Uint64(uint64_t u) { return h_.Uint64(u); }
  bool Double(double d) { return h_.Double(d); }
  bool RawNumber(const char* text, rapidjson::SizeType length, bool) {
    const std::string number(text, length);
    if (number.find_first_of(".eE") == std::string::npos) {
      int64_t i = 0;
      uint64_t u = 0;
      if (number[0] == '-' ? absl::SimpleAtoi(number, &i) : absl::SimpleAtoi(number, &u)) {
        return number[0] == '-' ? h_.Int64(i) : h_.Uint64(u);
      }
      // Beyond 64 bits: a double, as RapidJSON does.
    }
    const double d = std::strtod(number.c_str(), nullptr);
    if (!std::isfinite(d)) return false;  // Too big for a double, as RapidJSON refuses it.
    return h_.Double(d);
  }
  bool String(const char* s, rapidjson::SizeType n, bool copy) { return h_.String(s, n, copy); }
  bool StartObject() { return h_.StartObject(); }
  bool Key(const char* s, rapidjson::SizeType n, bool copy) { return h_.Key(s, n, copy); }
  bool EndObject(rapidjson::SizeType n) { return h_.EndObject(n); }
  bool StartArray() { return h_.StartArray(); }
  bool EndArray(rapidjson::SizeType n) { return h_.EndArray(n); }

 private:
  Handler& h_;
};

absl::StatusOr<rapidjson::Document> ParseCallerClaims(std::string_view json) {
  rapidjson::Document doc;
  rapidjson::ParseResult result;
  auto parse = [&](rapidjson::Document& handler) {
    rapidjson::MemoryStream memory(json.data(), json.size());
    rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream> stream(memory);
    rapidjson::Reader reader;
    ExactNumbers<rapidjson::Document> exact(handler);
    result = reader.Parse<kCallerClaimsParseFlags>(stream, exact);
    return !result.IsError();
  };
  doc.Populate(parse);
  if (result.IsError()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "caller claims are not valid UTF-8 JSON: ", rapidjson::GetParseError_En(result.Code()),
        " (at offset ", result.Offset(), ")"));
  }
  if (!doc.IsObject()) return absl::InvalidArgumentError("caller claims must be a JSON object");
  for (const auto& member : doc.GetObject()) {
    std::string_view name = NameOf(member.name);
    if (IsRegisteredClaim(name)) {
      return absl::InvalidArgumentError(
          absl::StrCat("caller claims may not set the registered claim ", Quoted(name)));
    }
  }
  if (absl::Status s = CheckNoDuplicates(doc, 1, {}); !s.ok()) return s;
  return doc;
}

absl::Status WriteStringMember(JsonWriter& w, std::string_view name, std::string_view value) {
  w.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()));
  if (!w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()))) {
    return absl::InvalidArgumentError(
        absl::StrCat("claim ", AbslView(name), " is not valid UTF-8"));
  }
  return absl::OkStatus();
}

std::string_view View(const rapidjson::StringBuffer& buffer) {
  return {buffer.GetString(), buffer.GetSize()};
}

// The JOSE header: alg, kid, typ.
absl::Status WriteHeader(const SigningKey& key, rapidjson::StringBuffer* out) {
  JsonWriter w(*out);
  w.StartObject();
  if (absl::Status s = WriteStringMember(w, "alg", AlgorithmName(key.algorithm())); !s.ok()) {
    return s;
  }
  if (absl::Status s = WriteStringMember(w, "kid", key.kid()); !s.ok()) return s;
  if (absl::Status s = WriteStringMember(w, "typ", "JWT"); !s.ok()) return s;
  w.EndObject();
  return absl::OkStatus();
}

// aud: one string for one audience (RFC 7519 allows either form), an array for several, absent
// for none.
absl::Status WriteAudiences(JsonWriter& w, const std::vector<std::string>& audiences) {
  const std::string_view name = ClaimName(RegisteredClaim::kAud);
  if (audiences.size() == 1) return WriteStringMember(w, name, audiences.front());
  if (audiences.empty()) return absl::OkStatus();
  w.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()));
  w.StartArray();
  for (const std::string& audience : audiences) {
    if (!w.String(audience.data(), static_cast<rapidjson::SizeType>(audience.size()))) {
      return absl::InvalidArgumentError("claim aud is not valid UTF-8");
    }
  }
  w.EndArray();
  return absl::OkStatus();
}

void WriteTime(JsonWriter& w, RegisteredClaim claim, absl::Time t) {
  const std::string_view name = ClaimName(claim);
  w.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()));
  w.Int64(absl::ToUnixSeconds(t));
}

// Caller claims after the registered ones, as parsed (ParseCallerClaims).
absl::Status WriteCallerClaims(JsonWriter& w, const rapidjson::Document& caller) {
  if (!caller.IsObject()) return absl::OkStatus();
  for (const auto& member : caller.GetObject()) {
    // The writer refuses strings that are not UTF-8: a "\udc00" escape (a lone surrogate)
    // parses, but no verifier would accept the token (found by tests/fuzz/claims_fuzzer).
    if (!w.Key(member.name.GetString(), member.name.GetStringLength()) || !member.value.Accept(w)) {
      return absl::InvalidArgumentError(absl::StrCat("caller claim ", Quoted(NameOf(member.name)),
                                                     " is not valid UTF-8 (lone surrogate?)"));
    }
  }
  return absl::OkStatus();
}

// The claims: iss, sub, aud, iat = nbf, exp, jti, backend (when set), then the caller's.
absl::Status WritePayload(const TokenClaims& claims, const rapidjson::Document& caller,
                          rapidjson::StringBuffer* out) {
  JsonWriter w(*out);
  w.StartObject();
  if (absl::Status s = WriteStringMember(w, ClaimName(RegisteredClaim::kIss), claims.issuer);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = WriteStringMember(w, ClaimName(RegisteredClaim::kSub), claims.subject);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = WriteAudiences(w, claims.audiences); !s.ok()) return s;
  WriteTime(w, RegisteredClaim::kIat, claims.issued_at);
  WriteTime(w, RegisteredClaim::kNbf, claims.issued_at);
  WriteTime(w, RegisteredClaim::kExp, claims.expires_at);
  if (absl::Status s = WriteStringMember(w, ClaimName(RegisteredClaim::kJti), claims.token_id);
      !s.ok()) {
    return s;
  }
  if (!claims.backend.empty()) {
    if (absl::Status s = WriteStringMember(w, ClaimName(RegisteredClaim::kBackend), claims.backend);
        !s.ok()) {
      return s;
    }
  }
  if (absl::Status s = WriteCallerClaims(w, caller); !s.ok()) return s;
  w.EndObject();
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> SignToken(const SigningKey& key, const TokenClaims& claims) {
  if (claims.issued_at == absl::InfiniteFuture() || claims.issued_at == absl::InfinitePast() ||
      claims.expires_at == absl::InfiniteFuture() || claims.expires_at == absl::InfinitePast()) {
    return absl::InvalidArgumentError("token times must be finite");
  }
  // Parsed before anything is written: a bad caller claim costs no signature.
  rapidjson::Document caller;
  if (!claims.caller_claims_json.empty()) {
    absl::StatusOr<rapidjson::Document> parsed = ParseCallerClaims(claims.caller_claims_json);
    if (!parsed.ok()) return parsed.status();
    caller = *std::move(parsed);
  }
  rapidjson::StringBuffer header_json;
  if (absl::Status s = WriteHeader(key, &header_json); !s.ok()) return s;
  rapidjson::StringBuffer payload_json;
  if (absl::Status s = WritePayload(claims, caller, &payload_json); !s.ok()) return s;

  std::string token = Base64UrlEncode(View(header_json));
  token += '.';
  token += Base64UrlEncode(View(payload_json));
  absl::StatusOr<std::string> signature = key.Sign(token);
  if (!signature.ok()) return signature.status();
  token += '.';
  token += Base64UrlEncode(*signature);
  return token;
}

std::string NewTokenId() {
  unsigned char bits[kTokenIdBytes];
  // randombytes_buf cannot fail: libsodium aborts rather than hand out weak bytes. sodium_init
  // (once) lets it pick the OS generator up front.
  static const int sodium_ready = sodium_init();
  (void)sodium_ready;
  randombytes_buf(bits, sizeof(bits));
  return Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(bits), sizeof(bits)));
}

}  // namespace signet::server
