// Knobs of the SQLite store that production leaves at their defaults; tests shorten the wait for a
// locked database.
//
// Example:
//   signet::server::internal::SqliteStoreOptions options;
//   options.busy_timeout = absl::Milliseconds(50);
//   absl::StatusOr<std::unique_ptr<Store>> store =
//       signet::server::internal::OpenSqliteStore(path, options);
#ifndef SIGNET_SERVER_STORE_INTERNAL_SQLITE_STORE_H_
#define SIGNET_SERVER_STORE_INTERNAL_SQLITE_STORE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/store/store.h"

namespace signet::server::internal {

struct SqliteStoreOptions {
  // How long a write waits for another connection's write transaction before UNAVAILABLE.
  absl::Duration busy_timeout = absl::Seconds(5);
};

// The schema version this binary writes; a database with a higher one is refused.
inline constexpr int kSqliteSchemaVersion = 2;

// signet::server::OpenSqliteStore(path) is this with the default options.
absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path,
                                                       const SqliteStoreOptions& options);

}  // namespace signet::server::internal

#endif  // SIGNET_SERVER_STORE_INTERNAL_SQLITE_STORE_H_
