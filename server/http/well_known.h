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
#include <vector>

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

// RFC 8414's authorization server metadata at the root, for an issuer without a path.
inline constexpr char kOAuthMetadataPath[] = "/.well-known/oauth-authorization-server";

// The discovery document (OpenID Connect Discovery 1.0 and RFC 8414 metadata): issuer (the iss of
// every token), jwks_uri (`public_url` + kJwksPath), the algorithms of the published keys, and
// only what else is true of signet: it has no authorization endpoint, so response_types_supported
// is empty, and subjects are the same for every audience ("public").
std::string DiscoveryJson(std::string_view issuer, std::string_view public_url,
                          const StateSnapshot& snapshot);

// The path of an http(s) URL without its trailing "/" ("/signet" for https://host/signet/); empty
// when there is none, or for a path with a query, a fragment, "//" or a ".." segment.
std::string UrlPath(std::string_view url);

// The paths the discovery document is served at: kDiscoveryPath and kOAuthMetadataPath always, and
// for an issuer URL with a path P (https://host/P), P + kDiscoveryPath (OpenID Connect Discovery
// section 4) and kOAuthMetadataPath + P (RFC 8414 section 3), so a client finds it from the issuer
// alone.
std::vector<std::string> DiscoveryPaths(std::string_view issuer);

// True for a host a client cannot reach as written: empty, 0.0.0.0, :: or [::].
bool IsWildcardHost(std::string_view host);

}  // namespace signet::server

#endif  // SIGNET_SERVER_HTTP_WELL_KNOWN_H_
