#include "tests/unit/store/test_util.h"

#include <fcntl.h>
#include <grp.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace signet::server {

void PrintTo(const KeyRecord& r, std::ostream* os) {
  *os << "KeyRecord{kid=" << r.kid << " algorithm=" << static_cast<int>(r.algorithm)
      << " state=" << static_cast<int>(r.state) << " created_at=" << r.created_at
      << " activated_at=" << r.activated_at << " retired_at=" << r.retired_at
      << " revoked_at=" << r.revoked_at << " revoke_reason=\"" << r.revoke_reason
      << "\" public_jwk=\"" << r.public_jwk << "\" sealed_private=<" << r.sealed_private.size()
      << " bytes>}";
}

void PrintTo(const TokenRevocationRecord& r, std::ostream* os) {
  *os << "TokenRevocation{" << r.token_id << " expires_at=" << r.expires_at << "}";
}

void PrintTo(const SubjectRevocationRecord& r, std::ostream* os) {
  *os << "SubjectRevocation{" << r.subject << " not_before=" << r.not_before
      << " expires_at=" << r.expires_at << "}";
}

bool operator==(const TokenRevocationRecord& a, const TokenRevocationRecord& b) {
  return a.token_id == b.token_id && a.expires_at == b.expires_at;
}

bool operator==(const SubjectRevocationRecord& a, const SubjectRevocationRecord& b) {
  return a.subject == b.subject && a.not_before == b.not_before && a.expires_at == b.expires_at;
}

namespace testing {

TempFolder::TempFolder() {
  std::string base = ::testing::TempDir();
  if (base.empty() || base.back() != '/') base += '/';
  std::string pattern = base + "signet_store_XXXXXX";
  char* made = mkdtemp(pattern.data());
  if (made == nullptr) {
    ADD_FAILURE() << "mkdtemp failed under " << base;
    return;
  }
  path_ = made;
}

TempFolder::~TempFolder() {
  if (path_.empty()) return;
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

void WriteFileWithMode(const std::string& path, const std::string& contents, mode_t mode) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0) << "cannot create " << path;
  size_t written = 0;
  while (written < contents.size()) {
    const ssize_t n = write(fd, contents.data() + written, contents.size() - written);
    ASSERT_GT(n, 0) << "cannot write " << path;
    written += static_cast<size_t>(n);
  }
  ASSERT_EQ(fchmod(fd, mode), 0);
  ASSERT_EQ(close(fd), 0);
}

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

int FileMode(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int>(st.st_mode & 07777);
}

int RunInChild(const std::function<int()>& body) {
  const pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    if (geteuid() == 0) {
      if (setgroups(0, nullptr) != 0 || setgid(kUnprivilegedId) != 0 ||
          setuid(kUnprivilegedId) != 0) {
        _exit(125);
      }
    }
    _exit(body());
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

}  // namespace testing
}  // namespace signet::server
