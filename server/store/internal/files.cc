#include "server/store/internal/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"

namespace signet::server::internal {

std::string ParentFolder(const std::string& path) {
  const std::string::size_type slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

absl::Status ErrnoStatus(int error_number, const std::string& what) {
  return absl::ErrnoToStatus(error_number, what);
}

absl::Status EnsureFolder(const std::string& folder) {
  if (mkdir(folder.c_str(), 0700) == 0) return SyncFolder(ParentFolder(folder));
  const int err = errno;
  if (err != EEXIST) return ErrnoStatus(err, absl::StrCat("cannot create folder ", folder));
  struct stat st;
  if (stat(folder.c_str(), &st) != 0) {
    return ErrnoStatus(errno, absl::StrCat("cannot inspect folder ", folder));
  }
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(folder, " exists and is not a folder"));
  }
  return absl::OkStatus();
}

absl::Status SyncFolder(const std::string& folder) {
  const int fd = open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, absl::StrCat("cannot open folder ", folder));
  const int rc = fsync(fd);
  const int err = errno;
  close(fd);
  if (rc != 0) return ErrnoStatus(err, absl::StrCat("cannot sync folder ", folder));
  return absl::OkStatus();
}

}  // namespace signet::server::internal
