// The documents gateways and JWT libraries fetch to verify signet tokens with no code of ours:
// the JWK Set and the OpenID Connect discovery document, with their HTTP caching rules.
//
// Example:
//   std::shared_ptr<const StateSnapshot> snap = ring->Current();
//   std::string etag = StrongEtag(snap->jwks_json);
//   if (IfNoneMatchMatches(request_header, etag)) return NotModified(etag);
//   std::string cache_control = JwksCacheControl(config.publish_ahead);  // "public, max-age=300"
//   std::string discovery = DiscoveryJson(config.issuer, "https://signet.example", *snap);
#ifndef SIGNET_SERVER_HTTP_WELL_KNOWN_H_
#define SIGNET_SERVER_HTTP_WELL_KNOWN_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "server/keys/state_snapshot.h"

namespace signet::server {

inline constexpr char kJwksPath[] = "/.well-known/jwks.json";
inline constexpr char kDiscoveryPath[] = "/.well-known/openid-configuration";

// A strong entity tag for `body`: a quoted base64url SHA-256 of its bytes.
std::string StrongEtag(std::string_view body);

// True when an If-None-Match header value names `etag` (RFC 9110 section 13.1.2: weak
// comparison, a comma-separated list, or "*").
bool IfNoneMatchMatches(std::string_view if_none_match, std::string_view etag);

// How long caches may keep the JWKS: half of publish_ahead, at most 5 minutes, so a key is in
// every cache before the first token it signs exists (DESIGN.md section 3).
int64_t JwksMaxAgeSeconds(absl::Duration publish_ahead);
// "public, max-age=N" for the value above.
std::string JwksCacheControl(absl::Duration publish_ahead);

// The OpenID Connect discovery document: issuer (the iss of every token), jwks_uri
// (`public_url` + kJwksPath), the algorithms of the published keys, and the response and subject
// types OpenID Connect Discovery 1.0 requires.
std::string DiscoveryJson(std::string_view issuer, std::string_view public_url,
                          const StateSnapshot& snapshot);

}  // namespace signet::server

#endif  // SIGNET_SERVER_HTTP_WELL_KNOWN_H_
