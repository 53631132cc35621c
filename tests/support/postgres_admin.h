// Administration of the test PostgreSQL server for tests and benchmarks (no GoogleTest): the DSN
// from the environment, a DSN pointed at another database, administrative SQL, and databases of
// one's own.
//
// Example:
//   std::optional<std::string> admin = TestPostgresDsn();
//   if (!admin) GTEST_SKIP() << kNoPostgresMessage;
//   TestDatabase db(*admin);                 // CREATE DATABASE signet_t_<random>; dropped after
//   ASSERT_EQ(db.error(), "");
//   OpenPostgresStore(db.dsn(), options);
#ifndef SIGNET_TESTS_SUPPORT_POSTGRES_ADMIN_H_
#define SIGNET_TESTS_SUPPORT_POSTGRES_ADMIN_H_

#include <libpq-fe.h>

#include <memory>
#include <optional>
#include <string>

namespace signet::testing {

inline constexpr char kNoPostgresMessage[] =
    "SIGNET_TEST_POSTGRES_DSN is not set: run scripts/test.sh, or start a server with "
    "`scripts/postgres-test-instance.sh start DIR` and `source DIR/env`";

struct PgConnFree {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
using PgConn = std::unique_ptr<PGconn, PgConnFree>;

// SIGNET_TEST_POSTGRES_DSN, or nullopt when it is unset or empty.
std::optional<std::string> TestPostgresDsn();

// `dsn` with its database replaced by `database`.
std::string WithDatabase(const std::string& dsn, const std::string& database);

// Runs administrative SQL (never built from values under test) on `conn`: the first column of the
// first row as text, "" when there is none, or "ERROR: ...".
std::string AdminSql(PGconn* conn, const std::string& sql);
// The same on a connection of its own to `dsn`.
std::string AdminSql(const std::string& dsn, const std::string& sql);

// `bytes` random bytes as lowercase hex, for database names.
std::string RandomHex(int bytes);

// A database with a random name, created on the server `admin_dsn` names and dropped (WITH FORCE,
// ending its connections) on destruction.
class TestDatabase {
 public:
  explicit TestDatabase(std::string admin_dsn, const std::string& prefix = "signet_t_");
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  // Empty when the database was created; otherwise why not (name() and dsn() are then empty).
  const std::string& error() const { return error_; }
  const std::string& name() const { return name_; }
  // The admin DSN with this database.
  const std::string& dsn() const { return dsn_; }

 private:
  std::string admin_dsn_;
  std::string name_;
  std::string dsn_;
  std::string error_;
};

}  // namespace signet::testing

#endif  // SIGNET_TESTS_SUPPORT_POSTGRES_ADMIN_H_
