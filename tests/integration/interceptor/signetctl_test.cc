// signetctl as a subprocess against an in-process signet server: exit codes, --json output, stdin
// tokens, and usage errors.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "signet/clock.h"
#include "tests/integration/test_support.h"

namespace signet {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;

std::string CtlBinary() { return std::string(SIGNET_BINARY_DIR) + "/client/signetctl/signetctl"; }

struct Result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs signetctl with `args`, `input` on stdin; gives up (exit_code -1) after 60 s.
Result RunCtl(const std::vector<std::string>& args, const std::string& input = "") {
  static int counter = 0;
  std::string base = absl::StrCat(::testing::TempDir(), "signetctl-", getpid(), "-", ++counter);
  std::string in_path = base + ".in", out_path = base + ".out", err_path = base + ".err";
  testing::WriteFile(in_path, input);
  pid_t pid = fork();
  if (pid == 0) {
    int in = open(in_path.c_str(), O_RDONLY);
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    std::string binary = CtlBinary();
    std::vector<std::string> copy = args;
    std::vector<char*> argv = {binary.data()};
    for (std::string& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  Result result;
  absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (true) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      break;
    }
    if (absl::Now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      break;
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  result.out = testing::ReadFile(out_path);
  result.err = testing::ReadFile(err_path);
  unlink(in_path.c_str());
  unlink(out_path.c_str());
  unlink(err_path.c_str());
  return result;
}

rapidjson::Document ParseJson(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  EXPECT_FALSE(doc.HasParseError()) << text;
  EXPECT_TRUE(doc.IsObject()) << text;
  return doc;
}

std::string Str(const rapidjson::Value& object, const char* name) {
  if (!object.IsObject()) return "<not an object>";
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsString()) return "<missing>";
  return it->value.GetString();
}

class SignetctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server::SignetServer::Options options;
    options.config = testing::TestConfig(dir_.path());
    options.run_maintenance = false;
    options.clock = &clock_;
    server_ = testing::StartServer(std::move(options));
    ASSERT_NE(server_, nullptr);
    target_ = absl::StrCat("--target=127.0.0.1:", server_->port());
  }
  void TearDown() override { server_->Shutdown(absl::Seconds(1)); }

  // signetctl --target=<this server> args...
  Result Ctl(std::vector<std::string> args, const std::string& input = "") {
    args.insert(args.begin(), target_);
    return RunCtl(args, input);
  }

