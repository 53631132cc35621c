// What only the SQLite store has: durability across processes, file modes, schema versions, and
// its error contract for locked, unreachable and corrupt databases.
#include "server/store/internal/sqlite_store.h"

#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/store/store.h"
#include "tests/unit/store/test_util.h"

namespace signet::server {
namespace {

using ::testing::ElementsAre;
using testing::FileMode;
using ::testing::HasSubstr;
using testing::RunInChild;
using testing::TempFolder;
using testing::WriteFileWithMode;

absl::Time At(int64_t seconds) { return absl::FromUnixSeconds(1'700'000'000 + seconds); }

KeyRecord Key(const std::string& kid, KeyState state = KeyState::kPending) {
  KeyRecord record;
  record.kid = kid;
  record.state = state;
  record.created_at = At(0);
  record.public_jwk = R"({"kty":"OKP"})";
  record.sealed_private = "sealed-" + kid;
  return record;
}

Store::KeyDecision UpsertKeys(std::vector<KeyRecord> records) {
  return [records](const std::vector<KeyRecord>&) -> absl::StatusOr<KeyChanges> {
    KeyChanges changes;
    changes.upserts = records;
    return changes;
  };
}

absl::StatusOr<std::unique_ptr<Store>> OpenWithBusyTimeout(const std::string& path,
                                                           absl::Duration busy_timeout) {
  internal::SqliteStoreOptions options;
  options.busy_timeout = busy_timeout;
  return internal::OpenSqliteStore(path, options);
}

// A second connection to the same file, as another process would hold it.
class OtherConnection {
 public:
  explicit OtherConnection(const std::string& path) {
    EXPECT_EQ(
        sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr),
        SQLITE_OK);
  }
  ~OtherConnection() { sqlite3_close_v2(db_); }
  OtherConnection(const OtherConnection&) = delete;
  OtherConnection& operator=(const OtherConnection&) = delete;

  int Exec(const std::string& sql) {
    return sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
  }

  int64_t UserVersion() {
    sqlite3_stmt* stmt = nullptr;
    int64_t version = -1;
    if (sqlite3_prepare_v2(db_, "PRAGMA user_version", -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      version = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_finalize(stmt);
    return version;
  }

 private:
  sqlite3* db_ = nullptr;
};

class SqliteStoreTest : public ::testing::Test {
 protected:
  std::string DbPath() const { return folder_.Child("data/signet.db"); }

  std::unique_ptr<Store> OpenOrDie(const std::string& path) {
    absl::StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(path);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  TempFolder folder_;
};

TEST_F(SqliteStoreTest, DataSurvivesCloseAndReopen) {
  {
    std::unique_ptr<Store> store = OpenOrDie(DbPath());
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->UpdateKeys(UpsertKeys({Key("a"), Key("b", KeyState::kActive)})).ok());
    ASSERT_TRUE(store->AddTokenRevocation({"jti", At(100)}).ok());
    ASSERT_TRUE(store->AddSubjectRevocation({"alice", At(1), At(200)}).ok());
  }

  std::unique_ptr<Store> reopened = OpenOrDie(DbPath());
  ASSERT_NE(reopened, nullptr);
  absl::StatusOr<StoreSnapshot> snapshot = reopened->Load();
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_THAT(snapshot->keys, ElementsAre(Key("a"), Key("b", KeyState::kActive)));
  EXPECT_THAT(snapshot->token_revocations, ElementsAre(TokenRevocationRecord{"jti", At(100)}));
  EXPECT_THAT(snapshot->subject_revocations,
              ElementsAre(SubjectRevocationRecord{"alice", At(1), At(200)}));
  EXPECT_EQ(OtherConnection(DbPath()).UserVersion(), internal::kSqliteSchemaVersion);
  EXPECT_EQ(reopened->schema_version(), internal::kSqliteSchemaVersion);
}

TEST_F(SqliteStoreTest, CreatesItsFolder0700AndItsFiles0600WhateverTheUmask) {
  const mode_t old_umask = umask(0);
  std::unique_ptr<Store> store = OpenOrDie(DbPath());
  umask(old_umask);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->UpdateKeys(UpsertKeys({Key("a")})).ok());

  EXPECT_EQ(FileMode(folder_.Child("data")), 0700);
  EXPECT_EQ(FileMode(DbPath()), 0600);
  EXPECT_EQ(FileMode(DbPath() + "-wal"), 0600);
  EXPECT_EQ(FileMode(DbPath() + "-shm"), 0600);
}

TEST_F(SqliteStoreTest, SchemaNewerThanThisBinaryIsFailedPrecondition) {
  ASSERT_NE(OpenOrDie(DbPath()), nullptr);
  ASSERT_EQ(OtherConnection(DbPath()).Exec(
                absl::StrCat("PRAGMA user_version = ", internal::kSqliteSchemaVersion + 1)),
            SQLITE_OK);

  absl::StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(DbPath());

  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(store.status().message(), HasSubstr(DbPath()));
  EXPECT_THAT(store.status().message(),
              HasSubstr(absl::StrCat("schema version ", internal::kSqliteSchemaVersion + 1)));
}

TEST_F(SqliteStoreTest, GarbageFileIsDataLossNotACrash) {
  const std::string path = folder_.Child("signet.db");
  std::string garbage;
  for (int i = 0; i < 512; ++i) garbage += "this is not a database ";
  WriteFileWithMode(path, garbage, 0600);

  absl::StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(path);

  EXPECT_EQ(store.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(store.status().message(), HasSubstr(path));
}

TEST_F(SqliteStoreTest, DatabaseWithACorruptPageIsDataLoss) {
  {
    std::unique_ptr<Store> store = OpenOrDie(DbPath());
    ASSERT_NE(store, nullptr);
    std::vector<KeyRecord> keys;
    for (int i = 0; i < 50; ++i) keys.push_back(Key(absl::StrCat("key-", i)));
    ASSERT_TRUE(store->UpdateKeys(UpsertKeys(keys)).ok());
  }  // The last connection to close checkpoints the WAL into the file.
  std::string bytes = testing::ReadWholeFile(DbPath());
  ASSERT_GE(bytes.size(), 3 * 4096u);
  // Page 1 holds the header and the schema; wreck every page after it.
  for (size_t i = 4096; i < bytes.size(); ++i) bytes[i] = static_cast<char>(0xA5 ^ (i & 0xff));
  WriteFileWithMode(DbPath(), bytes, 0600);

  absl::StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(DbPath());

  EXPECT_EQ(store.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(store.status().message(), HasSubstr(DbPath()));
}

TEST_F(SqliteStoreTest, FolderWhoseParentIsMissingIsUnavailable) {
  const std::string path = folder_.Child("missing/data/signet.db");

  absl::StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(path);

  EXPECT_EQ(store.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(store.status().message(), HasSubstr(path));
}

TEST_F(SqliteStoreTest, PathUnderARegularFileIsUnavailable) {
  WriteFileWithMode(folder_.Child("file"), "x", 0600);

  absl::StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(folder_.Child("file/signet.db"));

  EXPECT_EQ(store.status().code(), absl::StatusCode::kUnavailable);
}

// Runs in a child without root's power to ignore modes; the exit code carries the status code.
TEST_F(SqliteStoreTest, ReadOnlyFolderIsUnavailable) {
  const std::string read_only = folder_.Child("read-only");
  ASSERT_EQ(mkdir(read_only.c_str(), 0500), 0);
  if (geteuid() == 0) {
    ASSERT_EQ(chown(folder_.path().c_str(), testing::kUnprivilegedId, testing::kUnprivilegedId), 0);
    ASSERT_EQ(chown(read_only.c_str(), testing::kUnprivilegedId, testing::kUnprivilegedId), 0);
  }

  const int code = RunInChild(
      [&] { return static_cast<int>(OpenSqliteStore(read_only + "/signet.db").status().code()); });

  EXPECT_EQ(code, static_cast<int>(absl::StatusCode::kUnavailable));
}

TEST_F(SqliteStoreTest, ReadOnlyDatabaseFileIsUnavailable) {
  ASSERT_NE(OpenOrDie(DbPath()), nullptr);
  ASSERT_EQ(chmod(DbPath().c_str(), 0400), 0);
  if (geteuid() == 0) {
    for (const std::string& path : {folder_.path(), folder_.Child("data"), DbPath()}) {
      ASSERT_EQ(chown(path.c_str(), testing::kUnprivilegedId, testing::kUnprivilegedId), 0);
    }
  }

  const int code =
      RunInChild([&] { return static_cast<int>(OpenSqliteStore(DbPath()).status().code()); });

  EXPECT_EQ(code, static_cast<int>(absl::StatusCode::kUnavailable));
}

TEST_F(SqliteStoreTest, WritesWhileAnotherConnectionHoldsTheWriteLockAreUnavailableReadsGoOn) {
  absl::StatusOr<std::unique_ptr<Store>> store =
      OpenWithBusyTimeout(DbPath(), absl::Milliseconds(20));
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)->UpdateKeys(UpsertKeys({Key("a")})).ok());
  OtherConnection other(DbPath());
  ASSERT_EQ(other.Exec("BEGIN IMMEDIATE"), SQLITE_OK);

  int decisions = 0;
  absl::StatusOr<std::vector<KeyRecord>> update =
      (*store)->UpdateKeys([&](const std::vector<KeyRecord>&) -> absl::StatusOr<KeyChanges> {
        ++decisions;
        return KeyChanges();
      });
  EXPECT_EQ(update.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(update.status().message(), HasSubstr(DbPath()));
  EXPECT_THAT(update.status().message(), HasSubstr("locked"));
  EXPECT_EQ(decisions, 0);
  EXPECT_EQ((*store)->AddTokenRevocation({"jti", At(1)}).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ((*store)->AddSubjectRevocation({"bob", At(0), At(1)}).code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ((*store)->PruneRevocations(At(0)).code(), absl::StatusCode::kUnavailable);
  absl::StatusOr<StoreSnapshot> snapshot = (*store)->Load();
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_THAT(snapshot->keys, ElementsAre(Key("a")));

  ASSERT_EQ(other.Exec("COMMIT"), SQLITE_OK);
  absl::StatusOr<std::vector<KeyRecord>> after = (*store)->UpdateKeys(UpsertKeys({Key("b")}));
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_THAT(*after, ElementsAre(Key("a"), Key("b")));
}

TEST_F(SqliteStoreTest, TwoConnectionsUpdatingAtOnceLoseNoUpdate) {
  std::unique_ptr<Store> first = OpenOrDie(DbPath());
  std::unique_ptr<Store> second = OpenOrDie(DbPath());
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  constexpr int kThreadsPerStore = 4;
  constexpr int kIncrementsPerThread = 10;
  auto increment = [](const std::vector<KeyRecord>& current) -> absl::StatusOr<KeyChanges> {
    int value = 0;
    for (const KeyRecord& record : current) {
      if (record.kid == "counter") (void)absl::SimpleAtoi(record.revoke_reason, &value);
    }
    KeyRecord counter = Key("counter");
    counter.revoke_reason = absl::StrCat(value + 1);
    KeyChanges changes;
    changes.upserts = {counter};
    return changes;
  };
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (Store* store : {first.get(), second.get()}) {
    for (int t = 0; t < kThreadsPerStore; ++t) {
      threads.emplace_back([&, store] {
        for (int i = 0; i < kIncrementsPerThread; ++i) {
          if (!store->UpdateKeys(increment).ok()) ++failures;
        }
      });
    }
  }
  for (std::thread& thread : threads) thread.join();

  EXPECT_EQ(failures.load(), 0);
  absl::StatusOr<std::vector<KeyRecord>> keys = first->LoadKeys();
  ASSERT_TRUE(keys.ok()) << keys.status();
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ((*keys)[0].revoke_reason, absl::StrCat(2 * kThreadsPerStore * kIncrementsPerThread));
}

TEST_F(SqliteStoreTest, WritesAcknowledgedBeforeSigkillSurvive) {
  const std::string path = DbPath();
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // The child: write, then die without closing anything. No gtest assertions here.
    absl::StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(path);
    if (!store.ok()) _exit(2);
    if (!(*store)->UpdateKeys(UpsertKeys({Key("k1", KeyState::kActive), Key("k2")})).ok()) {
      _exit(3);
    }
    if (!(*store)->AddTokenRevocation({"jti", At(100)}).ok()) _exit(4);
    if (!(*store)->AddSubjectRevocation({"alice", At(1), At(200)}).ok()) _exit(5);
    kill(getpid(), SIGKILL);
    _exit(6);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
  ASSERT_EQ(WTERMSIG(status), SIGKILL);
  // Nothing was checkpointed: the reopen below recovers the writes from the WAL.
  struct stat wal;
  ASSERT_EQ(stat((path + "-wal").c_str(), &wal), 0);
  EXPECT_GT(wal.st_size, 0);

  std::unique_ptr<Store> store = OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  absl::StatusOr<StoreSnapshot> snapshot = store->Load();
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_THAT(snapshot->keys, ElementsAre(Key("k1", KeyState::kActive), Key("k2")));
  EXPECT_THAT(snapshot->token_revocations, ElementsAre(TokenRevocationRecord{"jti", At(100)}));
  EXPECT_THAT(snapshot->subject_revocations,
              ElementsAre(SubjectRevocationRecord{"alice", At(1), At(200)}));
}

TEST_F(SqliteStoreTest, ErrorMessagesNeverCarryRecordData) {
  absl::StatusOr<std::unique_ptr<Store>> store =
      OpenWithBusyTimeout(DbPath(), absl::Milliseconds(20));
  ASSERT_TRUE(store.ok()) << store.status();
  OtherConnection other(DbPath());
  ASSERT_EQ(other.Exec("BEGIN IMMEDIATE"), SQLITE_OK);
  KeyRecord secret = Key("a");
  secret.sealed_private = "TOP-SECRET-SEALED";

  absl::StatusOr<std::vector<KeyRecord>> update = (*store)->UpdateKeys(UpsertKeys({secret}));
  absl::Status revoke = (*store)->AddTokenRevocation({"TOP-SECRET-JTI", At(1)});

  EXPECT_EQ(update.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(absl::StrContains(update.status().message(), "TOP-SECRET"));
  EXPECT_EQ(revoke.code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(absl::StrContains(revoke.message(), "TOP-SECRET"));
}

}  // namespace
}  // namespace signet::server
