// What a gateway asks of each request (--gateway_rules_file): per host and path prefix, whether a
// token is required or optional and which audience it must carry, and the names of the identity
// headers sent upstream.
//
// Example file:
//   {
//     "routes": [
//       {"host": "shop.example.com", "path_prefix": "/catalog/", "token": "optional"},
//       {"path_prefix": "/orders/", "token": "required", "audience": "orders"},
//       {"path_prefix": "/", "token": "required"}
//     ],
//     "headers": {"subject": "x-user-id"}
//   }
//
// Example use:
//   absl::StatusOr<GatewayRules> rules = GatewayRules::Load("/etc/signet/gateway.json");
//   const GatewayRoute& route = rules->Match("shop.example.com", "/catalog/shoes?page=2");
//
// The first route that matches, in file order, decides; a request no route matches (and every
// request when there are no rules) needs a valid token, of any audience. Parsing is strict:
// unknown or duplicate fields, wrong types and bad values are errors naming the file and field.
#ifndef SIGNET_SERVER_GATEWAY_GATEWAY_RULES_H_
#define SIGNET_SERVER_GATEWAY_GATEWAY_RULES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace signet::server {

enum class TokenRequirement {
  kRequired,  // No valid token: refused (HTTP 401).
  kOptional,  // No valid token: the request goes on as anonymous, without identity headers.
};

struct GatewayRoute {
  std::string host;         // Lower case, without port; empty matches every host.
  std::string path_prefix;  // Starts with '/'; "/" matches every path.
  TokenRequirement token = TokenRequirement::kRequired;
  std::string audience;  // Empty: any audience.
};

// The request headers that carry the identity upstream (lower case).
struct IdentityHeaderNames {
  std::string subject = "x-signet-subject";
  std::string backend = "x-signet-backend";
  std::string token_id = "x-signet-token-id";
  std::string audience = "x-signet-audience";
};

class GatewayRules {
 public:
  // Larger files are refused: rules are a short list.
  static constexpr size_t kMaxFileBytes = 1024 * 1024;

  // No routes: every request needs a valid token; default header names.
  GatewayRules() = default;

  // `source` names the file in error messages.
  static absl::StatusOr<GatewayRules> Parse(absl::string_view json, absl::string_view source);
  // Reads `path` (at most kMaxFileBytes) and parses it.
  static absl::StatusOr<GatewayRules> Load(const std::string& path);

  // The first route matching `host` (any case, a ":port" ignored) and `path` (the request target;
  // the query string is ignored). A prefix matches whole segments: "/api" matches "/api" and
  // "/api/x", not "/apix". A path with dot segments or encoded dots, slashes or backslashes
  // (which proxies and upstreams may resolve differently) never matches an optional route: the
  // strictest reading wins.
  const GatewayRoute& Match(absl::string_view host, absl::string_view path) const;

  const IdentityHeaderNames& headers() const { return headers_; }
  const std::vector<GatewayRoute>& routes() const { return routes_; }

  // True for a request header a client must never be able to send upstream: any "x-signet-*"
  // header and every configured identity header. `lower_name` must be lower case.
  bool IsIdentityHeader(absl::string_view lower_name) const;

 private:
  std::vector<GatewayRoute> routes_;
  IdentityHeaderNames headers_;
  GatewayRoute default_route_{"", "/", TokenRequirement::kRequired, ""};
};

}  // namespace signet::server

#endif  // SIGNET_SERVER_GATEWAY_GATEWAY_RULES_H_
