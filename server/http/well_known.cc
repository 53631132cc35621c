#include "server/http/well_known.h"

#include <openssl/evp.h>

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "signet/algorithm.h"
#include "signet/base64url.h"
#include "signet/registered_claims.h"

namespace signet::server {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void String(JsonWriter& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

void StringArray(JsonWriter& w, std::string_view key, const std::vector<std::string_view>& items) {
  String(w, key);
  w.StartArray();
  for (std::string_view item : items) String(w, item);
  w.EndArray();
}

// Debian's Abseil has its own string_view type.
absl::string_view Absl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// W/"x" and "x" compare equal under weak comparison.
absl::string_view Opaque(absl::string_view tag) {
  tag = absl::StripAsciiWhitespace(tag);
  absl::ConsumePrefix(&tag, "W/");
  return tag;
}

}  // namespace

std::string StrongEtag(std::string_view body) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(body.data(), body.size(), digest, &size, EVP_sha256(), nullptr) != 1) {
    // Never expected; an ETag that matches nothing only costs a full response.
    return "\"unhashed\"";
  }
  return absl::StrCat(
      "\"", Base64UrlEncode(std::string_view(reinterpret_cast<char*>(digest), size)), "\"");
}

bool IfNoneMatchMatches(std::string_view if_none_match, std::string_view etag) {
  if (absl::StripAsciiWhitespace(Absl(if_none_match)) == "*") return true;
  absl::string_view wanted = Opaque(Absl(etag));
  for (absl::string_view candidate : absl::StrSplit(Absl(if_none_match), ',')) {
    if (Opaque(candidate) == wanted) return true;
  }
  return false;
}

int64_t JwksMaxAgeSeconds(absl::Duration publish_ahead) {
  int64_t half = absl::ToInt64Seconds(publish_ahead / 2);
  return std::clamp<int64_t>(half, 0, 300);
}

std::string JwksCacheControl(absl::Duration publish_ahead) {
  return absl::StrCat("public, max-age=", JwksMaxAgeSeconds(publish_ahead));
}

std::string DiscoveryJson(std::string_view issuer, std::string_view public_url,
                          const StateSnapshot& snapshot) {
  // The algorithms of the keys the JWKS publishes (HMAC keys are never published), in a fixed
  // order so the document is stable.
  bool eddsa = false, es256 = false;
  for (const KeyRecord& k : snapshot.key_records) {
    if (k.state == KeyState::kRevoked) continue;
    eddsa |= k.algorithm == Algorithm::kEdDSA;
    es256 |= k.algorithm == Algorithm::kES256;
  }
  std::vector<std::string_view> algorithms;
  if (eddsa) algorithms.push_back(AlgorithmName(Algorithm::kEdDSA));
  if (es256) algorithms.push_back(AlgorithmName(Algorithm::kES256));

  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  String(w, "issuer");
  String(w, issuer);
  String(w, "jwks_uri");
  String(w, absl::StrCat(absl::StripSuffix(Absl(public_url), "/"), kJwksPath));
  StringArray(w, "response_types_supported", {});
  StringArray(w, "subject_types_supported", {"public"});
  StringArray(w, "id_token_signing_alg_values_supported", algorithms);
  StringArray(w, "claims_supported", {kRegisteredClaimNames.begin(), kRegisteredClaimNames.end()});
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string UrlPath(std::string_view url) {
  absl::string_view rest = Absl(url);
  if (!absl::ConsumePrefix(&rest, "https://") && !absl::ConsumePrefix(&rest, "http://")) {
    return "";
  }
  const size_t slash = rest.find('/');
  if (slash == absl::string_view::npos) return "";
  const absl::string_view path = absl::StripSuffix(rest.substr(slash), "/");
  // A query or fragment makes no issuer (RFC 8414 section 2); nor do segments a router would read
  // otherwise.
  if (path.find_first_of("?#") != absl::string_view::npos || absl::StrContains(path, "//") ||
      absl::StrContains(path, "/../") || absl::EndsWith(path, "/..")) {
    return "";
  }
  return std::string(path);
}

std::vector<std::string> DiscoveryPaths(std::string_view issuer) {
  std::vector<std::string> paths = {kDiscoveryPath, kOAuthMetadataPath};
  const std::string path = UrlPath(issuer);
  if (path.empty()) return paths;
  paths.push_back(absl::StrCat(path, kDiscoveryPath));
  paths.push_back(absl::StrCat(kOAuthMetadataPath, path));
  return paths;
}

bool IsWildcardHost(std::string_view host) {
  return host.empty() || host == "0.0.0.0" || host == "::" || host == "[::]";
}

}  // namespace signet::server
