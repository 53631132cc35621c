#include "server/gateway/forward_auth.h"

#include <httplib.h>

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"

namespace signet::server {
namespace {

// The first of `names` the request carries, else `fallback`.
std::string_view FirstHeader(const httplib::Request& req, std::initializer_list<const char*> names,
                             std::string_view fallback) {
  for (const char* name : names) {
    auto it = req.headers.find(name);
    if (it != req.headers.end() && !it->second.empty()) return it->second;
  }
  return fallback;
}

void Answer(const Gateway& gateway, const httplib::Request& req, httplib::Response& res) {
  GatewayRequest in;
  in.method = FirstHeader(req, {"X-Original-Method", "X-Forwarded-Method"}, req.method);
  in.host = FirstHeader(req, {"X-Forwarded-Host", "X-Original-Host", "Host"}, "");
  // Envoy's HTTP mode appends the original path to /v1/authz.
  std::string_view suffix = std::string_view(req.path).substr(sizeof(kForwardAuthPath) - 1);
  in.path = FirstHeader(req, {"X-Original-URI", "X-Forwarded-Uri"}, suffix.empty() ? "/" : suffix);
  auto [first, last] = req.headers.equal_range("Authorization");
  for (auto it = first; it != last; ++it) in.authorization.push_back(it->second);
  const GatewayRules& rules = gateway.rules();
  for (const auto& [name, value] : req.headers) {
    std::string lower = absl::AsciiStrToLower(name);
    if (rules.IsIdentityHeader(lower)) in.identity_headers.push_back(std::move(lower));
  }
  const GatewayDecision d = gateway.Decide(in);

  res.set_header("Cache-Control", "no-store");
  res.status = d.http_status;
  if (!d.allowed) {
    res.set_header("WWW-Authenticate", d.www_authenticate);
    res.set_content(d.reason + "\n", "text/plain; charset=utf-8");
    return;
  }
  for (const auto& [name, value] : IdentityHeaders(d.identity)) res.set_header(name, value);
  if (!d.headers_to_remove.empty()) {
    res.set_header("x-envoy-auth-headers-to-remove", absl::StrJoin(d.headers_to_remove, ", "));
  }
}

}  // namespace

void AddForwardAuthRoutes(const Gateway* gateway, httplib::Server* server) {
  const std::string pattern = std::string(kForwardAuthPath) + "(/.*)?";
  auto handler = [gateway](const httplib::Request& req, httplib::Response& res) {
    Answer(*gateway, req, res);
  };
  server->Get(pattern, handler);
  server->Post(pattern, handler);
  server->Put(pattern, handler);
  server->Patch(pattern, handler);
  server->Delete(pattern, handler);
  server->Options(pattern, handler);
}

}  // namespace signet::server
