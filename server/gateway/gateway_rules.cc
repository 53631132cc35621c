#include "server/gateway/gateway_rules.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "rapidjson/document.h"
#include "rapidjson/error/en.h"

namespace signet::server {
namespace {

using rapidjson::Value;

constexpr absl::string_view kIdentityPrefix = "x-signet-";
constexpr size_t kMaxHeaderNameBytes = 64;

// Field-by-field reading of one JSON object with errors naming the file and the field.
class Reader {
 public:
  explicit Reader(absl::string_view source) : source_(source) {}

  absl::Status Error(absl::string_view field, absl::string_view problem) const {
    return absl::InvalidArgumentError(absl::StrCat("gateway rules file ", source_, ": ", field,
                                                   field.empty() ? "" : ": ", problem));
  }

  // Refuses a non-object, members not in `known` and members named twice.
  absl::Status Object(const Value& v, absl::string_view field,
                      const std::vector<absl::string_view>& known) const {
    if (!v.IsObject()) return Error(field, "must be a JSON object");
    std::set<absl::string_view> seen;
    for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
      absl::string_view name(it->name.GetString(), it->name.GetStringLength());
      std::string where = field.empty() ? std::string(name) : absl::StrCat(field, ".", name);
      if (std::find(known.begin(), known.end(), name) == known.end()) {
        return Error(where,
                     absl::StrCat("unknown field (known: ", absl::StrJoin(known, ", "), ")"));
      }
      if (!seen.insert(name).second) return Error(where, "appears twice");
    }
    return absl::OkStatus();
  }

  // The string member `name` of `object` into `out`; absent leaves `out` alone.
  absl::Status String(const Value& object, absl::string_view field, const char* name,
                      std::string* out) const {
    auto it = object.FindMember(name);
    if (it == object.MemberEnd()) return absl::OkStatus();
    std::string where = field.empty() ? name : absl::StrCat(field, ".", name);
    if (!it->value.IsString()) return Error(where, "must be a string");
    *out = std::string(it->value.GetString(), it->value.GetStringLength());
    return absl::OkStatus();
  }

