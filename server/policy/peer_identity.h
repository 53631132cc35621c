// The caller's identity from its verified client certificate, as gRPC's AuthContext exposes it:
// the SPIFFE ID (URI SAN "spiffe://..."), else the first DNS SAN, else the subject CN.
//
// Example:
//   std::string who = PeerIdentity(*context.auth_context());  // "" without a client certificate
#ifndef SIGNET_SERVER_POLICY_PEER_IDENTITY_H_
#define SIGNET_SERVER_POLICY_PEER_IDENTITY_H_

#include <string>

#include "grpcpp/security/auth_context.h"

namespace signet::server {

// Empty when the peer is not authenticated (plaintext, or TLS without a client certificate), when
// the certificate names none of the three, or when it carries more than one SPIFFE ID (SPIFFE
// allows exactly one; picking one of several would let the certificate's issuer choose).
// Reads the properties on every call and caches nothing in the AuthContext.
std::string PeerIdentity(const grpc::AuthContext& auth);

}  // namespace signet::server

#endif  // SIGNET_SERVER_POLICY_PEER_IDENTITY_H_
