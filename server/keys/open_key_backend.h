// The key backend --key_backend names, opened: null for "local" (the key ring makes its own
// LocalKeyBackend), a Pkcs11KeyBackend on the configured token for "pkcs11".
//
// Example:
//   absl::StatusOr<std::shared_ptr<const KeyBackend>> backend = OpenKeyBackend(config, &envelope);
//   if (!backend.ok()) return backend.status();  // a wrong PIN, an absent token, ...
//   ring = KeyRing::Create(store, std::move(ring_envelope), settings, clock, *backend);
#ifndef SIGNET_SERVER_KEYS_OPEN_KEY_BACKEND_H_
#define SIGNET_SERVER_KEYS_OPEN_KEY_BACKEND_H_

#include <memory>

#include "absl/status/statusor.h"
#include "server/config.h"
#include "server/keys/key_backend.h"
#include "server/store/envelope.h"

namespace signet::server {

// `envelope` opens the rows a local backend made before a switch to a token; it must outlive the
// backend. Errors say which setting is wrong (the PIN file's mode, a module that does not load,
// no token with that label, a wrong PIN) and never hold the PIN.
absl::StatusOr<std::shared_ptr<const KeyBackend>> OpenKeyBackend(const ServerConfig& config,
                                                                 const Envelope* envelope);

// Sessions the token gets: config.pkcs11_sessions, or four per core (at least 8) when it is 0.
size_t Pkcs11SessionCount(const ServerConfig& config);

}  // namespace signet::server

#endif  // SIGNET_SERVER_KEYS_OPEN_KEY_BACKEND_H_
