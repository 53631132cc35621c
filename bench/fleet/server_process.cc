#include "bench/fleet/server_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "bench/fleet/scratch_dir.h"
#include "rapidjson/document.h"

namespace signet::bench {

std::string DefaultServerBinary() {
  return std::string(SIGNET_BINARY_DIR) + "/server/signet-server";
}

ServerProcess::ServerProcess(std::string binary) : binary_(std::move(binary)) {}

bool ServerProcess::Start(const std::vector<std::string>& args, const std::string& log_path) {
  return Start(args, log_path, Wait());
}

bool ServerProcess::Start(const std::vector<std::string>& args, const std::string& log_path,
                          Wait wait) {
  started_at_ = Clock::now();
  port_ = 0;
  http_port_ = 0;
  pid_ = fork();
  if (pid_ == 0) {
    // The server goes with the benchmark, however the benchmark ends (Die() exits at once).
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    std::vector<std::string> copy = args;
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(binary_.c_str()));
    for (std::string& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(binary_.c_str(), argv.data());
    _exit(127);
  }
  const auto deadline = started_at_ + wait.limit;
  while (pid_ > 0 && Clock::now() < deadline) {
    for (absl::string_view line : absl::StrSplit(ReadFile(log_path), '\n')) {
      rapidjson::Document doc;
      doc.Parse(line.data(), line.size());
      if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("event") ||
          !doc["event"].IsString() || std::string(doc["event"].GetString()) != "server_started" ||
          !doc.HasMember("port") || !doc["port"].IsInt()) {
        continue;
      }
      port_ = doc["port"].GetInt();
      if (doc.HasMember("http_port") && doc["http_port"].IsInt()) {
        http_port_ = doc["http_port"].GetInt();
      }
      return true;
    }
    if (!Running()) break;
    std::this_thread::sleep_for(wait.poll);
  }
  std::fprintf(stderr, "signet-server did not start:\n%s\n", ReadFile(log_path).c_str());
  Kill();
  return false;
}

void ServerProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

void ServerProcess::Stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  const auto deadline = Clock::now() + grace;
  while (Running() && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  Kill();
}

bool ServerProcess::Running() {
  if (pid_ <= 0) return false;
  if (waitpid(pid_, nullptr, WNOHANG) == pid_) pid_ = -1;
  return pid_ > 0;
}

std::string ServerProcess::target() const { return absl::StrCat("127.0.0.1:", port_); }

}  // namespace signet::bench
