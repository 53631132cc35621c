// The SQLite Store: one connection behind a mutex, WAL with synchronous=FULL so every OK is
// durable, BEGIN IMMEDIATE to serialize key transitions across processes, and schema migrations
// numbered by PRAGMA user_version.
#include "server/store/internal/sqlite_store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "server/store/internal/files.h"
#include "server/store/internal/store_rules.h"
#include "server/store/store.h"

namespace signet::server {
namespace {

struct Migration {
  int version;
  const char* sql;
};

// Append-only: a released migration never changes; the next one gets the next number. Times are
// microseconds since the Unix epoch (see internal::ToStoredMicros); NULL key times mean "never".
constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE keys (
  kid TEXT NOT NULL PRIMARY KEY,
  algorithm INTEGER NOT NULL,
  state INTEGER NOT NULL,
  created_at INTEGER,
  activated_at INTEGER,
  retired_at INTEGER,
  revoked_at INTEGER,
  revoke_reason TEXT NOT NULL DEFAULT '',
  public_jwk TEXT NOT NULL DEFAULT '',
  sealed_private BLOB NOT NULL DEFAULT x''
) WITHOUT ROWID;
CREATE TABLE token_revocations (
  token_id TEXT NOT NULL PRIMARY KEY,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX token_revocations_by_expiry ON token_revocations (expires_at);
CREATE TABLE subject_revocations (
  subject TEXT NOT NULL PRIMARY KEY,
  not_before INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX subject_revocations_by_expiry ON subject_revocations (expires_at);
)sql"},
    // The authentication tag of each key row (see KeyRecordAuthenticator); empty in rows written
    // before, which the key ring upgrades or refuses.
    {2, R"sql(
ALTER TABLE keys ADD COLUMN mac BLOB NOT NULL DEFAULT x'';
)sql"},
};
static_assert(kMigrations[std::size(kMigrations) - 1].version == internal::kSqliteSchemaVersion);

constexpr char kSelectKeys[] =
    "SELECT kid, algorithm, state, created_at, activated_at, retired_at, revoked_at, "
    "revoke_reason, public_jwk, sealed_private, mac FROM keys ORDER BY kid";
constexpr char kUpsertKey[] =
    "INSERT INTO keys (kid, algorithm, state, created_at, activated_at, retired_at, revoked_at, "
    "revoke_reason, public_jwk, sealed_private, mac) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) "
    "ON CONFLICT (kid) DO UPDATE SET algorithm = excluded.algorithm, state = excluded.state, "
    "created_at = excluded.created_at, activated_at = excluded.activated_at, "
    "retired_at = excluded.retired_at, revoked_at = excluded.revoked_at, "
    "revoke_reason = excluded.revoke_reason, public_jwk = excluded.public_jwk, "
    "sealed_private = excluded.sealed_private, mac = excluded.mac";
constexpr char kDeleteKey[] = "DELETE FROM keys WHERE kid = ?1";
constexpr char kSelectTokens[] =
    "SELECT token_id, expires_at FROM token_revocations ORDER BY token_id";
constexpr char kSelectSubjects[] =
    "SELECT subject, not_before, expires_at FROM subject_revocations ORDER BY subject";
constexpr char kUpsertToken[] =
    "INSERT INTO token_revocations (token_id, expires_at) VALUES (?1, ?2) "
    "ON CONFLICT (token_id) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)";
constexpr char kUpsertSubject[] =
    "INSERT INTO subject_revocations (subject, not_before, expires_at) VALUES (?1, ?2, ?3) "
    "ON CONFLICT (subject) DO UPDATE SET not_before = max(not_before, excluded.not_before), "
    "expires_at = max(expires_at, excluded.expires_at)";
constexpr char kPruneTokens[] = "DELETE FROM token_revocations WHERE expires_at <= ?1";
constexpr char kPruneSubjects[] = "DELETE FROM subject_revocations WHERE expires_at <= ?1";

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;

struct StmtFinalizer {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

// Readies a cached statement for its next use when the current use ends, however it ends.
class ScopedReset {
 public:
  explicit ScopedReset(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~ScopedReset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  ScopedReset(const ScopedReset&) = delete;
  ScopedReset& operator=(const ScopedReset&) = delete;

 private:
  sqlite3_stmt* stmt_;
};

// The Store's error contract for an SQLite result code. SQLite's messages name the failure, never
// the values involved; `what` says which step failed.
absl::Status SqliteError(int rc, sqlite3* db, const std::string& path, absl::string_view what) {
  const std::string message =
      absl::StrCat("SQLite database ", path, ": ", what, ": ",
                   db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc), " (code ", rc, ")");
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_PROTOCOL:
    case SQLITE_NOLFS:
      return absl::UnavailableError(message);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::DataLossError(message);
    case SQLITE_NOMEM:
      return absl::ResourceExhaustedError(message);
    default:
      return absl::InternalError(message);
  }
}

absl::Status Exec(sqlite3* db, const std::string& path, const char* sql, absl::string_view what) {
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return SqliteError(rc, db, path, what);
  return absl::OkStatus();
}

// Runs a statement that yields one row and returns its first column as text.
absl::StatusOr<std::string> QueryText(sqlite3* db, const std::string& path, const char* sql,
                                      absl::string_view what) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db, sql, -1, &raw, nullptr);
  StmtPtr stmt(raw);
  if (rc != SQLITE_OK) return SqliteError(rc, db, path, what);
  rc = sqlite3_step(stmt.get());
  if (rc != SQLITE_ROW) {
    if (rc == SQLITE_DONE) {
      return absl::InternalError(absl::StrCat("SQLite database ", path, ": ", what, ": no result"));
    }
    return SqliteError(rc, db, path, what);
  }
  const unsigned char* text = sqlite3_column_text(stmt.get(), 0);
  const int size = sqlite3_column_bytes(stmt.get(), 0);
  return text == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(text), size);
}

