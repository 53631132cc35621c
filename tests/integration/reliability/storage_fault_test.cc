// Storage faults under signet-server's SQLite store: the data disk full, the database locked by
// another process, the database file corrupted. In each the server either keeps serving from
// memory and answers UNAVAILABLE for changes, or refuses to start with a clear message; it never
// crashes, never leaves a half-made key, and recovers once the fault clears.
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "signet/clock.h"
#include "tests/integration/reliability/reliability_util.h"
#include "tests/integration/test_support.h"

namespace signet {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

std::chrono::system_clock::time_point Deadline(int seconds) {
  return std::chrono::system_clock::now() + std::chrono::seconds(seconds);
}

grpc::Status Rotate(v1::TokenService::Stub* stub) {
  v1::RotateKeyRequest req;
  req.set_immediate(true);
  v1::RotateKeyResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(Deadline(30));
  return stub->RotateKey(&ctx, req, &resp);
}

grpc::Status RevokeTokenId(v1::TokenService::Stub* stub, const std::string& jti) {
  v1::RevokeTokenRequest req;
  req.set_token_id(jti);
  v1::RevokeTokenResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(Deadline(30));
  return stub->RevokeToken(&ctx, req, &resp);
}

grpc::Status RevokeSubject(v1::TokenService::Stub* stub, const std::string& subject) {
  v1::RevokeSubjectRequest req;
  req.set_subject(subject);
  v1::RevokeSubjectResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(Deadline(30));
  return stub->RevokeSubject(&ctx, req, &resp);
}

// Issues a token for `subject`; empty on failure.
std::string Issue(v1::TokenService::Stub* stub, const std::string& subject) {
  v1::IssueTokenRequest req;
  req.set_subject(subject);
  v1::IssueTokenResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(Deadline(30));
  grpc::Status st = stub->IssueToken(&ctx, req, &resp);
  EXPECT_TRUE(st.ok()) << st.error_message();
  return resp.token();
}

// The answer for `token`: "VALID" or the reason's name, or "gRPC <code>".
std::string Judge(v1::TokenService::Stub* stub, const std::string& token) {
  v1::ValidateTokenRequest req;
  req.set_token(token);
  req.set_any_audience(true);
  v1::ValidateTokenResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(Deadline(30));
  grpc::Status st = stub->ValidateToken(&ctx, req, &resp);
  if (!st.ok()) return absl::StrCat("gRPC ", st.error_code());
  return resp.valid() ? "VALID" : v1::Reason_Name(resp.reason());
}

// kid -> state, with a check that every key is whole and the lifecycle shape holds.
std::map<std::string, v1::KeyState> KeyStates(v1::TokenService::Stub* stub) {
  std::map<std::string, v1::KeyState> out;
  int active = 0, pending = 0;
  for (const v1::Key& k : reliability::ListAllKeys(stub)) {
    out[k.key_id()] = k.state();
    active += k.state() == v1::KEY_STATE_ACTIVE;
    pending += k.state() == v1::KEY_STATE_PENDING;
    EXPECT_FALSE(k.public_jwk().empty()) << "key " << k.key_id() << " is not whole";
  }
  EXPECT_EQ(active, 1);
  EXPECT_EQ(pending, 1);
  return out;
}

class StorageFaultTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (!mounted_.empty()) umount2(mounted_.c_str(), MNT_DETACH);
  }

  // Mounts a tmpfs of `size` at `path`, or skips the test (it needs root).
  bool MountTmpfs(const std::string& path, const std::string& size) {
    std::filesystem::create_directories(path);
    if (geteuid() != 0) return false;
    const std::string options = "size=" + size + ",mode=0700";
    if (mount("tmpfs", path.c_str(), "tmpfs", 0, options.c_str()) != 0) {
      std::printf("mount tmpfs failed: %s\n", std::strerror(errno));
      return false;
    }
    mounted_ = path;
    return true;
  }

  // Fills the filesystem holding `dir` with one file until it refuses another byte.
  static void Fill(const std::string& path) {
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ASSERT_GE(fd, 0);
    std::string chunk(64 * 1024, 'f');
    for (size_t size = chunk.size(); size > 0; size /= 2) {
      while (write(fd, chunk.data(), size) == static_cast<ssize_t>(size)) {
      }
    }
    close(fd);
  }

  std::unique_ptr<server::SignetServer> StartInProcess(const std::string& data_dir) {
    server::SignetServer::Options options;
    options.config = testing::TestConfig(data_dir);
    options.run_maintenance = false;
    return testing::StartServer(std::move(options));
  }

  testing::TempDir dir_;
  std::string mounted_;
};

