#include "server/keys/pkcs11/pin_file.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace signet::server {
namespace {

// PKCS#11 PINs are short; a longer file is the wrong file.
constexpr size_t kMaxPinBytes = 255;

absl::Status ErrnoStatus(int err, const std::string& what) {
  return absl::ErrnoToStatus(err, what);
}

}  // namespace

absl::StatusOr<std::string> ReadPinFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return ErrnoStatus(errno, absl::StrCat("cannot open the PIN file ", path));
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  struct stat st;
  if (fstat(fd, &st) != 0) return ErrnoStatus(errno, absl::StrCat("cannot inspect ", path));
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat("the PIN file ", path, " is not a regular file"));
  }
  if ((st.st_mode & 077) != 0) {
    return absl::PermissionDeniedError(absl::StrFormat(
        "the PIN file %s has mode %04o: group and others must have no access to it; run chmod "
        "0600 %s",
        path, st.st_mode & 07777, path));
  }
  std::string pin(kMaxPinBytes + 3, '\0');
  size_t size = 0;
  while (size < pin.size()) {
    const ssize_t n = read(fd, pin.data() + size, pin.size() - size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      OPENSSL_cleanse(pin.data(), pin.size());
      return ErrnoStatus(errno, absl::StrCat("cannot read the PIN file ", path));
    }
    if (n == 0) break;
    size += static_cast<size_t>(n);
  }
  size_t end = size;
  if (end > 0 && pin[end - 1] == '\n') --end;
  if (end > 0 && pin[end - 1] == '\r') --end;
  OPENSSL_cleanse(pin.data() + end, pin.size() - end);
  pin.resize(end);
  if (pin.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("the PIN file ", path, " is empty"));
  }
  if (pin.size() > kMaxPinBytes) {
    OPENSSL_cleanse(pin.data(), pin.size());
    return absl::InvalidArgumentError(
        absl::StrCat("the PIN file ", path, " holds more than ", kMaxPinBytes, " bytes"));
  }
  return pin;
}

}  // namespace signet::server
