// Helpers shared by the store tests: temporary folders, files with a given mode, readable
// printing of records (sizes only for secret fields), and running code in a child process.
#ifndef SIGNET_TESTS_UNIT_STORE_TEST_UTIL_H_
#define SIGNET_TESTS_UNIT_STORE_TEST_UTIL_H_

#include <sys/types.h>

#include <functional>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "server/store/store.h"

namespace signet::server {

// gtest prints records through these (found by ADL) instead of dumping their bytes: the sealed
// private key shows as its size only.
void PrintTo(const KeyRecord& record, std::ostream* os);
void PrintTo(const TokenRevocationRecord& record, std::ostream* os);
void PrintTo(const SubjectRevocationRecord& record, std::ostream* os);

// Field-by-field equality, for matchers.
bool operator==(const TokenRevocationRecord& a, const TokenRevocationRecord& b);
bool operator==(const SubjectRevocationRecord& a, const SubjectRevocationRecord& b);

namespace testing {

// A fresh folder under ::testing::TempDir(), removed with everything in it on destruction.
class TempFolder {
 public:
  TempFolder();
  ~TempFolder();
  TempFolder(const TempFolder&) = delete;
  TempFolder& operator=(const TempFolder&) = delete;

  const std::string& path() const { return path_; }
  std::string Child(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Writes `contents` to `path` (created or truncated) and sets exactly `mode`.
void WriteFileWithMode(const std::string& path, const std::string& contents, mode_t mode);
std::string ReadWholeFile(const std::string& path);
// Permission bits (07777) of `path`; -1 when it cannot be stat'ed.
int FileMode(const std::string& path);

// The uid/gid code runs as when RunInChild drops root's privileges.
inline constexpr uid_t kUnprivilegedId = 65534;

// Runs `body` in a forked child and returns its result. When the test runs as root, the child
// first becomes kUnprivilegedId so that file modes apply to it. Returns -1 if the child did not
// exit normally.
int RunInChild(const std::function<int()>& body);

}  // namespace testing
}  // namespace signet::server

#endif  // SIGNET_TESTS_UNIT_STORE_TEST_UTIL_H_