absl::StatusOr<int64_t> QueryInt(sqlite3* db, const std::string& path, const char* sql,
                                 absl::string_view what) {
  absl::StatusOr<std::string> text = QueryText(db, path, sql, what);
  if (!text.ok()) return text.status();
  int64_t value = 0;
  if (!absl::SimpleAtoi(*text, &value)) {
    return absl::InternalError(
        absl::StrCat("SQLite database ", path, ": ", what, ": not an integer"));
  }
  return value;
}

absl::Status SchemaTooNew(const std::string& path, int64_t version) {
  if (version < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("SQLite database ", path, " has unknown schema version ", version));
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "SQLite database ", path, " has schema version ", version,
      ", newer than the versions this signet knows (up to ", internal::kSqliteSchemaVersion,
      "): run a signet at least as new as the one that wrote it"));
}

// Brings the schema to kSqliteSchemaVersion, one numbered migration at a time, in one write
// transaction so that two processes starting together migrate once.
absl::Status Migrate(sqlite3* db, const std::string& path) {
  absl::StatusOr<int64_t> version = QueryInt(db, path, "PRAGMA user_version", "reading version");
  if (!version.ok()) return version.status();
  if (*version > internal::kSqliteSchemaVersion || *version < 0) {
    return SchemaTooNew(path, *version);
  }
  if (*version == internal::kSqliteSchemaVersion) return absl::OkStatus();

  if (absl::Status status = Exec(db, path, "BEGIN IMMEDIATE", "cannot begin the migration");
      !status.ok()) {
    return status;
  }
  absl::Status status = [&]() -> absl::Status {
    // Read again under the write lock: another process may have migrated meanwhile.
    version = QueryInt(db, path, "PRAGMA user_version", "reading version");
    if (!version.ok()) return version.status();
    if (*version > internal::kSqliteSchemaVersion || *version < 0) {
      return SchemaTooNew(path, *version);
    }
    for (const Migration& migration : kMigrations) {
      if (migration.version <= *version) continue;
      const std::string what = absl::StrCat("migration to schema version ", migration.version);
      if (absl::Status s = Exec(db, path, migration.sql, what); !s.ok()) return s;
      const std::string set_version = absl::StrCat("PRAGMA user_version = ", migration.version);
      if (absl::Status s = Exec(db, path, set_version.c_str(), what); !s.ok()) return s;
    }
    return Exec(db, path, "COMMIT", "cannot commit the migration");
  }();
  if (!status.ok() && sqlite3_get_autocommit(db) == 0) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  return status;
}

