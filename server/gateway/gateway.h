// The one decision behind both gateway front ends (Envoy's ext_authz Check over gRPC, and HTTP
// forward-auth for nginx auth_request, Traefik ForwardAuth and Envoy's HTTP mode): may this
// request go upstream, and with which identity headers?
//
// Example:
//   Gateway::Options options;
//   options.issuer = "signet";
//   options.ring = ring.get();
//   std::unique_ptr<Gateway> gateway = Gateway::Create(std::move(options));
//   GatewayRequest request;
//   request.host = "api.example.com";
//   request.path = "/orders/42";
//   request.authorization = {"Bearer eyJhbGciOi..."};
//   GatewayDecision d = gateway->Decide(request);
//   if (!d.allowed) Reply(401, {{"WWW-Authenticate", d.www_authenticate}});
//
// Tokens are judged in process by a RingVerifier over the key ring's current snapshot, with its
// own validation cache: a revocation applies to the next request, as it does for ValidateToken.
#ifndef SIGNET_SERVER_GATEWAY_GATEWAY_H_
#define SIGNET_SERVER_GATEWAY_GATEWAY_H_

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/gateway/gateway_rules.h"
#include "server/keys/key_ring.h"
#include "server/ring_verifier.h"
#include "signet/clock.h"

namespace signet::server {

// What a front end read from the request it is asked about. Views into the caller's request.
struct GatewayRequest {
  std::string_view method;
  std::string_view host;
  std::string_view path;  // The request target, query string included.
  // The values of every Authorization header (usually one).
  std::vector<std::string_view> authorization;
  // The lower-case names of request headers that GatewayRules::IsIdentityHeader says a client
  // must not send upstream.
  std::vector<std::string> identity_headers;
};

struct GatewayDecision {
  bool allowed = false;
  // True when a valid token identified the caller (the identity headers are set).
  bool authenticated = false;
  // 200 when allowed, 401 when refused.
  int http_status = 401;
  // Refused only: the WWW-Authenticate value (RFC 6750): "Bearer" for a request without a token,
  // else `Bearer error="...", error_description="..."`.
  std::string www_authenticate;
  // Why the token was refused (or ignored on an optional route); empty when valid. Never holds
  // any part of the token.
  std::string reason;
  // Authenticated only: the identity headers for the upstream (lower-case names, non-empty
  // values) as a serialized envoy.service.auth.v3.OkHttpResponse with only `headers` set, the
  // bytes Check sends (read them with IdentityHeaders). Points into storage of the calling thread
  // that its next Decide reuses.
  std::string_view identity;
  // Allowed only: identity headers the client sent that `identity` does not replace; a proxy
  // must remove them so that no client can forge an identity.
  std::vector<std::string> headers_to_remove;
};

// The (name, value) pairs of a GatewayDecision's `identity`.
std::vector<std::pair<std::string, std::string>> IdentityHeaders(std::string_view identity);

// Thread-safe; Decide takes no lock.
class Gateway {
 public:
  struct Options {
    GatewayRules rules;
    // The verifier's settings (the server's --issuer, --leeway, --max_token_bytes).
    std::string issuer;
    absl::Duration leeway = absl::Seconds(30);
    size_t max_token_bytes = 8 * 1024;
    // Valid tokens remembered (0: no cache).
    size_t cache_entries = 65536;
    // Must outlive the gateway.
    const KeyRing* ring = nullptr;
    const Clock* clock = &Clock::Real();
  };
  explicit Gateway(Options options);

  GatewayDecision Decide(const GatewayRequest& request) const;

  const GatewayRules& rules() const { return rules_; }

 private:
  const GatewayRules rules_;
  const RingVerifier verifier_;
};

}  // namespace signet::server

#endif  // SIGNET_SERVER_GATEWAY_GATEWAY_H_
