// HTTP forward-auth on signet's HTTP listener: /v1/authz answers nginx auth_request, Traefik
// ForwardAuth and Envoy's HTTP ext_authz mode with the Gateway's decision.
//
// Example:
//   httplib::Server server;
//   AddForwardAuthRoutes(gateway.get(), &server);
//   // GET /v1/authz, Authorization: Bearer <token>, X-Original-URI: /orders/42
//   //   -> 200, X-Signet-Subject: 42, ...      (the proxy copies these upstream)
//   //   -> 401, WWW-Authenticate: Bearer error="invalid_token", error_description="token revoked"
//
// Any method is accepted. The original request is read from the headers these proxies send: the
// path from X-Original-URI (nginx), X-Forwarded-Uri (Traefik) or what follows /v1/authz (Envoy's
// path_prefix); the host from X-Forwarded-Host or X-Original-Host, else Host; the method from
// X-Original-Method or X-Forwarded-Method. An allowed answer also lists the client's identity
// headers that must not go upstream in x-envoy-auth-headers-to-remove (Envoy's HTTP mode).
#ifndef SIGNET_SERVER_GATEWAY_FORWARD_AUTH_H_
#define SIGNET_SERVER_GATEWAY_FORWARD_AUTH_H_

#include "server/gateway/gateway.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace signet::server {

inline constexpr char kForwardAuthPath[] = "/v1/authz";

// Registers /v1/authz and /v1/authz/<original path> for every method. `gateway` must outlive
// `server`'s serving.
void AddForwardAuthRoutes(const Gateway* gateway, httplib::Server* server);

}  // namespace signet::server

#endif  // SIGNET_SERVER_GATEWAY_FORWARD_AUTH_H_