// Creates the folder (0700) and an empty database file (0600) when missing, so that SQLite, which
// would create them 0644 less the umask, never does. The -wal and -shm files copy the file's mode.
absl::Status PrepareFiles(const std::string& path) {
  const std::string folder = internal::ParentFolder(path);
  absl::Status status = internal::EnsureFolder(folder);
  if (status.ok()) {
    const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0600);
    if (fd >= 0) {
      // The umask may have narrowed the mode; SQLite needs the owner's read and write.
      if (fchmod(fd, 0600) != 0) {
        status = internal::ErrnoStatus(errno, absl::StrCat("cannot chmod 0600 ", path));
      }
      close(fd);
      if (status.ok()) status = internal::SyncFolder(folder);
    } else if (errno != EEXIST) {
      status = internal::ErrnoStatus(errno, absl::StrCat("cannot create ", path));
    }
  }
  if (status.ok()) return status;
  // Whatever errno said, the store cannot be reached: the Store contract's UNAVAILABLE.
  return absl::UnavailableError(absl::StrCat("SQLite database ", path, ": ", status.message()));
}

// Thread-safe: one connection, used under mu_. Cached statements are reset after every use.
class SqliteStore final : public Store {
 public:
  SqliteStore(std::string path, DbPtr db) : path_(std::move(path)), db_(std::move(db)) {}

