// Opens the store the configuration names.
//
// Example:
//   absl::StatusOr<std::unique_ptr<Store>> store = OpenConfiguredStore(config);
#ifndef SIGNET_SERVER_STORE_OPEN_STORE_H_
#define SIGNET_SERVER_STORE_OPEN_STORE_H_

#include <memory>

#include "absl/status/statusor.h"
#include "server/config.h"
#include "server/store/store.h"

namespace signet::server {

// SQLite at DATA_DIR/signet.db (the folder made 0700 when missing), or PostgreSQL.
absl::StatusOr<std::unique_ptr<Store>> OpenConfiguredStore(const ServerConfig& config);

// True when other processes share the store (so a periodic reload repairs missed changes).
bool IsSharedStore(const ServerConfig& config);

}  // namespace signet::server

#endif  // SIGNET_SERVER_STORE_OPEN_STORE_H_
