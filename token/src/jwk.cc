#include "signet/jwk.h"

#include <sodium.h>

#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "internal/crypto_util.h"
#include "internal/strict_json.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "signet/base64url.h"

namespace signet {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void WriteString(JsonWriter& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

// True when `s` is valid UTF-8 (RapidJSON's validating writer refuses anything else).
bool IsUtf8(std::string_view s) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer, rapidjson::UTF8<>, rapidjson::UTF8<>,
                    rapidjson::CrtAllocator, rapidjson::kWriteValidateEncodingFlag>
      w(buffer);
  return w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

// Writes the required public members in RFC 7638 order (lexicographic), which is also a fine
// order for a published JWK. `public_bytes`' size has been checked by the caller.
void WriteThumbprintMembers(JsonWriter& w, Algorithm alg, std::string_view public_bytes) {
  if (alg == Algorithm::kEdDSA) {
    w.Key("crv");
    w.String("Ed25519");
    w.Key("kty");
    w.String("OKP");
    w.Key("x");
    WriteString(w, Base64UrlEncode(public_bytes));
  } else {
    w.Key("crv");
    w.String("P-256");
    w.Key("kty");
    w.String("EC");
    w.Key("x");
    WriteString(w, Base64UrlEncode(public_bytes.substr(0, 32)));
    w.Key("y");
    WriteString(w, Base64UrlEncode(public_bytes.substr(32, 32)));
  }
}

absl::Status CheckPublicBytes(Algorithm alg, std::string_view public_bytes) {
  switch (alg) {
    case Algorithm::kEdDSA:
      if (public_bytes.size() == 32) return absl::OkStatus();
      return absl::InvalidArgumentError("an Ed25519 public key is 32 bytes");
    case Algorithm::kES256:
      if (public_bytes.size() == 64) return absl::OkStatus();
      return absl::InvalidArgumentError("a P-256 public key is x||y, 64 bytes");
    case Algorithm::kHS256:
      break;
  }
  return absl::InvalidArgumentError("HMAC keys have no public JWK");
}

void WriteJwk(JsonWriter& w, const VerifyKey& key) {
  const std::string public_bytes = key.PublicBytes();
  w.StartObject();
  if (key.algorithm() == Algorithm::kEdDSA) {
    w.Key("kty");
    w.String("OKP");
    w.Key("crv");
    w.String("Ed25519");
    w.Key("x");
    WriteString(w, Base64UrlEncode(public_bytes));
  } else {
    w.Key("kty");
    w.String("EC");
    w.Key("crv");
    w.String("P-256");
    w.Key("x");
    WriteString(w, Base64UrlEncode(std::string_view(public_bytes).substr(0, 32)));
    w.Key("y");
    WriteString(w, Base64UrlEncode(std::string_view(public_bytes).substr(32, 32)));
  }
  w.Key("kid");
  WriteString(w, key.kid());
  w.Key("alg");
  WriteString(w, AlgorithmName(key.algorithm()));
  w.Key("use");
  w.String("sig");
  w.EndObject();
}

// A string member: nullptr when absent, an error when present but not a string.
absl::StatusOr<const rapidjson::Value*> OptionalString(const rapidjson::Value& obj,
                                                       const char* name) {
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd()) return nullptr;
  if (!it->value.IsString()) {
    return absl::InvalidArgumentError(absl::StrCat("JWK member \"", name, "\" is not a string"));
  }
  return &it->value;
}

std::string_view View(const rapidjson::Value& v) {
  return std::string_view(v.GetString(), v.GetStringLength());
}

absl::StatusOr<std::string> RequiredBytes(const rapidjson::Value& obj, const char* name,
                                          size_t size) {
  absl::StatusOr<const rapidjson::Value*> v = OptionalString(obj, name);
  if (!v.ok()) return v.status();
  if (*v == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("JWK member \"", name, "\" is missing"));
  }
  std::string bytes;
  if (!Base64UrlDecode(View(**v), &bytes) || bytes.size() != size) {
    return absl::InvalidArgumentError(
        absl::StrCat("JWK member \"", name, "\" is not ", size, " bytes of canonical base64url"));
  }
  return bytes;
}