  absl::Status PrepareStatements() {
    absl::MutexLock lock(&mu_);
    const std::pair<StmtPtr*, const char*> all[] = {
        {&stmts_.begin_immediate, "BEGIN IMMEDIATE"},
        {&stmts_.begin_deferred, "BEGIN DEFERRED"},
        {&stmts_.commit, "COMMIT"},
        {&stmts_.rollback, "ROLLBACK"},
        {&stmts_.select_keys, kSelectKeys},
        {&stmts_.upsert_key, kUpsertKey},
        {&stmts_.delete_key, kDeleteKey},
        {&stmts_.select_tokens, kSelectTokens},
        {&stmts_.select_subjects, kSelectSubjects},
        {&stmts_.upsert_token, kUpsertToken},
        {&stmts_.upsert_subject, kUpsertSubject},
        {&stmts_.prune_tokens, kPruneTokens},
        {&stmts_.prune_subjects, kPruneSubjects},
    };
    for (const auto& [stmt, sql] : all) {
      sqlite3_stmt* raw = nullptr;
      const int rc =
          sqlite3_prepare_v3(db_.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
      stmt->reset(raw);
      if (rc != SQLITE_OK) return Error(rc, "cannot prepare a statement");
    }
    return absl::OkStatus();
  }

  absl::StatusOr<StoreSnapshot> Load() override {
    absl::MutexLock lock(&mu_);
    StoreSnapshot snapshot;
    absl::Status status = InTransaction(stmts_.begin_deferred.get(), [&]() -> absl::Status {
      mu_.AssertHeld();  // InTransaction runs the body under mu_.
      absl::StatusOr<std::vector<KeyRecord>> keys = ReadKeys();
      if (!keys.ok()) return keys.status();
      snapshot.keys = *std::move(keys);
      if (absl::Status s = ReadTokenRevocations(&snapshot.token_revocations); !s.ok()) return s;
      return ReadSubjectRevocations(&snapshot.subject_revocations);
    });
    if (!status.ok()) return status;
    return snapshot;
  }

  absl::StatusOr<std::vector<KeyRecord>> LoadKeys() override {
    absl::MutexLock lock(&mu_);
    return ReadKeys();
  }

  absl::StatusOr<std::vector<KeyRecord>> UpdateKeys(const KeyDecision& decide) override {
    absl::MutexLock lock(&mu_);
    std::vector<KeyRecord> after;
    absl::Status status = InTransaction(stmts_.begin_immediate.get(), [&]() -> absl::Status {
      mu_.AssertHeld();  // InTransaction runs the body under mu_.
      absl::StatusOr<std::vector<KeyRecord>> current = ReadKeys();
      if (!current.ok()) return current.status();
      absl::StatusOr<KeyChanges> changes = decide(*current);
      if (!changes.ok()) return changes.status();
      if (absl::Status s = internal::CheckKeyChanges(*changes); !s.ok()) return s;
      for (const KeyRecord& record : changes->upserts) {
        if (absl::Status s = UpsertKey(record); !s.ok()) return s;
      }
      for (const std::string& kid : changes->deletes) {
        if (absl::Status s = DeleteKey(kid); !s.ok()) return s;
      }
      absl::StatusOr<std::vector<KeyRecord>> keys = ReadKeys();
      if (!keys.ok()) return keys.status();
      after = *std::move(keys);
      return absl::OkStatus();
    });
    if (!status.ok()) return status;
    return after;
  }

  absl::Status AddTokenRevocation(const TokenRevocationRecord& record) override {
    if (absl::Status status = internal::CheckRevocation(record); !status.ok()) return status;
    absl::MutexLock lock(&mu_);
    sqlite3_stmt* stmt = stmts_.upsert_token.get();
    ScopedReset reset(stmt);
    if (int rc = BindText(stmt, 1, record.token_id); rc != SQLITE_OK) {
      return Error(rc, "cannot bind a token revocation");
    }
    sqlite3_bind_int64(stmt, 2, internal::ToStoredMicros(record.expires_at));
    return StepDone(stmt, "cannot write a token revocation");
  }

  absl::Status AddSubjectRevocation(const SubjectRevocationRecord& record) override {
    if (absl::Status status = internal::CheckRevocation(record); !status.ok()) return status;
    absl::MutexLock lock(&mu_);
    sqlite3_stmt* stmt = stmts_.upsert_subject.get();
    ScopedReset reset(stmt);
    if (int rc = BindText(stmt, 1, record.subject); rc != SQLITE_OK) {
      return Error(rc, "cannot bind a subject revocation");
    }
    sqlite3_bind_int64(stmt, 2, internal::ToStoredMicros(record.not_before));
    sqlite3_bind_int64(stmt, 3, internal::ToStoredMicros(record.expires_at));
    return StepDone(stmt, "cannot write a subject revocation");
  }

  int schema_version() const override { return internal::kSqliteSchemaVersion; }

  absl::Status PruneRevocations(absl::Time now) override {
    const int64_t now_micros = internal::ToStoredMicros(now);
    absl::MutexLock lock(&mu_);
    return InTransaction(stmts_.begin_immediate.get(), [&]() -> absl::Status {
      mu_.AssertHeld();  // InTransaction runs the body under mu_.
      for (sqlite3_stmt* stmt : {stmts_.prune_tokens.get(), stmts_.prune_subjects.get()}) {
        ScopedReset reset(stmt);
        sqlite3_bind_int64(stmt, 1, now_micros);
        if (absl::Status s = StepDone(stmt, "cannot prune revocations"); !s.ok()) return s;
      }
      return absl::OkStatus();
    });
  }

 private:
  struct Statements {
    StmtPtr begin_immediate, begin_deferred, commit, rollback;
    StmtPtr select_keys, upsert_key, delete_key;
    StmtPtr select_tokens, select_subjects, upsert_token, upsert_subject;
    StmtPtr prune_tokens, prune_subjects;
  };

  absl::Status Error(int rc, absl::string_view what) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return SqliteError(rc, db_.get(), path_, what);
  }

  static int BindText(sqlite3_stmt* stmt, int index, std::string_view text) {
    return sqlite3_bind_text64(stmt, index, text.data(), text.size(), SQLITE_STATIC, SQLITE_UTF8);
  }

  // Key times: NULL for "never" (InfinitePast).
  static int BindKeyTime(sqlite3_stmt* stmt, int index, absl::Time t) {
    if (t == absl::InfinitePast()) return sqlite3_bind_null(stmt, index);
    return sqlite3_bind_int64(stmt, index, internal::ToStoredMicros(t));
  }

  static std::string ColumnString(sqlite3_stmt* stmt, int column) {
    // Pointer first, then size, as SQLite's conversion rules require.
    const void* data = sqlite3_column_blob(stmt, column);
    const int size = sqlite3_column_bytes(stmt, column);
    if (data == nullptr) return std::string();
    return std::string(static_cast<const char*>(data), size);
  }