TEST_F(StorageFaultTest, DiskFullAnswersUnavailableForChangesKeepsServingAndRecovers) {
  const std::string mnt = dir_.path() + "/disk";
  if (!MountTmpfs(mnt, "6m")) GTEST_SKIP() << "needs root to mount a small tmpfs";
  const std::string data = mnt + "/data";
  auto server = StartInProcess(data);
  ASSERT_NE(server, nullptr);
  auto stub = testing::NewStub(server->port());
  const std::string before = Issue(stub.get(), "alice");
  const std::map<std::string, v1::KeyState> keys_before = KeyStates(stub.get());

  Fill(mnt + "/filler");
  // Changes go on until the database needs a block it cannot get (the WAL may have room left
  // from earlier writes); from then on each one is UNAVAILABLE.
  int acked = 0;
  grpc::Status failed;
  std::vector<std::string> acked_jtis;
  for (int i = 0; i < 5000 && failed.ok(); ++i) {
    const std::string jti = absl::StrCat("while-full-", i);
    failed = RevokeTokenId(stub.get(), jti);
    if (failed.ok()) {
      acked_jtis.push_back(jti);
      ++acked;
    }
  }
  ASSERT_EQ(failed.error_code(), grpc::StatusCode::UNAVAILABLE) << failed.error_message();
  EXPECT_THAT(failed.error_message(), HasSubstr("full"));
  std::printf("disk full after %d acknowledged revocations: %s\n", acked,
              failed.error_message().c_str());
  EXPECT_EQ(Rotate(stub.get()).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(RevokeSubject(stub.get(), "alice").error_code(), grpc::StatusCode::UNAVAILABLE);

  // Validation and issuing run from memory.
  EXPECT_EQ(Judge(stub.get(), before), "VALID");
  EXPECT_EQ(Judge(stub.get(), Issue(stub.get(), "bob")), "VALID");
  EXPECT_EQ(KeyStates(stub.get()), keys_before) << "a failed rotation left a key behind";

  // The fault clears: changes work again, and a restart finds every acknowledged change.
  ASSERT_EQ(unlink((mnt + "/filler").c_str()), 0);
  ASSERT_TRUE(Rotate(stub.get()).ok());
  ASSERT_TRUE(RevokeSubject(stub.get(), "alice").ok());
  const std::map<std::string, v1::KeyState> keys_after = KeyStates(stub.get());
  server->Shutdown(absl::Seconds(1));
  server.reset();
  server = StartInProcess(data);
  ASSERT_NE(server, nullptr);
  stub = testing::NewStub(server->port());
  EXPECT_EQ(KeyStates(stub.get()), keys_after);
  EXPECT_EQ(Judge(stub.get(), before), "REASON_SUBJECT_REVOKED");
  for (const std::string& jti : acked_jtis) {
    // Each acknowledged revocation survived: revoking again is an idempotent upsert.
    ASSERT_TRUE(RevokeTokenId(stub.get(), jti).ok());
  }
  EXPECT_EQ(Judge(stub.get(), Issue(stub.get(), "carol")), "VALID");
}

TEST_F(StorageFaultTest, DiskFullAtFirstStartRefusesToStartWithAClearMessageThenStarts) {
  const std::string mnt = dir_.path() + "/disk";
  if (!MountTmpfs(mnt, "1m")) GTEST_SKIP() << "needs root to mount a small tmpfs";
  Fill(mnt + "/filler");
  std::string log;
  const std::vector<std::string> args = {"--data_dir=" + mnt + "/data",
                                         "--http_listen=", "--listen=127.0.0.1:0"};
  int code = testing::RunServerOnce(args, &log);
  EXPECT_EQ(code, 1) << log;  // Exited with an error, not a signal.
  std::printf("full at start: %s", log.substr(log.rfind('{')).c_str());
  EXPECT_THAT(log, AllOf(HasSubstr("start_failed"), HasSubstr("UNAVAILABLE")));
  EXPECT_THAT(log, ::testing::AnyOf(HasSubstr("full"), HasSubstr("No space left")));

  ASSERT_EQ(unlink((mnt + "/filler").c_str()), 0);
  auto proc = testing::ServerProcess::Start(args, mnt + "/server.log");
  ASSERT_NE(proc->port(), 0);
  auto stub = testing::NewStub(proc->port());
  KeyStates(stub.get());
  EXPECT_EQ(Judge(stub.get(), Issue(stub.get(), "alice")), "VALID");
}

// Another connection holding the database's write lock (as a backup tool or a stray sqlite3
// shell would).
class Locker {
 public:
  // `exclusive_mode`: PRAGMA locking_mode=EXCLUSIVE, so that even readers are shut out.
  Locker(const std::string& path, bool exclusive_mode) {
    EXPECT_EQ(sqlite3_open(path.c_str(), &db_), SQLITE_OK);
    if (exclusive_mode) Exec("PRAGMA locking_mode=EXCLUSIVE");
    Exec("BEGIN EXCLUSIVE");
    // A WAL database in exclusive locking mode is locked against every other connection, readers
    // included, from its first access on.
    Exec("SELECT count(*) FROM sqlite_master");
  }
  ~Locker() { Release(); }
  void Release() {
    if (db_ == nullptr) return;
    Exec("COMMIT");
    sqlite3_close(db_);
    db_ = nullptr;
  }

 private:
  void Exec(const char* sql) {
    char* error = nullptr;
    EXPECT_EQ(sqlite3_exec(db_, sql, nullptr, nullptr, &error), SQLITE_OK)
        << sql << ": " << (error != nullptr ? error : "");
    sqlite3_free(error);
  }
  sqlite3* db_ = nullptr;
};

TEST_F(StorageFaultTest, LockedDatabaseAnswersUnavailableForChangesKeepsServingAndRecovers) {
  const std::string data = dir_.path() + "/data";
  auto server = StartInProcess(data);
  ASSERT_NE(server, nullptr);
  auto stub = testing::NewStub(server->port());
  const std::string before = Issue(stub.get(), "alice");
  const std::map<std::string, v1::KeyState> keys_before = KeyStates(stub.get());

  Locker lock(data + "/signet.db", /*exclusive_mode=*/false);
  // The store waits out its busy timeout (5 s), then gives up.
  grpc::Status rotate_status;
  std::thread rotate([&] { rotate_status = Rotate(stub.get()); });
  // Meanwhile validation and issuing never touch the database.
  EXPECT_EQ(Judge(stub.get(), before), "VALID");
  EXPECT_EQ(Judge(stub.get(), Issue(stub.get(), "bob")), "VALID");
  rotate.join();
  EXPECT_EQ(rotate_status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(rotate_status.error_message(), HasSubstr("locked"));
  EXPECT_EQ(RevokeSubject(stub.get(), "alice").error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(KeyStates(stub.get()), keys_before);
  EXPECT_EQ(Judge(stub.get(), before), "VALID") << "a refused revocation took effect";

  lock.Release();
  ASSERT_TRUE(Rotate(stub.get()).ok());
  ASSERT_TRUE(RevokeSubject(stub.get(), "alice").ok());
  EXPECT_EQ(Judge(stub.get(), before), "REASON_SUBJECT_REVOKED");
}

TEST_F(StorageFaultTest, DatabaseLockedAgainstReadersRefusesToStartWithAClearMessageThenStarts) {
  const std::string data = dir_.path() + "/data";
  const std::vector<std::string> args = {"--data_dir=" + data,
                                         "--http_listen=", "--listen=127.0.0.1:0"};
  {
    auto proc = testing::ServerProcess::Start(args, dir_.path() + "/first.log");
    ASSERT_NE(proc->port(), 0);
    ASSERT_EQ(proc->Terminate(absl::Seconds(10)), 0);
  }
  {
    Locker lock(data + "/signet.db", /*exclusive_mode=*/true);
    std::string log;
    EXPECT_EQ(testing::RunServerOnce(args, &log, absl::Seconds(60)), 1) << log;
    std::printf("locked: %s", log.substr(log.rfind('{')).c_str());
    EXPECT_THAT(log, AllOf(HasSubstr("start_failed"), HasSubstr("UNAVAILABLE"),
                           HasSubstr("signet.db"), HasSubstr("locked")));
  }
  auto proc = testing::ServerProcess::Start(args, dir_.path() + "/second.log");
  ASSERT_NE(proc->port(), 0);
  auto stub = testing::NewStub(proc->port());
  KeyStates(stub.get());
}

// Overwrites `length` bytes at `offset` of `path` with `byte`.
void Scribble(const std::string& path, off_t offset, size_t length, char byte) {
  int fd = open(path.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  std::string junk(length, byte);
  ASSERT_EQ(pwrite(fd, junk.data(), junk.size(), offset), static_cast<ssize_t>(junk.size()));
  fsync(fd);
  close(fd);
}

TEST_F(StorageFaultTest, CorruptedDatabaseRefusesToStartWithAClearMessageAndABackupRestores) {
  const std::string data = dir_.path() + "/data";
  const std::string db = data + "/signet.db";
  const std::vector<std::string> args = {"--data_dir=" + data,
                                         "--http_listen=", "--listen=127.0.0.1:0"};
  std::string token, revoked;
  std::map<std::string, v1::KeyState> keys;
  {
    auto proc = testing::ServerProcess::Start(args, dir_.path() + "/first.log");
    ASSERT_NE(proc->port(), 0);
    auto stub = testing::NewStub(proc->port());
    token = Issue(stub.get(), "alice");
    revoked = Issue(stub.get(), "mallory");
    ASSERT_TRUE(Rotate(stub.get()).ok());
    ASSERT_TRUE(RevokeSubject(stub.get(), "mallory").ok());
    keys = KeyStates(stub.get());
    // A clean stop checkpoints the WAL into the database file.
    ASSERT_EQ(proc->Terminate(absl::Seconds(10)), 0);
  }
  const std::string backup = dir_.path() + "/backup.db";
  std::filesystem::copy_file(db, backup);
  const auto size = std::filesystem::file_size(db);
  ASSERT_GE(size, 3u * 4096u);

  struct Damage {
    std::string what;
    off_t offset;
    size_t length;
  };
  for (const Damage& d :
       {Damage{"the file header", 0, 100}, Damage{"the second page (a b-tree page)", 4096, 4096},
        Damage{"the last page", static_cast<off_t>(size - 4096), 4096}}) {
    SCOPED_TRACE(d.what);
    std::filesystem::copy_file(backup, db, std::filesystem::copy_options::overwrite_existing);
    Scribble(db, d.offset, d.length, '\xa5');
    std::string log;
    const absl::Time start = absl::Now();
    EXPECT_EQ(testing::RunServerOnce(args, &log), 1) << log;  // An error exit, not a crash.
    std::printf(
        "%s damaged (%.1f s): %s", d.what.c_str(), absl::ToDoubleSeconds(absl::Now() - start),
        log.substr(log.find("start_failed") == std::string::npos ? 0 : log.rfind('{')).c_str());
    EXPECT_THAT(log, AllOf(HasSubstr("start_failed"), HasSubstr("signet.db")));
    EXPECT_THAT(log, ::testing::AnyOf(HasSubstr("DATA_LOSS"), HasSubstr("malformed"),
                                      HasSubstr("not a database")));
  }

  std::filesystem::copy_file(backup, db, std::filesystem::copy_options::overwrite_existing);
  auto proc = testing::ServerProcess::Start(args, dir_.path() + "/restored.log");
  ASSERT_NE(proc->port(), 0);
  auto stub = testing::NewStub(proc->port());
  EXPECT_EQ(KeyStates(stub.get()), keys);
  EXPECT_EQ(Judge(stub.get(), token), "VALID");
  EXPECT_EQ(Judge(stub.get(), revoked), "REASON_SUBJECT_REVOKED");
}

}  // namespace
}  // namespace signet