absl::StatusOr<std::shared_ptr<const VerifyKey>> KeyFromJwk(const rapidjson::Value& jwk) {
  if (!jwk.IsObject()) return absl::InvalidArgumentError("a JWK is a JSON object");
  if (jwk.HasMember("d")) {
    return absl::InvalidArgumentError("the JWK holds private key material (\"d\"); refused");
  }
  absl::StatusOr<const rapidjson::Value*> kty = OptionalString(jwk, "kty");
  absl::StatusOr<const rapidjson::Value*> crv = OptionalString(jwk, "crv");
  absl::StatusOr<const rapidjson::Value*> kid = OptionalString(jwk, "kid");
  absl::StatusOr<const rapidjson::Value*> alg = OptionalString(jwk, "alg");
  absl::StatusOr<const rapidjson::Value*> use = OptionalString(jwk, "use");
  for (const auto* member : {&kty, &crv, &kid, &alg, &use}) {
    if (!member->ok()) return member->status();
  }
  if (*kty == nullptr) return absl::InvalidArgumentError("JWK member \"kty\" is missing");
  if (*kid == nullptr || (*kid)->GetStringLength() == 0) {
    return absl::InvalidArgumentError("JWK member \"kid\" is missing or empty");
  }
  if (*use != nullptr && View(**use) != "sig") {
    return absl::InvalidArgumentError("JWK \"use\" must be \"sig\"");
  }
  const std::string_view kty_name = View(**kty);
  const std::string_view crv_name = *crv == nullptr ? std::string_view() : View(**crv);
  std::string kid_value(View(**kid));
  // A "\udc00" escape (a lone surrogate) passes the parser but decodes to bytes that are not
  // UTF-8: such a kid could not be written back out. Found by tests/fuzz/jwk_fuzzer.
  if (!IsUtf8(kid_value)) return absl::InvalidArgumentError("JWK \"kid\" is not valid UTF-8");
  if (kty_name == "oct") return absl::InvalidArgumentError("symmetric JWKs are refused");
  if (kty_name == "OKP") {
    if (crv_name != "Ed25519") return absl::InvalidArgumentError("OKP JWK curve must be Ed25519");
    if (*alg != nullptr && View(**alg) != "EdDSA") {
      return absl::InvalidArgumentError("JWK \"alg\" does not match its Ed25519 key");
    }
    absl::StatusOr<std::string> x = RequiredBytes(jwk, "x", 32);
    if (!x.ok()) return x.status();
    return VerifyKey::Ed25519(std::move(kid_value), *x);
  }
  if (kty_name == "EC") {
    if (crv_name != "P-256") return absl::InvalidArgumentError("EC JWK curve must be P-256");
    if (*alg != nullptr && View(**alg) != "ES256") {
      return absl::InvalidArgumentError("JWK \"alg\" does not match its P-256 key");
    }
    absl::StatusOr<std::string> x = RequiredBytes(jwk, "x", 32);
    if (!x.ok()) return x.status();
    absl::StatusOr<std::string> y = RequiredBytes(jwk, "y", 32);
    if (!y.ok()) return y.status();
    return VerifyKey::P256(std::move(kid_value), *x, *y);
  }
  return absl::InvalidArgumentError("unsupported JWK \"kty\" (OKP/Ed25519 or EC/P-256 only)");
}

// Parses `json` strictly (see internal/strict_json.h) into *doc.
absl::Status ParseStrict(std::string_view json, rapidjson::Document* doc) {
  if (!internal::IsStrictJsonObject(json)) {
    return absl::InvalidArgumentError(
        "not a strict JSON object (UTF-8, no duplicate members, bounded nesting)");
  }
  const std::string copy(json);
  doc->Parse<rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag>(copy.c_str());
  if (doc->HasParseError() || !doc->IsObject()) {
    return absl::InvalidArgumentError("not a JSON object");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> JwkThumbprint(Algorithm alg, std::string_view public_bytes) {
  if (absl::Status s = CheckPublicBytes(alg, public_bytes); !s.ok()) return s;
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  WriteThumbprintMembers(w, alg, public_bytes);
  w.EndObject();
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(buffer.GetString()),
                     buffer.GetSize());
  return Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

absl::StatusOr<std::string> ToJwk(const VerifyKey& key) {
  if (absl::Status s = CheckPublicBytes(key.algorithm(), key.PublicBytes()); !s.ok()) return s;
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  WriteJwk(w, key);
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string ToJwks(const std::vector<std::shared_ptr<const VerifyKey>>& keys) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  w.Key("keys");
  w.StartArray();
  for (const auto& key : keys) {
    if (key == nullptr || !CheckPublicBytes(key->algorithm(), key->PublicBytes()).ok()) continue;
    WriteJwk(w, *key);
  }
  w.EndArray();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

absl::StatusOr<std::shared_ptr<const VerifyKey>> ParseJwk(std::string_view json) {
  rapidjson::Document doc;
  if (absl::Status s = ParseStrict(json, &doc); !s.ok()) return s;
  return KeyFromJwk(doc);
}

absl::StatusOr<std::vector<std::shared_ptr<const VerifyKey>>> ParseJwks(std::string_view json) {
  rapidjson::Document doc;
  if (absl::Status s = ParseStrict(json, &doc); !s.ok()) return s;
  auto keys = doc.FindMember("keys");
  if (keys == doc.MemberEnd() || !keys->value.IsArray()) {
    return absl::InvalidArgumentError("a JWK Set needs a \"keys\" array");
  }
  std::vector<std::shared_ptr<const VerifyKey>> out;
  absl::flat_hash_set<std::string> kids;
  for (const rapidjson::Value& jwk : keys->value.GetArray()) {
    absl::StatusOr<std::shared_ptr<const VerifyKey>> key = KeyFromJwk(jwk);
    if (!key.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("JWK Set entry ", out.size(), ": ", key.status().message()));
    }
    if (!kids.insert((*key)->kid()).second) {
      return absl::InvalidArgumentError("JWK Set has two keys with the same kid");
    }
    out.push_back(*std::move(key));
  }
  return out;
}

}  // namespace signet