  absl::Status StepDone(sqlite3_stmt* stmt, absl::string_view what)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const int rc = sqlite3_step(stmt);
    if (rc != SQLITE_DONE) return Error(rc, what);
    return absl::OkStatus();
  }

  // Runs `body` between `begin` and COMMIT; rolls back when any step fails.
  absl::Status InTransaction(sqlite3_stmt* begin, absl::FunctionRef<absl::Status()> body)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    {
      ScopedReset reset(begin);
      if (absl::Status status = StepDone(begin, "cannot begin a transaction"); !status.ok()) {
        return status;
      }
    }
    absl::Status status = body();
    if (status.ok()) {
      ScopedReset reset(stmts_.commit.get());
      status = StepDone(stmts_.commit.get(), "cannot commit");
    }
    if (!status.ok() && sqlite3_get_autocommit(db_.get()) == 0) {
      ScopedReset reset(stmts_.rollback.get());
      sqlite3_step(stmts_.rollback.get());
    }
    return status;
  }

  absl::Status DataLoss(absl::string_view what) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return absl::DataLossError(absl::StrCat("SQLite database ", path_, ": ", what));
  }

  absl::StatusOr<absl::Time> ColumnKeyTime(sqlite3_stmt* stmt, int column, const std::string& kid)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    switch (sqlite3_column_type(stmt, column)) {
      case SQLITE_NULL:
        return absl::InfinitePast();
      case SQLITE_INTEGER:
        return internal::FromStoredMicros(sqlite3_column_int64(stmt, column));
      default:
        return DataLoss(absl::StrCat("key ", kid, " has a time that is not an integer"));
    }
  }

  absl::StatusOr<std::vector<KeyRecord>> ReadKeys() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    sqlite3_stmt* stmt = stmts_.select_keys.get();
    ScopedReset reset(stmt);
    std::vector<KeyRecord> keys;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      KeyRecord record;
      record.kid = ColumnString(stmt, 0);
      const int64_t algorithm = sqlite3_column_int64(stmt, 1);
      const int64_t state = sqlite3_column_int64(stmt, 2);
      if (!internal::IsKnownAlgorithm(algorithm) || !internal::IsKnownKeyState(state)) {
        return DataLoss(absl::StrCat("key ", record.kid, " has unknown algorithm ", algorithm,
                                     " or state ", state));
      }
      record.algorithm = static_cast<Algorithm>(algorithm);
      record.state = static_cast<KeyState>(state);
      absl::Time* times[] = {&record.created_at, &record.activated_at, &record.retired_at,
                             &record.revoked_at};
      for (int i = 0; i < 4; ++i) {
        absl::StatusOr<absl::Time> t = ColumnKeyTime(stmt, 3 + i, record.kid);
        if (!t.ok()) return t.status();
        *times[i] = *t;
      }
      record.revoke_reason = ColumnString(stmt, 7);
      record.public_jwk = ColumnString(stmt, 8);
      record.sealed_private = ColumnString(stmt, 9);
      record.mac = ColumnString(stmt, 10);
      keys.push_back(std::move(record));
    }
    if (rc != SQLITE_DONE) return Error(rc, "cannot read the keys");
    return keys;
  }

  absl::Status ReadTokenRevocations(std::vector<TokenRevocationRecord>* out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    sqlite3_stmt* stmt = stmts_.select_tokens.get();
    ScopedReset reset(stmt);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      out->push_back(
          {ColumnString(stmt, 0), internal::FromStoredMicros(sqlite3_column_int64(stmt, 1))});
    }
    if (rc != SQLITE_DONE) return Error(rc, "cannot read the token revocations");
    return absl::OkStatus();
  }

  absl::Status ReadSubjectRevocations(std::vector<SubjectRevocationRecord>* out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    sqlite3_stmt* stmt = stmts_.select_subjects.get();
    ScopedReset reset(stmt);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      out->push_back({ColumnString(stmt, 0),
                      internal::FromStoredMicros(sqlite3_column_int64(stmt, 1)),
                      internal::FromStoredMicros(sqlite3_column_int64(stmt, 2))});
    }
    if (rc != SQLITE_DONE) return Error(rc, "cannot read the subject revocations");
    return absl::OkStatus();
  }

  absl::Status UpsertKey(const KeyRecord& record) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    sqlite3_stmt* stmt = stmts_.upsert_key.get();
    ScopedReset reset(stmt);
    const int rcs[] = {
        BindText(stmt, 1, record.kid),
        sqlite3_bind_int64(stmt, 2, static_cast<int64_t>(record.algorithm)),
        sqlite3_bind_int64(stmt, 3, static_cast<int64_t>(record.state)),
        BindKeyTime(stmt, 4, record.created_at),
        BindKeyTime(stmt, 5, record.activated_at),
        BindKeyTime(stmt, 6, record.retired_at),
        BindKeyTime(stmt, 7, record.revoked_at),
        BindText(stmt, 8, record.revoke_reason),
        BindText(stmt, 9, record.public_jwk),
        sqlite3_bind_blob64(stmt, 10, record.sealed_private.data(), record.sealed_private.size(),
                            SQLITE_STATIC),
        sqlite3_bind_blob64(stmt, 11, record.mac.data(), record.mac.size(), SQLITE_STATIC),
    };
    for (int rc : rcs) {
      if (rc != SQLITE_OK) return Error(rc, absl::StrCat("cannot bind key ", record.kid));
    }
    return StepDone(stmt, absl::StrCat("cannot write key ", record.kid));
  }

  absl::Status DeleteKey(const std::string& kid) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    sqlite3_stmt* stmt = stmts_.delete_key.get();
    ScopedReset reset(stmt);
    if (int rc = BindText(stmt, 1, kid); rc != SQLITE_OK) {
      return Error(rc, absl::StrCat("cannot bind key ", kid));
    }
    return StepDone(stmt, absl::StrCat("cannot delete key ", kid));
  }

  const std::string path_;
  absl::Mutex mu_;
  // Declared before stmts_: statements are finalized before the connection closes.
  DbPtr db_ ABSL_GUARDED_BY(mu_);
  Statements stmts_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

