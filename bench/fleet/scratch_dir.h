// A temporary folder for a benchmark's servers (data folders, logs, KEK and DSN files), removed
// with everything in it on destruction; and whole-file reads and writes.
//
// Example:
//   ScratchDir dir("signet-watchers");      // /tmp/signet-watchers-XXXXXX
//   if (!dir.ok()) return 1;
//   ScratchDir kept("signet-curve", work_dir);     // <work_dir>/signet-curve-XXXXXX
//   kept.Keep();                                   // left in place on destruction
//   WriteFile(dir.path() + "/kek", key);
#ifndef SIGNET_BENCH_FLEET_SCRATCH_DIR_H_
#define SIGNET_BENCH_FLEET_SCRATCH_DIR_H_

#include <string>

namespace signet::bench {

class ScratchDir {
 public:
  // In `parent`, or in the temporary folder when it is empty.
  explicit ScratchDir(const std::string& prefix, const std::string& parent = "");
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  bool ok() const { return !path_.empty(); }
  const std::string& path() const { return path_; }
  // Leaves the folder in place on destruction (e.g. its logs, after a failure).
  void Keep() { keep_ = true; }

 private:
  std::string path_;
  bool keep_ = false;
};

// The whole file, or "" when it cannot be read.
std::string ReadFile(const std::string& path);

// Writes `content` to a new file of mode 0600 (replacing any); false on any failure.
bool WriteFile(const std::string& path, const std::string& content);

}  // namespace signet::bench

#endif  // SIGNET_BENCH_FLEET_SCRATCH_DIR_H_
