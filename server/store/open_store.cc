#include "server/store/open_store.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "server/store/postgres_store.h"

namespace signet::server {
namespace {

absl::StatusOr<std::unique_ptr<Store>> OpenConfiguredPostgresStore(const ServerConfig& config) {
  std::string dsn = config.postgres_dsn;
  if (dsn.empty()) {
    absl::StatusOr<std::string> read = ReadDsnFile(config.postgres_dsn_file);
    if (!read.ok()) return read.status();
    dsn = *std::move(read);
  }
  PostgresStoreOptions options;
  options.connect_timeout = config.postgres_connect_timeout;
  // During an outage whose connection attempts hang, one change a second waits connect_timeout;
  // the others answer UNAVAILABLE at once. (The writer mutex is held across store calls.)
  options.reconnect_fail_fast = absl::Seconds(1);
  // A replica whose listener is disconnected misses notifications until it is back (then it
  // reloads): keep that gap short. One connection attempt every 2 s per replica is cheap.
  options.reconnect_max_backoff = absl::Seconds(2);
  absl::StatusOr<std::unique_ptr<Store>> store = OpenPostgresStore(dsn, options);
  if (!store.ok()) {
    // Messages never carry the DSN (it may hold a password).
    return absl::Status(store.status().code(),
                        absl::StrCat("PostgreSQL store: ", store.status().message()));
  }
  return store;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> OpenConfiguredStore(const ServerConfig& config) {
  if (config.store == "postgres") return OpenConfiguredPostgresStore(config);
  if (mkdir(config.data_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::UnavailableError(
        absl::StrCat("cannot create data folder ", config.data_dir, ": ", std::strerror(errno)));
  }
  return OpenSqliteStore(config.data_dir + "/signet.db");
}

bool IsSharedStore(const ServerConfig& config) { return config.store == "postgres"; }

}  // namespace signet::server
