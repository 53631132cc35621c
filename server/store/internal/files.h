// Small POSIX file helpers for the stores and the KEK file: folders made 0700, fsync of folders.
#ifndef SIGNET_SERVER_STORE_INTERNAL_FILES_H_
#define SIGNET_SERVER_STORE_INTERNAL_FILES_H_

#include <string>

#include "absl/status/status.h"

namespace signet::server::internal {

// The folder holding `path` ("." for a bare file name).
std::string ParentFolder(const std::string& path);

// Creates `folder` with mode 0700 when it is missing (its own parent must exist). OK when it
// already exists. Errors carry errno's code and say which folder.
absl::Status EnsureFolder(const std::string& folder);

// fsync()s a folder so that a file just created in it survives a crash.
absl::Status SyncFolder(const std::string& folder);

// absl::ErrnoToStatus with a message naming what failed; never includes file contents.
absl::Status ErrnoStatus(int error_number, const std::string& what);

}  // namespace signet::server::internal

#endif  // SIGNET_SERVER_STORE_INTERNAL_FILES_H_
