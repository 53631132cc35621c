#include "server/store/secret_file.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/store/internal/files.h"

namespace signet::server {

absl::StatusOr<std::string> ReadSecretFile(const std::string& path, size_t max_bytes,
                                           std::string_view what) {
  const std::string name = absl::StrCat(std::string(what), " ", path);
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) return absl::NotFoundError(absl::StrCat(name, " does not exist"));
    return internal::ErrnoStatus(err, absl::StrCat("cannot open ", name));
  }
  struct FdCloser {
    int fd;
    ~FdCloser() { close(fd); }
  } closer{fd};

  struct stat st;
  if (fstat(fd, &st) != 0) return internal::ErrnoStatus(errno, "cannot inspect " + name);
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat(name, " is not a regular file"));
  }
  if ((st.st_mode & 077) != 0) {
    return absl::PermissionDeniedError(absl::StrFormat(
        "%s has mode %04o: group and others must have no access to it; run chmod 0600 %s", name,
        st.st_mode & 07777, path));
  }
  // One byte more than allowed tells a file that is too large.
  std::string contents(max_bytes + 1, '\0');
  size_t size = 0;
  while (size < contents.size()) {
    const ssize_t n = read(fd, contents.data() + size, contents.size() - size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      OPENSSL_cleanse(contents.data(), contents.size());
      return internal::ErrnoStatus(err, "cannot read " + name);
    }
    if (n == 0) break;
    size += static_cast<size_t>(n);
  }
  OPENSSL_cleanse(contents.data() + size, contents.size() - size);
  if (size > max_bytes) {
    OPENSSL_cleanse(contents.data(), contents.size());
    return absl::InvalidArgumentError(absl::StrCat(name, " is larger than ", max_bytes, " bytes"));
  }
  contents.resize(size);
  return contents;
}

}  // namespace signet::server
