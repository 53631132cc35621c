#include "server/policy/peer_identity.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "grpc/grpc_security_constants.h"

namespace signet::server {
namespace {

constexpr absl::string_view kSpiffeScheme = "spiffe://";
// SPIFFE IDs are at most 2048 bytes (SPIFFE-ID specification, section 2.3).
constexpr size_t kMaxSpiffeIdBytes = 2048;
constexpr size_t kMaxDnsNameBytes = 253;
constexpr size_t kMaxDnsLabelBytes = 63;
constexpr size_t kMaxCommonNameBytes = 1024;

absl::string_view View(const grpc::string_ref& ref) { return {ref.data(), ref.size()}; }

absl::Status Bad(IdentityKind kind, absl::string_view text, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat(IdentityKindName(kind), " \"", absl::CEscape(text.substr(0, 256)), "\" ", why));
}

bool IsTrustDomainChar(char c) {
  return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '.' || c == '-' || c == '_';
}

bool IsPathChar(char c) { return absl::ascii_isalnum(c) || c == '.' || c == '-' || c == '_'; }

absl::Status CheckSpiffeId(absl::string_view text, bool pattern) {
  constexpr IdentityKind kKind = IdentityKind::kSpiffe;
  if (text.size() > kMaxSpiffeIdBytes) return Bad(kKind, text, "is longer than 2048 bytes");
  if (!absl::StartsWith(text, kSpiffeScheme)) {
    return Bad(kKind, text,
               "must start with \"spiffe://\" and a literal trust domain "
               "(spiffe://<trust domain>/<path>)");
  }
  absl::string_view rest = text.substr(kSpiffeScheme.size());
  const size_t slash = rest.find('/');
  absl::string_view trust_domain = rest.substr(0, slash);
  if (trust_domain.empty()) return Bad(kKind, text, "has no trust domain");
  for (char c : trust_domain) {
    if (c == '*') {
      return Bad(kKind, text,
                 "has '*' in its trust domain: a pattern must name one trust domain literally");
    }
    if (!IsTrustDomainChar(c)) {
      return Bad(kKind, text, "has a trust domain that is not [a-z0-9._-] (lower case)");
    }
  }
  if (slash == absl::string_view::npos) {
    if (pattern) {
      return Bad(kKind, text,
                 "has no path: name workloads, e.g. spiffe://<trust domain>/ns/<namespace>/...");
    }
    return absl::OkStatus();
  }
  for (absl::string_view segment : absl::StrSplit(rest.substr(slash + 1), '/')) {
    if (segment.empty() || segment == "." || segment == "..") {
      return Bad(kKind, text, "has an empty, \".\" or \"..\" path segment");
    }
    for (char c : segment) {
      if (!IsPathChar(c) && !(pattern && c == '*')) {
        return Bad(kKind, text, "has a path that is not [A-Za-z0-9._-] segments");
      }
    }
  }
  return absl::OkStatus();
}

absl::Status CheckDnsName(absl::string_view text, bool pattern) {
  constexpr IdentityKind kKind = IdentityKind::kDns;
  if (text.empty()) return Bad(kKind, text, "is empty");
  if (text.size() > kMaxDnsNameBytes) return Bad(kKind, text, "is longer than 253 bytes");
  for (absl::string_view label : absl::StrSplit(text, '.')) {
    if (label.empty())
      return Bad(kKind, text, "has an empty label (no leading, trailing or \"..\" dots)");
    if (label.size() > kMaxDnsLabelBytes) return Bad(kKind, text, "has a label over 63 bytes");
    for (char c : label) {
      if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '-' &&
          !(pattern && c == '*')) {
        return Bad(kKind, text,
                   "is not a DNS name: labels of lower-case letters, digits and '-' (no "
                   "\"spiffe://\", no '/')");
      }
    }
    if (label.front() == '-' || label.back() == '-') {
      return Bad(kKind, text, "has a label starting or ending with '-'");
    }
  }
  return absl::OkStatus();
}

absl::Status CheckCommonName(absl::string_view text) {
  constexpr IdentityKind kKind = IdentityKind::kCommonName;
  if (text.empty()) return Bad(kKind, text, "is empty");
  if (text.size() > kMaxCommonNameBytes) return Bad(kKind, text, "is longer than 1024 bytes");
  for (char c : text) {
    if (absl::ascii_iscntrl(static_cast<unsigned char>(c))) {
      return Bad(kKind, text, "contains a control character");
    }
  }
  return absl::OkStatus();
}

}  // namespace

const char* IdentityKindName(IdentityKind kind) {
  switch (kind) {
    case IdentityKind::kSpiffe:
      return "spiffe";
    case IdentityKind::kDns:
      return "dns";
    case IdentityKind::kCommonName:
      return "cn";
  }
  return "unknown";
}

std::string PeerIdentity::ToString() const {
  return absl::StrCat(IdentityKindName(kind), ":", value);
}

absl::Status CheckIdentitySyntax(IdentityKind kind, absl::string_view text, bool pattern) {
  switch (kind) {
    case IdentityKind::kSpiffe:
      return CheckSpiffeId(text, pattern);
    case IdentityKind::kDns:
      return CheckDnsName(text, pattern);
    case IdentityKind::kCommonName:
      return CheckCommonName(text);
  }
  return absl::InvalidArgumentError("unknown identity kind");
}

PeerNames ReadPeerNames(const grpc::AuthContext& auth) {
  PeerNames names;
  names.authenticated = auth.IsPeerAuthenticated();
  if (!names.authenticated) return names;
  for (const grpc::string_ref& uri : auth.FindPropertyValues(GRPC_PEER_URI_PROPERTY_NAME)) {
    if (absl::StartsWithIgnoreCase(View(uri), kSpiffeScheme)) {
      names.spiffe_ids.emplace_back(View(uri));
    }
  }
  for (const grpc::string_ref& dns : auth.FindPropertyValues(GRPC_PEER_DNS_PROPERTY_NAME)) {
    std::string name = absl::AsciiStrToLower(View(dns));
    if (CheckDnsName(name, /*pattern=*/false).ok()) names.dns_names.push_back(std::move(name));
  }
  for (const grpc::string_ref& cn : auth.FindPropertyValues(GRPC_X509_CN_PROPERTY_NAME)) {
    if (CheckCommonName(View(cn)).ok()) {
      names.common_name = std::string(View(cn));
      break;
    }
  }
  return names;
}

std::optional<PeerIdentity> ChooseIdentity(
    const PeerNames& names, absl::FunctionRef<bool(absl::string_view dns)> named_by_policy) {
  if (!names.authenticated) return std::nullopt;
  if (!names.spiffe_ids.empty()) {
    if (names.spiffe_ids.size() > 1 ||
        !CheckSpiffeId(names.spiffe_ids[0], /*pattern=*/false).ok()) {
      return std::nullopt;
    }
    return PeerIdentity{IdentityKind::kSpiffe, names.spiffe_ids[0]};
  }
  if (!names.dns_names.empty()) {
    for (const std::string& dns : names.dns_names) {
      if (named_by_policy(dns)) return PeerIdentity{IdentityKind::kDns, dns};
    }
    return PeerIdentity{IdentityKind::kDns, names.dns_names[0]};
  }
  if (!names.common_name.empty()) {
    return PeerIdentity{IdentityKind::kCommonName, names.common_name};
  }
  return std::nullopt;
}

}  // namespace signet::server
