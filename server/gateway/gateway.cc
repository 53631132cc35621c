#include "server/gateway/gateway.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "internal/authenticate.h"
#include "signet/auth_failure.h"

namespace signet::server {
namespace {

// The validator's cached answer for a valid token: the identity header values, each as a 4-byte
// length and its bytes, after one byte saying whether every value may go into a header.
enum Field { kSubject, kBackend, kTokenId, kAudience, kFieldCount };

// Control characters (CR, LF, NUL...) in a header value could split or truncate it.
bool HeaderSafe(std::string_view value) {
  return std::none_of(value.begin(), value.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

void Append(std::string_view value, std::string* out) {
  const auto n = static_cast<uint32_t>(value.size());
  for (int shift = 0; shift < 32; shift += 8)
    out->push_back(static_cast<char>((n >> shift) & 0xff));
  out->append(value.data(), value.size());
}

std::string RenderIdentity(const VerifiedToken& t) {
  const std::string audiences = absl::StrJoin(t.audiences(), ",");
  const std::string_view fields[kFieldCount] = {t.subject(), t.backend(), t.token_id(), audiences};
  const bool safe = std::all_of(std::begin(fields), std::end(fields),
                                [](std::string_view f) { return HeaderSafe(f); });
  std::string out(1, safe ? '1' : '0');
  for (std::string_view f : fields) Append(f, &out);
  return out;
}

// Reads what RenderIdentity wrote; false when the values may not go into headers.
bool ReadIdentity(std::string_view answer, std::string_view fields[kFieldCount]) {
  if (answer.empty() || answer[0] != '1') return false;
  answer.remove_prefix(1);
  for (int i = 0; i < kFieldCount; ++i) {
    if (answer.size() < 4) return false;
    uint32_t n = 0;
    for (int b = 0; b < 4; ++b)
      n |= static_cast<uint32_t>(static_cast<unsigned char>(answer[b])) << (8 * b);
    answer.remove_prefix(4);
    if (answer.size() < n) return false;
    fields[i] = answer.substr(0, n);
    answer.remove_prefix(n);
  }
  return true;
}

std::string Challenge(absl::string_view error, std::string_view description) {
  return absl::StrCat("Bearer error=\"", error, "\", error_description=\"",
                      absl::string_view(description.data(), description.size()), "\"");
}

}  // namespace

Gateway::Gateway(Options options)
    : rules_(std::move(options.rules)),
      cache_(ValidationCache::Options{options.cache_entries}),
      validator_(options.ring,
                 *TokenVerifier::Create(
                     ValidationPolicy{options.issuer, options.leeway, options.max_token_bytes}),
                 options.clock, &cache_, RenderIdentity) {}

GatewayDecision Gateway::Decide(const GatewayRequest& request) const {
  const GatewayRoute& route =
      rules_.Match(absl::string_view(request.host.data(), request.host.size()),
                   absl::string_view(request.path.data(), request.path.size()));
  GatewayDecision d;
  // Without a valid token: who failed how. The challenge follows RFC 6750 section 3.
  auto refuse = [&](std::string_view reason, std::string challenge) {
    d.reason = std::string(reason);
    if (route.token == TokenRequirement::kOptional) {
      // nap_token's semantics: the request goes on as anonymous, and no identity header the
      // client sent reaches the upstream.
      d.allowed = true;
      d.http_status = 200;
      d.headers_to_remove = request.identity_headers;
    } else {
      d.www_authenticate = std::move(challenge);
    }
    return d;
  };

  if (request.authorization.empty()) {
    return refuse(AuthFailureMessage(AuthFailure::kMissingToken), "Bearer");
  }
  if (request.authorization.size() > 1) {
    const std::string_view why = AuthFailureMessage(AuthFailure::kDuplicateHeader);
    return refuse(why, Challenge("invalid_request", why));
  }
  const internal::BearerToken bearer = internal::ParseAuthorization(request.authorization[0]);
  if (bearer.failure != AuthFailure::kNone) {
    const std::string_view why = AuthFailureMessage(bearer.failure);
    return refuse(why, Challenge("invalid_request", why));
  }
  const TokenValidator::Validation v = validator_.Validate(bearer.token, route.audience);
  if (!v.valid()) {
    const std::string_view why = AuthFailureMessage(AuthFailure::kInvalidToken, v.reason);
    return refuse(why, Challenge("invalid_token", why));
  }
  std::string_view fields[kFieldCount];
  if (!ReadIdentity(v.answer, fields)) {
    constexpr std::string_view kWhy = "token claims cannot be sent as headers";
    return refuse(kWhy, Challenge("invalid_token", kWhy));
  }

  d.allowed = true;
  d.authenticated = true;
  d.http_status = 200;
  const IdentityHeaderNames& names = rules_.headers();
  const std::string* field_names[kFieldCount] = {&names.subject, &names.backend, &names.token_id,
                                                 &names.audience};
  for (int i = 0; i < kFieldCount; ++i) {
    // An empty value is not sent (proxies drop empty headers): the client's copy is removed.
    if (!fields[i].empty()) d.headers_to_set.emplace_back(*field_names[i], std::string(fields[i]));
  }
  for (const std::string& sent : request.identity_headers) {
    const bool replaced =
        std::any_of(d.headers_to_set.begin(), d.headers_to_set.end(),
                    [&](const std::pair<std::string, std::string>& h) { return h.first == sent; });
    if (!replaced) d.headers_to_remove.push_back(sent);
  }
  return d;
}

}  // namespace signet::server
