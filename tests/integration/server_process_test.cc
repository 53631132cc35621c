// signet-server as operators run it: a child process with flags, killed with -9 or drained with
// SIGTERM, refusing bad start-up settings with a clear message.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/test_support.h"

namespace signet {
namespace {

using ::testing::HasSubstr;

std::string ActiveKid(v1::TokenService::Stub* stub) {
  v1::ListKeysResponse resp;
  grpc::ClientContext ctx;
  EXPECT_TRUE(stub->ListKeys(&ctx, v1::ListKeysRequest(), &resp).ok());
  for (const v1::Key& k : resp.keys()) {
    if (k.state() == v1::KEY_STATE_ACTIVE) return k.key_id();
  }
  return "";
}

TEST(ServerProcess, KillNineRightAfterRevocationsLosesNothing) {
  testing::TempDir dir;
  std::string log = dir.path() + "/server.log";
  std::vector<std::string> args = {"--data_dir=" + dir.path() + "/data", "--http_listen="};
  auto proc = testing::ServerProcess::Start(args, log);
  ASSERT_NE(proc->port(), 0);
  auto stub = testing::NewStub(proc->port());

  v1::IssueTokenRequest ireq;
  ireq.set_subject("alice");
  v1::IssueTokenResponse kept, revoked;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub->IssueToken(&ctx, ireq, &kept).ok());
  }
  std::string old_active = ActiveKid(stub.get());
  {
    v1::RevokeKeyRequest req;
    req.set_key_id(old_active);
    v1::RevokeKeyResponse resp;
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub->RevokeKey(&ctx, req, &resp).ok());
  }
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub->IssueToken(&ctx, ireq, &kept).ok());
  }
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub->IssueToken(&ctx, ireq, &revoked).ok());
  }
  ASSERT_TRUE(testing::RevokeTokenOf(stub.get(), revoked.token()).ok());
  proc->Kill9();

  auto again = testing::ServerProcess::Start(args, log);
  ASSERT_NE(again->port(), 0);
  auto stub2 = testing::NewStub(again->port());
  v1::ListKeysRequest lreq;
  lreq.set_include_revoked(true);
  v1::ListKeysResponse keys;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub2->ListKeys(&ctx, lreq, &keys).ok());
  bool revoked_seen = false;
  for (const v1::Key& k : keys.keys()) {
    revoked_seen |= k.key_id() == old_active && k.state() == v1::KEY_STATE_REVOKED;
  }
  EXPECT_TRUE(revoked_seen);
  EXPECT_NE(ActiveKid(stub2.get()), old_active);

  auto validate = [&](const std::string& token) {
    v1::ValidateTokenRequest req;
    req.set_token(token);
    req.set_any_audience(true);
    v1::ValidateTokenResponse resp;
    grpc::ClientContext c;
    EXPECT_TRUE(stub2->ValidateToken(&c, req, &resp).ok());
    return resp.reason();
  };
  EXPECT_EQ(validate(kept.token()), v1::REASON_UNSPECIFIED);
  EXPECT_EQ(validate(revoked.token()), v1::REASON_TOKEN_REVOKED);

  EXPECT_EQ(again->Terminate(absl::Seconds(15)), 0);
  std::string output = again->Log();
  EXPECT_THAT(output, HasSubstr("server_stopped"));
  // Logs never carry a token.
  EXPECT_THAT(output, ::testing::Not(HasSubstr(kept.token())));
  EXPECT_THAT(output, ::testing::Not(HasSubstr(revoked.token())));
}

