// A temporary folder for a benchmark's servers (data folders, logs, KEK and DSN files), removed
// with everything in it on destruction; and whole-file reads and writes.
//
// Example:
//   ScratchDir dir("signet-watchers");      // /tmp/signet-watchers-XXXXXX
//   if (!dir.ok()) return 1;
//   WriteFile(dir.path() + "/kek", key);
#ifndef SIGNET_BENCH_FLEET_SCRATCH_DIR_H_
#define SIGNET_BENCH_FLEET_SCRATCH_DIR_H_

#include <string>

namespace signet::bench {

class ScratchDir {
 public:
  explicit ScratchDir(const std::string& prefix);
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  bool ok() const { return !path_.empty(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The whole file, or "" when it cannot be read.
std::string ReadFile(const std::string& path);

// Writes `content` to a new file of mode 0600 (replacing any); false on any failure.
bool WriteFile(const std::string& path, const std::string& content);

}  // namespace signet::bench

#endif  // SIGNET_BENCH_FLEET_SCRATCH_DIR_H_
