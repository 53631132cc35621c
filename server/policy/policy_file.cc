#include "server/policy/policy_file.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "rapidjson/document.h"
#include "rapidjson/error/en.h"

namespace signet::server {
namespace {

using rapidjson::Value;

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

absl::StatusOr<PolicyRule> ParseRule(const Value& entry, absl::string_view where,
                                     const Errors& errors) {
  if (!entry.IsObject()) {
    return errors.At(where, absl::StrCat("must be an object, not ", TypeName(entry)));
  }
  if (absl::Status s = CheckMembers(
          entry, {"identity", "roles", "audiences", "max_ttl", "description"}, where, errors);
      !s.ok()) {
    return s;
  }
  PolicyRule rule;
  const std::string identity_field = absl::StrCat(where, ".identity");
  auto identity = entry.FindMember("identity");
  if (identity == entry.MemberEnd()) return errors.At(identity_field, "is required");
  absl::StatusOr<std::string> identity_text = GetString(identity->value, identity_field, errors);
  if (!identity_text.ok()) return identity_text.status();
  absl::StatusOr<IdentityPattern> pattern = IdentityPattern::Parse(*identity_text);
  if (!pattern.ok()) return errors.At(identity_field, pattern.status().message());
  rule.identity = *std::move(pattern);

  const std::string roles_field = absl::StrCat(where, ".roles");
  auto roles = entry.FindMember("roles");
  if (roles == entry.MemberEnd()) return errors.At(roles_field, "is required");
  if (!roles->value.IsArray() || roles->value.Empty()) {
    return errors.At(roles_field, "must be a non-empty array of roles (issuer, validator, admin)");
  }
  for (rapidjson::SizeType i = 0; i < roles->value.Size(); ++i) {
    std::string field = absl::StrCat(roles_field, "[", i, "]");
    absl::StatusOr<std::string> name = GetString(roles->value[i], field, errors);
    if (!name.ok()) return name.status();
    std::optional<Role> role = RoleFromName(*name);
    if (!role.has_value()) {
      return errors.At(
          field, absl::StrCat("unknown role \"", *name, "\" (known: issuer, validator, admin)"));
    }
    rule.roles.Add(*role);
  }
  const bool can_issue = rule.roles.Has(Role::kIssuer) || rule.roles.Has(Role::kAdmin);

  if (auto audiences = entry.FindMember("audiences"); audiences != entry.MemberEnd()) {
    const std::string field = absl::StrCat(where, ".audiences");
    if (!can_issue)
      return errors.At(field, "limits issuing, but roles grant neither issuer nor admin");
    if (!audiences->value.IsArray()) {
      return errors.At(
          field, absl::StrCat("must be an array of strings, not ", TypeName(audiences->value)));
    }
    if (audiences->value.Empty()) {
      return errors.At(field,
                       "must name at least one audience (omit the field to allow any audience)");
    }
    for (rapidjson::SizeType i = 0; i < audiences->value.Size(); ++i) {
      std::string item = absl::StrCat(field, "[", i, "]");
      absl::StatusOr<std::string> aud = GetString(audiences->value[i], item, errors);
      if (!aud.ok()) return aud.status();
      if (aud->empty()) return errors.At(item, "must not be empty");
      rule.audiences.push_back(*std::move(aud));
    }
  }
  if (auto max_ttl = entry.FindMember("max_ttl"); max_ttl != entry.MemberEnd()) {
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
    rule.max_ttl = d;
  }
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
