#include "server/store/store.h"

namespace signet::server {

bool operator==(const KeyRecord& a, const KeyRecord& b) {
  return a.kid == b.kid && a.algorithm == b.algorithm && a.state == b.state &&
         a.created_at == b.created_at && a.activated_at == b.activated_at &&
         a.retired_at == b.retired_at && a.revoked_at == b.revoked_at &&
         a.revoke_reason == b.revoke_reason && a.public_jwk == b.public_jwk &&
         a.sealed_private == b.sealed_private && a.mac == b.mac;
}

}  // namespace signet::server
