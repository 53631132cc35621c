#include "server/store/open_store.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace signet::server {

absl::StatusOr<std::unique_ptr<Store>> OpenConfiguredStore(const ServerConfig& config) {
  if (config.store == "sqlite") {
    if (mkdir(config.data_dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return absl::UnavailableError(
          absl::StrCat("cannot create data folder ", config.data_dir, ": ", std::strerror(errno)));
    }
    return OpenSqliteStore(config.data_dir + "/signet.db");
  }
  return absl::UnimplementedError("--store=postgres is not available in this build");
}

bool IsSharedStore(const ServerConfig& config) { return config.store == "postgres"; }

}  // namespace signet::server
