#include "tests/integration/test_support.h"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"

namespace signet::testing {

TempDir::TempDir() {
  std::string tmpl = ::testing::TempDir() + "signet-XXXXXX";
  char* made = mkdtemp(tmpl.data());
  if (made == nullptr) {
    ADD_FAILURE() << "mkdtemp failed";
  }
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void WriteFile(const std::string& path, const std::string& content, int mode) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, mode);
  ASSERT_GE(fd, 0) << "cannot write " << path;
  ASSERT_EQ(write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
  fchmod(fd, mode);
  close(fd);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

server::ServerConfig TestConfig(const std::string& data_dir) {
  server::ServerConfig config;
  config.listen = "127.0.0.1:0";
  config.http_listen = "";
  config.data_dir = data_dir;
  return config;
}

std::unique_ptr<server::SignetServer> StartServer(server::SignetServer::Options options) {
  absl::StatusOr<std::unique_ptr<server::SignetServer>> server =
      server::SignetServer::Start(std::move(options));
  if (!server.ok()) {
    ADD_FAILURE() << "the server did not start: " << server.status();
    return nullptr;
  }
  return *std::move(server);
}

std::shared_ptr<grpc::Channel> NewChannel(int port) {
  return grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
}

std::unique_ptr<signet::v1::TokenService::Stub> NewStub(int port) {
  return signet::v1::TokenService::NewStub(NewChannel(port));
}

signet::v1::IssueTokenResponse IssueFor(signet::v1::TokenService::Stub* stub,
                                        const std::string& subject) {
  signet::v1::IssueTokenRequest req;
  req.set_subject(subject);
  signet::v1::IssueTokenResponse resp;
  grpc::ClientContext ctx;
  grpc::Status st = stub->IssueToken(&ctx, req, &resp);
  EXPECT_TRUE(st.ok()) << st.error_message();
  return resp;
}

grpc::Status RevokeTokenOf(signet::v1::TokenService::Stub* stub, const std::string& token) {
  signet::v1::RevokeTokenRequest req;
  req.set_token(token);
  signet::v1::RevokeTokenResponse resp;
  grpc::ClientContext ctx;
  return stub->RevokeToken(&ctx, req, &resp);
}

signet::v1::ListKeysResponse ListKeysOf(signet::v1::TokenService::Stub* stub,
                                        bool include_revoked) {
  signet::v1::ListKeysRequest req;
  req.set_include_revoked(include_revoked);
  signet::v1::ListKeysResponse resp;
  grpc::ClientContext ctx;
  grpc::Status st = stub->ListKeys(&ctx, req, &resp);
  EXPECT_TRUE(st.ok()) << st.error_message();
  return resp;
}

signet::v1::ValidateTokenResponse ValidateAnyAudience(signet::v1::TokenService::Stub* stub,
                                                      const std::string& token) {
  signet::v1::ValidateTokenRequest req;
  req.set_token(token);
  req.set_any_audience(true);
  signet::v1::ValidateTokenResponse resp;
  grpc::ClientContext ctx;
  grpc::Status st = stub->ValidateToken(&ctx, req, &resp);
  EXPECT_TRUE(st.ok()) << st.error_message();
  return resp;
}

std::string ServerBinary() { return std::string(SIGNET_BINARY_DIR) + "/server/signet-server"; }

namespace {

pid_t Spawn(const std::vector<std::string>& args, const std::string& log_path,
            std::optional<uid_t> run_as = std::nullopt) {
  std::string binary = ServerBinary();
  if (run_as.has_value()) {
    // Another uid may not reach the build folder (a checkout under a 0700 home): it runs a copy
    // beside its log, in the test's temporary folder.
    std::string copy = log_path + ".signet-server";
    std::error_code error;
    std::filesystem::copy_file(binary, copy, std::filesystem::copy_options::overwrite_existing,
                               error);
    if (!error) {
      chmod(copy.c_str(), 0755);
      binary = copy;
    }
  }
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
      dup2(fd, 2);
      dup2(fd, 1);
    }
    if (run_as.has_value() &&
        (setgroups(0, nullptr) != 0 || setgid(*run_as) != 0 || setuid(*run_as) != 0)) {
      _exit(126);
    }
    std::vector<char*> argv;
    argv.push_back(binary.data());
    std::vector<std::string> copy = args;
    for (std::string& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  return pid;
}

// The `member` port of the last "server_started" line in the log, or 0.
int PortFromLog(const std::string& log, const char* member = "port") {
  int port = 0;
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    rapidjson::Document doc;
    doc.Parse(line.data(), line.size());
    if (doc.HasParseError() || !doc.IsObject()) continue;
    auto event = doc.FindMember("event");
    if (event == doc.MemberEnd() || !event->value.IsString()) continue;
    if (std::string(event->value.GetString()) != "server_started") continue;
    auto p = doc.FindMember(member);
    if (p != doc.MemberEnd() && p->value.IsInt()) port = p->value.GetInt();
  }
  return port;
}

}  // namespace

std::unique_ptr<ServerProcess> ServerProcess::Start(const std::vector<std::string>& args,
                                                    const std::string& log_path,
                                                    std::optional<uid_t> run_as) {
  auto proc = std::unique_ptr<ServerProcess>(new ServerProcess());
  proc->log_path_ = log_path;
  std::vector<std::string> all = args;
  bool has_listen = false;
  for (const std::string& a : args) has_listen |= a.rfind("--listen", 0) == 0;
  if (!has_listen) all.push_back("--listen=127.0.0.1:0");
  size_t log_offset = ReadFile(log_path).size();
  proc->pid_ = Spawn(all, log_path, run_as);
  absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (absl::Now() < deadline) {
    std::string log = ReadFile(log_path);
    int port = PortFromLog(log.substr(std::min(log_offset, log.size())));
    if (port != 0) {
      proc->port_ = port;
      proc->http_port_ = PortFromLog(log.substr(std::min(log_offset, log.size())), "http_port");
      return proc;
    }
    int status = 0;
    if (waitpid(proc->pid_, &status, WNOHANG) == proc->pid_) {
      proc->pid_ = -1;
      ADD_FAILURE() << "signet-server exited during start-up:\n" << log;
      return proc;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  ADD_FAILURE() << "signet-server did not start within 30 s:\n" << ReadFile(log_path);
  return proc;
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) Kill9();
}

void ServerProcess::Kill9() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

int ServerProcess::Terminate(absl::Duration timeout) {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  Kill9();
  return -1;
}

std::string ServerProcess::Log() const { return ReadFile(log_path_); }

int RunServerOnce(const std::vector<std::string>& args, std::string* out, absl::Duration timeout) {
  std::string log_path = ::testing::TempDir() + "signet-once-" + std::to_string(getpid()) + "-" +
                         std::to_string(absl::ToUnixNanos(absl::Now())) + ".log";
  pid_t pid = Spawn(args, log_path);
  absl::Time deadline = absl::Now() + timeout;
  int result = -1;
  while (absl::Now() < deadline) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      result = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      break;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  if (result == -1) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  *out = ReadFile(log_path);
  unlink(log_path.c_str());
  return result;
}

}  // namespace signet::testing
