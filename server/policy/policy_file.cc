#include "server/policy/policy_file.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "rapidjson/document.h"
#include "rapidjson/error/en.h"

namespace signet::server {
namespace {

using rapidjson::Value;

// A subject or audience in a limit list: IssueToken accepts no longer ones.
constexpr size_t kMaxLimitBytes = 256;

// Collects the first error, prefixed with the file and the field path.
class Errors {
 public:
  explicit Errors(absl::string_view source) : source_(source) {}
  absl::Status At(absl::string_view field, absl::string_view problem) const {
    return absl::InvalidArgumentError(
        absl::StrCat("policy file ", source_, ": ", field, ": ", problem));
  }
  absl::Status File(absl::string_view problem) const {
    return absl::InvalidArgumentError(absl::StrCat("policy file ", source_, ": ", problem));
  }

 private:
  std::string source_;
};

const char* TypeName(const Value& v) {
  if (v.IsNull()) return "null";
  if (v.IsBool()) return "a boolean";
  if (v.IsNumber()) return "a number";
  if (v.IsString()) return "a string";
  if (v.IsArray()) return "an array";
  return "an object";
}

// Refuses members not in `known` and members named twice (RapidJSON keeps both).
absl::Status CheckMembers(const Value& object, const std::vector<absl::string_view>& known,
                          absl::string_view where, const Errors& errors) {
  std::set<absl::string_view> seen;
  for (auto it = object.MemberBegin(); it != object.MemberEnd(); ++it) {
    absl::string_view name(it->name.GetString(), it->name.GetStringLength());
    std::string field = where.empty() ? std::string(name) : absl::StrCat(where, ".", name);
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      return errors.At(field,
                       absl::StrCat("unknown field (known: ", absl::StrJoin(known, ", "), ")"));
    }
    if (!seen.insert(name).second) return errors.At(field, "appears twice");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> GetString(const Value& v, absl::string_view field,
                                      const Errors& errors) {
  if (!v.IsString()) {
    return errors.At(field, absl::StrCat("must be a string, not ", TypeName(v)));
  }
  return std::string(v.GetString(), v.GetStringLength());
}

// The name fields of an entry, each with the kind of identity it matches.
struct NameField {
  const char* name;
  IdentityKind kind;
};
constexpr NameField kNameFields[] = {{"spiffe_id", IdentityKind::kSpiffe},
                                     {"dns_name", IdentityKind::kDns},
                                     {"common_name", IdentityKind::kCommonName}};

// The refusal of the untyped "identity" field of earlier policy files, saying how to write the
// entry now.
absl::Status UntypedIdentity(const Value& value, absl::string_view field, const Errors& errors) {
  std::string rewrite =
      "\"spiffe_id\" (a URI SAN SPIFFE ID), \"dns_name\" (a DNS SAN), \"common_name\" (the "
      "subject CN) or \"any\": true (every caller)";
  if (value.IsString()) {
    // Cut short: the message quotes it back.
    absl::string_view text =
        absl::string_view(value.GetString(), value.GetStringLength()).substr(0, 256);
    if (text == "*") {
      rewrite = "\"any\": true";
    } else if (absl::StartsWithIgnoreCase(text, "spiffe://")) {
      rewrite = absl::StrCat("\"spiffe_id\": \"", absl::CEscape(text), "\"");
    } else if (CheckIdentitySyntax(IdentityKind::kDns, absl::AsciiStrToLower(text), true).ok()) {
      rewrite = absl::StrCat("\"dns_name\": \"", absl::CEscape(text),
                             "\" if the certificate names it in a DNS SAN, or \"common_name\": \"",
                             absl::CEscape(text), "\" if in its subject CN");
    } else {
      rewrite = absl::StrCat("\"common_name\": \"", absl::CEscape(text), "\"");
    }
  }
  return errors.At(field, absl::StrCat("the untyped \"identity\" field is no longer accepted (a "
                                       "CN or DNS name could pass for a SPIFFE ID); write ",
                                       rewrite));
}

// Exactly one of spiffe_id, dns_name, common_name and "any": true.
absl::StatusOr<IdentityPattern> ParseCallerName(const Value& entry, absl::string_view where,
                                                const Errors& errors) {
  constexpr absl::string_view kOneOf =
      "name the caller with exactly one of \"spiffe_id\", \"dns_name\", \"common_name\" or "
      "\"any\": true";
  std::optional<IdentityPattern> pattern;
  for (const NameField& f : kNameFields) {
    auto member = entry.FindMember(f.name);
    if (member == entry.MemberEnd()) continue;
    const std::string field = absl::StrCat(where, ".", f.name);
    if (pattern.has_value()) return errors.At(field, kOneOf);
    absl::StatusOr<std::string> text = GetString(member->value, field, errors);
    if (!text.ok()) return text.status();
    absl::StatusOr<IdentityPattern> parsed = IdentityPattern::Parse(f.kind, *text);
    if (!parsed.ok()) return errors.At(field, parsed.status().message());
    pattern = *std::move(parsed);
  }
  if (auto any = entry.FindMember("any"); any != entry.MemberEnd()) {
    const std::string field = absl::StrCat(where, ".any");
    if (pattern.has_value()) return errors.At(field, kOneOf);
    if (!any->value.IsBool() || !any->value.GetBool()) {
      return errors.At(field, "must be true (it admits every caller, with or without identity)");
    }
    pattern = IdentityPattern::Any();
  }
  if (!pattern.has_value()) return errors.At(where, kOneOf);
  return *std::move(pattern);
}

// An optional issuer limit: a non-empty list of strings, on an entry that may issue.
absl::StatusOr<std::vector<std::string>> ParseLimitList(const Value& entry, const char* name,
                                                        absl::string_view singular, bool can_issue,
                                                        absl::string_view where,
                                                        const Errors& errors) {
  std::vector<std::string> out;
  auto list = entry.FindMember(name);
  if (list == entry.MemberEnd()) return out;
  const std::string field = absl::StrCat(where, ".", name);
  if (!can_issue)
    return errors.At(field, "limits issuing, but roles grant neither issuer nor admin");
  if (!list->value.IsArray()) {
    return errors.At(field,
                     absl::StrCat("must be an array of strings, not ", TypeName(list->value)));
  }
  if (list->value.Empty()) {
    return errors.At(field, absl::StrCat("must name at least one ", singular,
                                         " (omit the field to allow any ", singular, ")"));
  }
  for (rapidjson::SizeType i = 0; i < list->value.Size(); ++i) {
    std::string item = absl::StrCat(field, "[", i, "]");
    absl::StatusOr<std::string> text = GetString(list->value[i], item, errors);
    if (!text.ok()) return text.status();
    if (text->empty()) return errors.At(item, "must not be empty");
    if (text->size() > kMaxLimitBytes) {
      return errors.At(item, absl::StrCat("is longer than ", kMaxLimitBytes, " bytes"));
    }
    for (char c : *text) {
      if (absl::ascii_iscntrl(static_cast<unsigned char>(c))) {
        return errors.At(item, "contains a control character");
      }
    }
    out.push_back(*std::move(text));
  }
  return out;
}

// "roles": a non-empty array of role names.
absl::StatusOr<RoleSet> ParseRoles(const Value& entry, absl::string_view where,
                                   const Errors& errors) {
  const std::string roles_field = absl::StrCat(where, ".roles");
  auto roles = entry.FindMember("roles");
  if (roles == entry.MemberEnd()) return errors.At(roles_field, "is required");
  if (!roles->value.IsArray() || roles->value.Empty()) {
    return errors.At(roles_field, "must be a non-empty array of roles (issuer, validator, admin)");
  }
  RoleSet set;
  for (rapidjson::SizeType i = 0; i < roles->value.Size(); ++i) {
    std::string field = absl::StrCat(roles_field, "[", i, "]");
    absl::StatusOr<std::string> name = GetString(roles->value[i], field, errors);
    if (!name.ok()) return name.status();
    std::optional<Role> role = RoleFromName(*name);
    if (!role.has_value()) {
      return errors.At(
          field, absl::StrCat("unknown role \"", *name, "\" (known: issuer, validator, admin)"));
    }
    set.Add(*role);
  }
  return set;
}

// The optional "subjects" limit, as globs.
absl::StatusOr<std::vector<GlobPattern>> ParseSubjects(const Value& entry, bool can_issue,
                                                       absl::string_view where,
                                                       const Errors& errors) {
  absl::StatusOr<std::vector<std::string>> subjects =
      ParseLimitList(entry, "subjects", "subject", can_issue, where, errors);
  if (!subjects.ok()) return subjects.status();
  std::vector<GlobPattern> globs;
  for (size_t i = 0; i < subjects->size(); ++i) {
    absl::StatusOr<GlobPattern> glob = GlobPattern::Parse((*subjects)[i]);
    if (!glob.ok()) {
      return errors.At(absl::StrCat(where, ".subjects[", i, "]"), glob.status().message());
    }
    globs.push_back(*std::move(glob));
  }
  return globs;
}

// The optional "max_ttl" limit: a positive, finite duration ("15m").
absl::StatusOr<std::optional<absl::Duration>> ParseMaxTtl(const Value& entry, bool can_issue,
                                                          absl::string_view where,
                                                          const Errors& errors) {
  auto max_ttl = entry.FindMember("max_ttl");
  if (max_ttl == entry.MemberEnd()) return std::nullopt;
  const std::string field = absl::StrCat(where, ".max_ttl");
  if (!can_issue)
    return errors.At(field, "limits issuing, but roles grant neither issuer nor admin");
  absl::StatusOr<std::string> text = GetString(max_ttl->value, field, errors);
  if (!text.ok()) return text.status();
  absl::Duration d;
  if (!absl::ParseDuration(*text, &d)) {
    return errors.At(field, absl::StrCat("\"", *text, "\" is not a duration (e.g. \"15m\")"));
  }
  if (d <= absl::ZeroDuration() || d == absl::InfiniteDuration()) {
    return errors.At(field, absl::StrCat("\"", *text, "\" must be positive and finite"));
  }
  return d;
}

absl::StatusOr<PolicyRule> ParseRule(const Value& entry, absl::string_view where,
                                     const Errors& errors) {
  if (!entry.IsObject()) {
    return errors.At(where, absl::StrCat("must be an object, not ", TypeName(entry)));
  }
  if (auto identity = entry.FindMember("identity"); identity != entry.MemberEnd()) {
    return UntypedIdentity(identity->value, absl::StrCat(where, ".identity"), errors);
  }
  if (absl::Status s = CheckMembers(entry,
                                    {"spiffe_id", "dns_name", "common_name", "any", "roles",
                                     "subjects", "audiences", "max_ttl", "description"},
                                    where, errors);
      !s.ok()) {
    return s;
  }
  PolicyRule rule;
  absl::StatusOr<IdentityPattern> pattern = ParseCallerName(entry, where, errors);
  if (!pattern.ok()) return pattern.status();
  rule.identity = *std::move(pattern);
  absl::StatusOr<RoleSet> roles = ParseRoles(entry, where, errors);
  if (!roles.ok()) return roles.status();
  rule.roles = *roles;
  const bool can_issue = rule.roles.Has(Role::kIssuer) || rule.roles.Has(Role::kAdmin);
  absl::StatusOr<std::vector<GlobPattern>> subjects =
      ParseSubjects(entry, can_issue, where, errors);
  if (!subjects.ok()) return subjects.status();
  rule.subjects = *std::move(subjects);
  absl::StatusOr<std::vector<std::string>> audiences =
      ParseLimitList(entry, "audiences", "audience", can_issue, where, errors);
  if (!audiences.ok()) return audiences.status();
  rule.audiences = *std::move(audiences);
  absl::StatusOr<std::optional<absl::Duration>> max_ttl =
      ParseMaxTtl(entry, can_issue, where, errors);
  if (!max_ttl.ok()) return max_ttl.status();
  rule.max_ttl = *max_ttl;
  if (auto description = entry.FindMember("description"); description != entry.MemberEnd()) {
    absl::StatusOr<std::string> text =
        GetString(description->value, absl::StrCat(where, ".description"), errors);
    if (!text.ok()) return text.status();
  }
  return rule;
}

}  // namespace

absl::StatusOr<Policy> ParsePolicyJson(absl::string_view json, absl::string_view source) {
  Errors errors(source);
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag>(json.data(),
                                                                                    json.size());
  if (doc.HasParseError()) {
    return errors.File(absl::StrCat("invalid JSON at byte ", doc.GetErrorOffset(), ": ",
                                    rapidjson::GetParseError_En(doc.GetParseError())));
  }
  if (!doc.IsObject()) {
    return errors.File(absl::StrCat("must be a JSON object, not ", TypeName(doc)));
  }
  if (absl::Status s = CheckMembers(doc, {"callers"}, "", errors); !s.ok()) return s;
  auto callers = doc.FindMember("callers");
  if (callers == doc.MemberEnd()) return errors.At("callers", "is required");
  if (!callers->value.IsArray()) {
    return errors.At("callers",
                     absl::StrCat("must be an array of objects, not ", TypeName(callers->value)));
  }
  std::vector<PolicyRule> rules;
  for (rapidjson::SizeType i = 0; i < callers->value.Size(); ++i) {
    absl::StatusOr<PolicyRule> rule =
        ParseRule(callers->value[i], absl::StrCat("callers[", i, "]"), errors);
    if (!rule.ok()) return rule.status();
    rules.push_back(*std::move(rule));
  }
  return Policy(std::move(rules));
}

absl::StatusOr<std::string> ReadPolicyFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot read policy file ", path, ": ", std::strerror(errno)));
  }
  std::string content;
  char buf[8192];
  while (in.read(buf, sizeof(buf)) || in.gcount() > 0) {
    content.append(buf, static_cast<size_t>(in.gcount()));
    if (content.size() > kMaxPolicyFileBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("policy file ", path, " is larger than ", kMaxPolicyFileBytes, " bytes"));
    }
  }
  if (in.bad()) return absl::UnavailableError(absl::StrCat("cannot read policy file ", path));
  return content;
}

absl::StatusOr<Policy> LoadPolicyFile(const std::string& path) {
  absl::StatusOr<std::string> content = ReadPolicyFile(path);
  if (!content.ok()) return content.status();
  return ParsePolicyJson(*content, path);
}

}  // namespace signet::server