 private:
  std::string source_;
};

bool IsPrintableAscii(absl::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

absl::Status ParseRoute(const Value& v, const std::string& field, const Reader& reader,
                        GatewayRoute* route) {
  if (absl::Status s =
          reader.Object(v, field, {"host", "path_prefix", "token", "audience", "description"});
      !s.ok()) {
    return s;
  }
  std::string token = "required";
  std::string description;
  for (auto [name, out] : {std::pair<const char*, std::string*>{"host", &route->host},
                           {"path_prefix", &route->path_prefix},
                           {"token", &token},
                           {"audience", &route->audience},
                           {"description", &description}}) {
    if (absl::Status s = reader.String(v, field, name, out); !s.ok()) return s;
  }
  if (v.HasMember("host")) {
    if (route->host.empty() || !IsPrintableAscii(route->host) ||
        absl::StrContains(route->host, ":") || absl::StrContains(route->host, "/")) {
      return reader.Error(absl::StrCat(field, ".host"),
                          "must be a host name without port or scheme (omit it for any host)");
    }
    absl::AsciiStrToLower(&route->host);
  }
  if (route->path_prefix.empty()) route->path_prefix = "/";
  if (route->path_prefix[0] != '/' || !IsPrintableAscii(route->path_prefix) ||
      absl::StrContains(route->path_prefix, "?") || absl::StrContains(route->path_prefix, "#")) {
    return reader.Error(absl::StrCat(field, ".path_prefix"),
                        "must be a path starting with '/' (no spaces, query or fragment)");
  }
  if (token == "required") {
    route->token = TokenRequirement::kRequired;
  } else if (token == "optional") {
    route->token = TokenRequirement::kOptional;
  } else {
    return reader.Error(absl::StrCat(field, ".token"),
                        absl::StrCat("\"", token, "\" is neither \"required\" nor \"optional\""));
  }
  if (v.HasMember("audience") && (route->audience.empty() || !IsPrintableAscii(route->audience))) {
    return reader.Error(absl::StrCat(field, ".audience"),
                        "must be a non-empty audience without spaces (omit it for any audience)");
  }
  return absl::OkStatus();
}

absl::Status ParseHeaders(const Value& v, const Reader& reader, IdentityHeaderNames* names) {
  if (absl::Status s = reader.Object(v, "headers", {"subject", "backend", "token_id", "audience"});
      !s.ok()) {
    return s;
  }
  std::set<std::string> seen;
  for (auto [name, out] : {std::pair<const char*, std::string*>{"subject", &names->subject},
                           {"backend", &names->backend},
                           {"token_id", &names->token_id},
                           {"audience", &names->audience}}) {
    if (absl::Status s = reader.String(v, "headers", name, out); !s.ok()) return s;
    const std::string field = absl::StrCat("headers.", name);
    const bool token_chars = std::all_of(out->begin(), out->end(), [](char c) {
      return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-';
    });
    if (!absl::StartsWithIgnoreCase(*out, "x-") || out->size() > kMaxHeaderNameBytes ||
        !token_chars) {
      return reader.Error(field, absl::StrCat("\"", *out,
                                              "\" must be a header name starting with \"x-\" "
                                              "(letters, digits and '-', at most ",
                                              kMaxHeaderNameBytes, " bytes)"));
    }
    absl::AsciiStrToLower(out);
    if (!seen.insert(*out).second) {
      return reader.Error(field, absl::StrCat("\"", *out, "\" names another identity header too"));
    }
  }
  return absl::OkStatus();
}

// Segments "." and "..", and encoded '.', '/' or '\', which a proxy and its upstream may
// resolve differently from the prefix match here.
bool IsAmbiguousPath(absl::string_view path) {
  if (path.find('\\') != absl::string_view::npos) return true;
  const std::string lower = absl::AsciiStrToLower(path);
  for (absl::string_view encoded : {"%2e", "%2f", "%5c"}) {
    if (absl::StrContains(lower, encoded)) return true;
  }
  for (size_t start = 0; start <= path.size();) {
    size_t end = path.find('/', start);
    if (end == absl::string_view::npos) end = path.size();
    absl::string_view segment = path.substr(start, end - start);
    if (segment == "." || segment == "..") return true;
    start = end + 1;
  }
  return false;
}

bool PrefixMatches(absl::string_view prefix, absl::string_view path) {
  if (!absl::StartsWith(path, prefix)) return false;
  return prefix.back() == '/' || path.size() == prefix.size() || path[prefix.size()] == '/';
}

}  // namespace

absl::StatusOr<GatewayRules> GatewayRules::Parse(absl::string_view json, absl::string_view source) {
  const Reader reader(source);
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag>(json.data(),
                                                                                    json.size());
  if (doc.HasParseError()) {
    return reader.Error("", absl::StrCat("invalid JSON at byte ", doc.GetErrorOffset(), ": ",
                                         rapidjson::GetParseError_En(doc.GetParseError())));
  }
  if (absl::Status s = reader.Object(doc, "", {"routes", "headers"}); !s.ok()) return s;
  GatewayRules rules;
  if (auto routes = doc.FindMember("routes"); routes != doc.MemberEnd()) {
    if (!routes->value.IsArray()) return reader.Error("routes", "must be an array of objects");
    for (rapidjson::SizeType i = 0; i < routes->value.Size(); ++i) {
      GatewayRoute route;
      if (absl::Status s =
              ParseRoute(routes->value[i], absl::StrCat("routes[", i, "]"), reader, &route);
          !s.ok()) {
        return s;
      }
      rules.routes_.push_back(std::move(route));
    }
  }
  if (auto headers = doc.FindMember("headers"); headers != doc.MemberEnd()) {
    if (absl::Status s = ParseHeaders(headers->value, reader, &rules.headers_); !s.ok()) return s;
  }
  return rules;
}

absl::StatusOr<GatewayRules> GatewayRules::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot read gateway rules file ", path, ": ", std::strerror(errno)));
  }
  std::string content;
  char buf[8192];
  while (in.read(buf, sizeof(buf)) || in.gcount() > 0) {
    content.append(buf, static_cast<size_t>(in.gcount()));
    if (content.size() > kMaxFileBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("gateway rules file ", path, " is larger than ", kMaxFileBytes, " bytes"));
    }
  }
  if (in.bad())
    return absl::UnavailableError(absl::StrCat("cannot read gateway rules file ", path));
  return Parse(content, path);
}

const GatewayRoute& GatewayRules::Match(absl::string_view host, absl::string_view path) const {
  std::string lower_host(host.substr(0, host.rfind(']') == absl::string_view::npos
                                            ? host.find(':')
                                            : host.find(':', host.rfind(']'))));
  absl::AsciiStrToLower(&lower_host);
  path = path.substr(0, path.find_first_of("?#"));
  if (path.empty()) path = "/";
  const bool ambiguous = IsAmbiguousPath(path);
  for (const GatewayRoute& route : routes_) {
    if (ambiguous && route.token == TokenRequirement::kOptional) continue;
    if (!route.host.empty() && route.host != lower_host) continue;
    if (PrefixMatches(route.path_prefix, path)) return route;
  }
  return default_route_;
}

bool GatewayRules::IsIdentityHeader(absl::string_view lower_name) const {
  return absl::StartsWith(lower_name, kIdentityPrefix) || lower_name == headers_.subject ||
         lower_name == headers_.backend || lower_name == headers_.token_id ||
         lower_name == headers_.audience;
}

}  // namespace signet::server
