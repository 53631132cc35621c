#include "server/keys/token_signer.h"

#include <rapidjson/document.h>
#include <rapidjson/encodings.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <sodium.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "signet/algorithm.h"
#include "signet/base64url.h"
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
                                             rapidjson::kParseFullPrecisionFlag;

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

absl::StatusOr<rapidjson::Document> ParseCallerClaims(std::string_view json) {
  rapidjson::Document doc;
  doc.Parse<kCallerClaimsParseFlags>(json.data(), json.size());
  if (doc.HasParseError()) {
    return absl::InvalidArgumentError(absl::StrCat("caller claims are not valid UTF-8 JSON: ",
                                                   rapidjson::GetParseError_En(doc.GetParseError()),
                                                   " (at offset ", doc.GetErrorOffset(), ")"));
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
  {
    JsonWriter w(header_json);
    w.StartObject();
    if (absl::Status s = WriteStringMember(w, "alg", AlgorithmName(key.algorithm())); !s.ok()) {
      return s;
    }
    if (absl::Status s = WriteStringMember(w, "kid", key.kid()); !s.ok()) return s;
    if (absl::Status s = WriteStringMember(w, "typ", "JWT"); !s.ok()) return s;
    w.EndObject();
  }

  rapidjson::StringBuffer payload_json;
  {
    JsonWriter w(payload_json);
    w.StartObject();
    if (absl::Status s = WriteStringMember(w, "iss", claims.issuer); !s.ok()) return s;
    if (absl::Status s = WriteStringMember(w, "sub", claims.subject); !s.ok()) return s;
    if (claims.audiences.size() == 1) {
      if (absl::Status s = WriteStringMember(w, "aud", claims.audiences.front()); !s.ok()) {
        return s;
      }
    } else if (!claims.audiences.empty()) {
      w.Key("aud");
      w.StartArray();
      for (const std::string& audience : claims.audiences) {
        if (!w.String(audience.data(), static_cast<rapidjson::SizeType>(audience.size()))) {
          return absl::InvalidArgumentError("claim aud is not valid UTF-8");
        }
      }
      w.EndArray();
    }
    const int64_t issued_at = absl::ToUnixSeconds(claims.issued_at);
    w.Key("iat");
    w.Int64(issued_at);
    w.Key("nbf");
    w.Int64(issued_at);
    w.Key("exp");
    w.Int64(absl::ToUnixSeconds(claims.expires_at));
    if (absl::Status s = WriteStringMember(w, "jti", claims.token_id); !s.ok()) return s;
    if (!claims.backend.empty()) {
      if (absl::Status s = WriteStringMember(w, "backend", claims.backend); !s.ok()) return s;
    }
    if (caller.IsObject()) {
      for (const auto& member : caller.GetObject()) {
        // The writer refuses strings that are not UTF-8: a "\udc00" escape (a lone surrogate)
        // parses, but no verifier would accept the token (found by tests/fuzz/claims_fuzzer).
        if (!w.Key(member.name.GetString(), member.name.GetStringLength()) ||
            !member.value.Accept(w)) {
          return absl::InvalidArgumentError(absl::StrCat("caller claim ",
                                                         Quoted(NameOf(member.name)),
                                                         " is not valid UTF-8 (lone surrogate?)"));
        }
      }
    }
    w.EndObject();
  }

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
