#include "server/gateway/gateway.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "envoy/service/auth/v3/external_auth.pb.h"
#include "signet/auth_failure.h"
#include "signet/bearer_token.h"

namespace signet::server {
namespace {

using envoy::config::core::v3::HeaderValueOption;

// Control characters (CR, LF, NUL...) in a header value could split or truncate it.
bool HeaderSafe(absl::string_view value) {
  return std::none_of(value.begin(), value.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

// The verifier's cached answer for a valid token: Envoy's OkHttpResponse with the identity
// headers, serialized once per token so that Check sends bytes it does not build; empty when a
// value may not go into a header.
std::string RenderIdentity(const IdentityHeaderNames& names, const VerifiedToken& t) {
  const std::string audiences = absl::StrJoin(t.audiences(), ",");
  const std::pair<const std::string*, absl::string_view> fields[] = {
      {&names.subject, t.subject()},
      {&names.backend, t.backend()},
      {&names.token_id, t.token_id()},
      {&names.audience, audiences}};
  envoy::service::auth::v3::OkHttpResponse ok;
  for (const auto& [name, value] : fields) {
    if (!HeaderSafe(value)) return "";
    // An empty value is not sent (proxies drop empty headers): the client's copy is removed.
    if (value.empty()) continue;
    HeaderValueOption* option = ok.add_headers();
    option->mutable_header()->set_key(*name);
    option->mutable_header()->set_value(std::string(value));
    // Replace whatever the request carried under this name (Envoy's default would append).
    option->set_append_action(HeaderValueOption::OVERWRITE_IF_EXISTS_OR_ADD);
  }
  return ok.SerializeAsString();
}

std::string Challenge(absl::string_view error, std::string_view description) {
  return absl::StrCat("Bearer error=\"", error, "\", error_description=\"",
                      absl::string_view(description.data(), description.size()), "\"");
}

}  // namespace

std::vector<std::pair<std::string, std::string>> IdentityHeaders(std::string_view identity) {
  envoy::service::auth::v3::OkHttpResponse ok;
  std::vector<std::pair<std::string, std::string>> out;
  if (!ok.ParseFromArray(identity.data(), static_cast<int>(identity.size()))) return out;
  for (const HeaderValueOption& h : ok.headers()) {
    out.emplace_back(h.header().key(), h.header().value());
  }
  return out;
}

Gateway::Gateway(Options options)
    : rules_(std::move(options.rules)),
      verifier_(
          options.ring,
          *TokenVerifier::Create(
              ValidationPolicy{options.issuer, options.leeway, options.max_token_bytes}),
          options.clock, options.cache_entries,
          [names = rules_.headers()](const VerifiedToken& t) { return RenderIdentity(names, t); }) {
}

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
  const BearerToken bearer = ParseAuthorization(request.authorization[0]);
  if (bearer.failure != AuthFailure::kNone) {
    const std::string_view why = AuthFailureMessage(bearer.failure);
    return refuse(why, Challenge("invalid_request", why));
  }
  // A route without an audience accepts tokens of any audience (gateway_rules.h).
  const RingVerifier::Verdict v = verifier_.Verify(
      bearer.token, route.audience.empty() ? Audience::Any() : Audience::Expect(route.audience));
  if (!v.valid()) {
    const std::string_view why = AuthFailureMessage(AuthFailure::kInvalidToken, v.reason);
    return refuse(why, Challenge("invalid_token", why));
  }
  if (v.answer.empty()) {
    constexpr std::string_view kWhy = "token claims cannot be sent as headers";
    return refuse(kWhy, Challenge("invalid_token", kWhy));
  }

  d.allowed = true;
  d.authenticated = true;
  d.http_status = 200;
  d.identity = v.answer;
  if (!request.identity_headers.empty()) {
    const std::vector<std::pair<std::string, std::string>> set = IdentityHeaders(d.identity);
    for (const std::string& sent : request.identity_headers) {
      const bool replaced = std::any_of(
          set.begin(), set.end(),
          [&](const std::pair<std::string, std::string>& h) { return h.first == sent; });
      if (!replaced) d.headers_to_remove.push_back(sent);
    }
  }
  return d;
}

}  // namespace signet::server