  // A token for `subject` from `issue --json`.
  rapidjson::Document IssueJson(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--json", "issue", "--subject=alice"};
    args.insert(args.end(), extra.begin(), extra.end());
    Result r = Ctl(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return ParseJson(r.out);
  }
  std::string IssueToken() { return Str(IssueJson(), "token"); }

  testing::TempDir dir_;
  FakeClock clock_{absl::FromUnixSeconds(1'800'000'000)};
  std::unique_ptr<server::SignetServer> server_;
  std::string target_;
};

TEST_F(SignetctlTest, IssuePrintsOnlyTheTokenOnStdout) {
  Result r = Ctl({"issue", "--subject=alice"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> lines = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(std::count(lines[0].begin(), lines[0].end(), '.'), 2);
  EXPECT_THAT(r.err, HasSubstr("token_id "));
  EXPECT_THAT(r.err, Not(HasSubstr(lines[0])));  // The secret stays out of the log stream.
}

TEST_F(SignetctlTest, IssueJsonCarriesTheResponseFields) {
  rapidjson::Document doc = IssueJson();
  EXPECT_THAT(Str(doc, "token"), Not(IsEmpty()));
  EXPECT_THAT(Str(doc, "token_id"), Not(IsEmpty()));
  EXPECT_THAT(Str(doc, "key_id"), Not(IsEmpty()));
  EXPECT_THAT(Str(doc, "expires_at"), Not(IsEmpty()));
}

TEST_F(SignetctlTest, IssueTakesAudiencesTtlBackendAndClaims) {
  rapidjson::Document issued = IssueJson({"--audience=a,b", "--audience", "c", "--ttl=90s",
                                          "--backend=ldap", "--claims={\"role\":\"admin\"}"});
  Result r = Ctl({"--json", "validate", "--any_audience", Str(issued, "token")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  rapidjson::Document v = ParseJson(r.out);
  ASSERT_TRUE(v["audience"].IsArray());
  ASSERT_EQ(v["audience"].Size(), 3u);
  EXPECT_EQ(std::string(v["audience"][0].GetString()), "a");
  EXPECT_EQ(std::string(v["audience"][1].GetString()), "b");
  EXPECT_EQ(std::string(v["audience"][2].GetString()), "c");
  EXPECT_EQ(Str(v, "backend"), "ldap");
  EXPECT_EQ(Str(v["claims"], "role"), "admin");
  absl::Time issued_at, expires_at;
  std::string error;
  ASSERT_TRUE(absl::ParseTime(absl::RFC3339_full, Str(v, "issued_at"), &issued_at, &error));
  ASSERT_TRUE(absl::ParseTime(absl::RFC3339_full, Str(v, "expires_at"), &expires_at, &error));
  EXPECT_EQ(expires_at - issued_at, absl::Seconds(90));
}

TEST_F(SignetctlTest, ValidateExitsZeroForAValidTokenAndPrintsTheIdentity) {
  std::string token = IssueToken();
  Result r = Ctl({"validate", "--any_audience", token});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("valid\n"));
  EXPECT_THAT(r.out, HasSubstr("subject:    alice\n"));
}

TEST_F(SignetctlTest, ValidateReadsTheTokenFromStdin) {
  std::string token = IssueToken();
  Result r = Ctl({"--json", "validate", "--any_audience", "-"}, token + "\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  rapidjson::Document v = ParseJson(r.out);
  EXPECT_TRUE(v["valid"].GetBool());
  EXPECT_EQ(Str(v, "subject"), "alice");
}

TEST_F(SignetctlTest, ValidateExitsOneForAnInvalidTokenWithTheReason) {
  Result r = Ctl({"validate", "--any_audience", "not-a-token"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "invalid: MALFORMED\n");
  r = Ctl({"--json", "validate", "--any_audience", "not-a-token"});
  EXPECT_EQ(r.exit_code, 1);
  rapidjson::Document v = ParseJson(r.out);
  EXPECT_FALSE(v["valid"].GetBool());
  EXPECT_EQ(Str(v, "reason"), "REASON_MALFORMED");
}

TEST_F(SignetctlTest, ValidateChecksTheAudience) {
  std::string token = Str(IssueJson({"--audience=orders"}), "token");
  EXPECT_EQ(Ctl({"validate", token, "--audience=orders"}).exit_code, 0);
  Result r = Ctl({"validate", token, "--audience=billing"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "invalid: AUDIENCE_MISMATCH\n");
}

TEST_F(SignetctlTest, ValidateNeedsAnAudienceOrAnyAudienceButNotBoth) {
  std::string token = Str(IssueJson({"--audience=orders"}), "token");
  Result r = Ctl({"validate", token});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--audience=AUD"));
  EXPECT_THAT(r.err, HasSubstr("--any_audience"));
  EXPECT_THAT(r.err, Not(HasSubstr(token)));
  r = Ctl({"validate", token, "--audience=orders", "--any_audience"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("not both"));
  EXPECT_EQ(Ctl({"validate", token, "--any_audience"}).exit_code, 0);
}

TEST_F(SignetctlTest, KeysListsTheActiveAndPendingKeys) {
  Result r = Ctl({"--json", "keys"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  rapidjson::Document doc = ParseJson(r.out);
  ASSERT_TRUE(doc["keys"].IsArray());
  std::vector<std::string> states;
  for (const auto& key : doc["keys"].GetArray()) states.push_back(Str(key, "state"));
  EXPECT_THAT(states, ::testing::UnorderedElementsAre("KEY_STATE_ACTIVE", "KEY_STATE_PENDING"));
  r = Ctl({"keys"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, StartsWith("KEY_ID"));
  EXPECT_THAT(r.out, HasSubstr(" ACTIVE "));
}

TEST_F(SignetctlTest, JwksPrintsTheJwkSet) {
  Result r = Ctl({"jwks"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  rapidjson::Document doc = ParseJson(r.out);
  ASSERT_TRUE(doc["keys"].IsArray());
  EXPECT_EQ(doc["keys"].Size(), 2u);
  r = Ctl({"--json", "jwks"});
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_THAT(Str(ParseJson(r.out), "jwks_json"), HasSubstr("\"keys\""));
}

TEST_F(SignetctlTest, RotateFailsWithExitTwoUntilImmediate) {
  Result r = Ctl({"rotate"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("FAILED_PRECONDITION"));
  std::string before = Str(IssueJson(), "key_id");
  r = Ctl({"--json", "rotate", "--immediate"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  rapidjson::Document doc = ParseJson(r.out);
  EXPECT_EQ(Str(doc["retired"], "key_id"), before);
  EXPECT_EQ(Str(IssueJson(), "key_id"), Str(doc["active"], "key_id"));
}

TEST_F(SignetctlTest, RevokeKeyMakesItsTokensInvalid) {
  rapidjson::Document issued = IssueJson();
  Result r = Ctl({"revoke-key", Str(issued, "key_id"), "--reason=leaked"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("revoked: " + Str(issued, "key_id")));
  r = Ctl({"validate", "--any_audience", Str(issued, "token")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "invalid: KEY_REVOKED\n");
}

TEST_F(SignetctlTest, RevokeKeyOfAnUnknownKeyExitsTwo) {
  Result r = Ctl({"revoke-key", "no-such-key"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("NOT_FOUND"));
}

TEST_F(SignetctlTest, RevokeTokenFromStdinMakesItInvalid) {
  rapidjson::Document issued = IssueJson();
  Result r = Ctl({"--json", "revoke-token", "-"}, Str(issued, "token"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Str(ParseJson(r.out), "token_id"), Str(issued, "token_id"));
  r = Ctl({"validate", "--any_audience", Str(issued, "token")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "invalid: TOKEN_REVOKED\n");
}

TEST_F(SignetctlTest, RevokeTokenById) {
  rapidjson::Document issued = IssueJson();
  Result r = Ctl({"revoke-token", "--token_id=" + Str(issued, "token_id")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Ctl({"validate", "--any_audience", Str(issued, "token")}).out,
            "invalid: TOKEN_REVOKED\n");
}

TEST_F(SignetctlTest, RevokeSubjectMakesItsTokensInvalid) {
  std::string token = IssueToken();
  clock_.Advance(absl::Seconds(1));  // iat has whole seconds: revoke strictly after it.
  Result r = Ctl({"--json", "revoke-subject", "alice"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Str(ParseJson(r.out), "subject"), "alice");
  r = Ctl({"validate", "--any_audience", token});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "invalid: SUBJECT_REVOKED\n");
}

TEST_F(SignetctlTest, RevokeSubjectTakesAnRfc3339NotBefore) {
  std::string token = IssueToken();
  Result r = Ctl({"revoke-subject", "alice", "--not_before=2020-01-01T00:00:00Z"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Ctl({"validate", "--any_audience", token}).exit_code, 0);  // Issued after that time.
  r = Ctl({"revoke-subject", "alice", "--not_before=yesterday"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("RFC 3339"));
}

TEST_F(SignetctlTest, WatchPrintsTheSnapshotAsJsonLines) {
  Result r = Ctl({"--json", "watch", "--count=1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> lines = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 1u);
  rapidjson::Document doc = ParseJson(lines[0]);
  EXPECT_TRUE(doc["snapshot"].GetBool());
  EXPECT_EQ(doc["keys"].Size(), 2u);
}

TEST_F(SignetctlTest, WatchPrintsEachChangeAfterTheSnapshot) {
  int out[2];
  ASSERT_EQ(pipe(out), 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    close(out[0]);
    std::string binary = CtlBinary();
    std::vector<std::string> args = {binary, target_, "--json", "watch", "--count=2"};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  close(out[1]);
  FILE* stream = fdopen(out[0], "r");
  ASSERT_NE(stream, nullptr);
  auto read_line = [stream]() {
    std::string line;
    for (int c = fgetc(stream); c != EOF && c != '\n'; c = fgetc(stream)) line.push_back(c);
    return line;
  };
  rapidjson::Document snapshot = ParseJson(read_line());
  EXPECT_TRUE(snapshot["snapshot"].GetBool());
  std::string token_id = Str(IssueJson(), "token_id");
  ASSERT_EQ(Ctl({"revoke-token", "--token_id=" + token_id}).exit_code, 0);
  rapidjson::Document change = ParseJson(read_line());
  EXPECT_FALSE(change["snapshot"].GetBool());
  ASSERT_EQ(change["token_revocations"].Size(), 1u);
  EXPECT_EQ(Str(change["token_revocations"][0], "token_id"), token_id);
  fclose(stream);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST_F(SignetctlTest, ConnectionErrorsExitTwoWithAMessage) {
  Result r = RunCtl({"--target=127.0.0.1:1", "--timeout=3s", "keys"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("UNAVAILABLE"));
  EXPECT_EQ(r.out, "");
}

TEST_F(SignetctlTest, UsageErrorsExitTwo) {
  EXPECT_EQ(RunCtl({}).exit_code, 2);
  EXPECT_EQ(RunCtl({"frobnicate"}).exit_code, 2);
  Result r = Ctl({"issue"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--subject"));
  r = Ctl({"issue", "--subject=alice", "--colour=blue"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("unknown flag --colour"));
  EXPECT_EQ(Ctl({"issue", "--subject=alice", "--ttl=forever"}).exit_code, 2);
  EXPECT_EQ(Ctl({"issue", "--subject=alice", "--claims=[1]"}).exit_code, 2);
  EXPECT_EQ(Ctl({"validate"}).exit_code, 2);
  EXPECT_EQ(Ctl({"validate", "-"}, "").exit_code, 2);  // Nothing on stdin.
  EXPECT_EQ(Ctl({"revoke-token", "tok", "--token_id=id"}).exit_code, 2);
  EXPECT_EQ(Ctl({"watch", "--count=-1"}).exit_code, 2);
  EXPECT_EQ(Ctl({"keys", "--json=maybe"}).exit_code, 2);
}

TEST_F(SignetctlTest, EverySubcommandHasHelp) {
  for (const char* command : {"issue", "validate", "keys", "jwks", "rotate", "revoke-key",
                              "revoke-token", "revoke-subject", "watch"}) {
    Result r = RunCtl({command, "--help"});
    EXPECT_EQ(r.exit_code, 0) << command;
    EXPECT_THAT(r.out, StartsWith(absl::StrCat("usage: signetctl [global flags] ", command)))
        << command;
    EXPECT_THAT(r.out, HasSubstr("--target=")) << command;
  }
  Result r = RunCtl({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("revoke-subject"));
}

}  // namespace
}  // namespace signet