TEST(ServerProcess, LocalModeMakesAPrivateKekAndSaysSo) {
  testing::TempDir dir;
  std::string data = dir.path() + "/data";
  auto proc =
      testing::ServerProcess::Start({"--data_dir=" + data, "--http_listen="}, dir.path() + "/log");
  ASSERT_NE(proc->port(), 0);
  struct stat st;
  ASSERT_EQ(stat((data + "/kek").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  ASSERT_EQ(stat(data.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0077, 0);
  EXPECT_THAT(proc->Log(), HasSubstr("kek_created"));
}

// The first line of /proc/<pid>/<file> that starts with `prefix`, or "".
std::string ProcLine(pid_t pid, const std::string& file, const std::string& prefix) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/" + file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) == 0) return line;
  }
  return "";
}

// The process holds the KEK and private keys: it must neither dump core nor be readable through
// /proc by its own user. PR_SET_DUMPABLE=0 is not shown in /proc/<pid>/status, but the kernel
// makes the files in /proc/<pid>/ (mem, environ, ...; not the folder itself) of a non-dumpable
// process owned by root (task_dump_owner): seen when the server runs as an ordinary user. So the
// server runs as our uid, or as nobody (65534) when the test runs as root (as in CI).
TEST(ServerProcess, ItCannotDumpCoreAndItsProcEntriesAreNotItsUsers) {
  testing::TempDir dir;
  const uid_t server_uid = getuid() == 0 ? 65534 : getuid();
  if (getuid() == 0) {
    ASSERT_EQ(chown(dir.path().c_str(), server_uid, server_uid), 0);
  }
  auto proc = testing::ServerProcess::Start(
      {"--data_dir=" + dir.path() + "/data", "--http_listen="}, dir.path() + "/log", server_uid);
  ASSERT_NE(proc->port(), 0) << "the server binary must be readable by uid " << server_uid;

  std::istringstream limits(ProcLine(proc->pid(), "limits", "Max core file size"));
  std::string max, core, file, size, soft, hard;
  limits >> max >> core >> file >> size >> soft >> hard;
  EXPECT_EQ(soft, "0");
  EXPECT_EQ(hard, "0");

  std::istringstream uids(ProcLine(proc->pid(), "status", "Uid:"));
  std::string label, real_uid;
  uids >> label >> real_uid;
  EXPECT_EQ(real_uid, std::to_string(server_uid));
  struct stat st;
  ASSERT_EQ(stat(("/proc/" + std::to_string(proc->pid()) + "/mem").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u) << "a dumpable process's /proc/<pid>/mem belongs to its own uid";
  EXPECT_THAT(proc->Log(), HasSubstr("core_dumps_disabled"));
}

TEST(ServerProcess, WrongKekIsAClearStartUpError) {
  testing::TempDir dir;
  std::string data = dir.path() + "/data";
  std::string kek1 = dir.path() + "/kek1";
  std::string kek2 = dir.path() + "/kek2";
  testing::WriteFile(kek1, std::string(64, 'a'));
  testing::WriteFile(kek2, std::string(64, 'b'));
  {
    auto proc = testing::ServerProcess::Start(
        {"--data_dir=" + data, "--kek_file=" + kek1, "--http_listen="}, dir.path() + "/log");
    ASSERT_NE(proc->port(), 0);
    EXPECT_EQ(proc->Terminate(absl::Seconds(15)), 0);
  }
  std::string out;
  int code = testing::RunServerOnce(
      {"--data_dir=" + data, "--kek_file=" + kek2, "--http_listen=", "--listen=127.0.0.1:0"}, &out);
  EXPECT_NE(code, 0);
  EXPECT_THAT(out, HasSubstr("start_failed"));
  EXPECT_THAT(out, HasSubstr("key-encryption key"));
}

TEST(ServerProcess, BadSettingsAreRefusedWithAMessage) {
  testing::TempDir dir;
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  std::vector<Case> cases = {
      {{"--algorithm=RS256"}, "--algorithm must be"},
      {{"--default_ttl=48h"}, "--default_ttl"},
      {{"--store=redis"}, "--store must be"},
      {{"--listen=0.0.0.0:0"}, "refusing plaintext"},
      {{"--leeway=10m"}, "--leeway"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = c.args;
    args.push_back("--data_dir=" + dir.path() + "/data");
    args.push_back("--http_listen=");
    bool has_listen = false;
    for (const auto& a : args) has_listen |= a.rfind("--listen", 0) == 0;
    if (!has_listen) args.push_back("--listen=127.0.0.1:0");
    std::string out;
    EXPECT_EQ(testing::RunServerOnce(args, &out), 2) << out;
    EXPECT_THAT(out, HasSubstr(c.message));
  }
}

TEST(ServerProcess, ALostLocalKekIsNotSilentlyReplaced) {
  testing::TempDir dir;
  std::string data = dir.path() + "/data";
  {
    auto proc = testing::ServerProcess::Start({"--data_dir=" + data, "--http_listen="},
                                              dir.path() + "/log");
    ASSERT_NE(proc->port(), 0);
    EXPECT_EQ(proc->Terminate(absl::Seconds(15)), 0);
  }
  ASSERT_EQ(unlink((data + "/kek").c_str()), 0);
  std::string out;
  EXPECT_EQ(testing::RunServerOnce({"--data_dir=" + data, "--http_listen=", "--listen=127.0.0.1:0"},
                                   &out),
            1);
  EXPECT_THAT(out, HasSubstr("restore the KEK"));
  struct stat st;
  EXPECT_NE(stat((data + "/kek").c_str(), &st), 0);
}

TEST(ServerProcess, WorldReadableKekIsRefused) {
  testing::TempDir dir;
  std::string kek = dir.path() + "/kek";
  testing::WriteFile(kek, std::string(64, 'c'), 0644);
  std::string out;
  int code = testing::RunServerOnce({"--data_dir=" + dir.path() + "/data", "--kek_file=" + kek,
                                     "--http_listen=", "--listen=127.0.0.1:0"},
                                    &out);
  EXPECT_NE(code, 0);
  EXPECT_THAT(out, HasSubstr("0600"));
}

}  // namespace
TEST(ServerProcess, HelpListsEveryFlagOfSignet) {
  std::string output;
  FILE* pipe = popen((testing::ServerBinary() + " --help 2>&1").c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) output.append(buffer, n);
  pclose(pipe);
  EXPECT_THAT(output, ::testing::Not(::testing::HasSubstr("No flags matched")));
  for (const char* flag : {"--listen", "--http_listen", "--probe_listen", "--kek_file",
                           "--policy_file", "--watch_heartbeat_interval", "--max_watchers"}) {
    EXPECT_THAT(output, ::testing::HasSubstr(std::string(flag) + " ")) << flag;
  }
}

}  // namespace signet