namespace internal {

absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path,
                                                       const SqliteStoreOptions& options) {
  if (path.empty()) return absl::InvalidArgumentError("the SQLite database path is empty");
  if (absl::Status status = PrepareFiles(path); !status.ok()) return status;

  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE, nullptr);
  DbPtr db(raw);
  if (rc != SQLITE_OK) return SqliteError(rc, db.get(), path, "cannot open");
  // SQLite falls back to read-only when the file is write-protected; a store must write.
  if (sqlite3_db_readonly(db.get(), "main") != 0) {
    return absl::UnavailableError(
        absl::StrCat("SQLite database ", path, ": the file is read-only to this process"));
  }
  sqlite3_busy_timeout(db.get(), static_cast<int>(absl::ToInt64Milliseconds(options.busy_timeout)));

  // The first read of the file: a file that is not a database fails here with DATA_LOSS.
  absl::StatusOr<std::string> journal_mode =
      QueryText(db.get(), path, "PRAGMA journal_mode = WAL", "cannot switch to WAL mode");
  if (!journal_mode.ok()) return journal_mode.status();
  if (*journal_mode != "wal") {
    return absl::UnavailableError(absl::StrCat("SQLite database ", path,
                                               ": cannot switch to WAL mode (journal mode is ",
                                               *journal_mode, ")"));
  }
  if (absl::Status status =
          Exec(db.get(), path, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
               "cannot set pragmas");
      !status.ok()) {
    return status;
  }
  // Corruption is found at start, not in the middle of a key rotation.
  absl::StatusOr<std::string> check =
      QueryText(db.get(), path, "PRAGMA quick_check(1)", "integrity check failed");
  if (!check.ok()) return check.status();
  if (*check != "ok") {
    return absl::DataLossError(
        absl::StrCat("SQLite database ", path, ": integrity check failed: ", *check));
  }
  if (absl::Status status = Migrate(db.get(), path); !status.ok()) return status;

  auto store = std::make_unique<SqliteStore>(path, std::move(db));
  if (absl::Status status = store->PrepareStatements(); !status.ok()) return status;
  return store;
}

}  // namespace internal

absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path) {
  return internal::OpenSqliteStore(path, internal::SqliteStoreOptions());
}

}  // namespace signet::server
