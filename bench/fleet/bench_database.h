// A PostgreSQL database of a benchmark's own, and the load its clients put on it.
//
// The server is the one SIGNET_TEST_POSTGRES_DSN names, or else a private instance started with
// scripts/postgres-test-instance.sh in the benchmark's scratch folder (as scripts/test.sh does) and
// stopped at the end. On it, each BenchDatabase is a database of its own (CREATE DATABASE, dropped
// WITH FORCE on destruction), so its statistics count only the benchmark's servers.
//
// Example:
//   PostgresServer server;
//   if (!server.Open(scratch.path())) return 1;
//   BenchDatabase db(&server);
//   if (!db.ok()) return 1;
//   ... start replicas with db.dsn() ...
//   DatabaseCounters before = db.Counters();  ... later: db.Counters() - before
#ifndef SIGNET_BENCH_FLEET_BENCH_DATABASE_H_
#define SIGNET_BENCH_FLEET_BENCH_DATABASE_H_

#include <cstdint>
#include <optional>
#include <string>

#include "tests/support/postgres_admin.h"

namespace signet::bench {

// The PostgreSQL server the benchmark's databases live on.
class PostgresServer {
 public:
  PostgresServer() = default;
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // SIGNET_TEST_POSTGRES_DSN, or a private instance in `work_dir`/pg. False (said on stderr) when
  // neither can be had.
  bool Open(const std::string& work_dir);

  // A DSN with the server's administrative database.
  const std::string& admin_dsn() const { return admin_dsn_; }
  // What it is, for the report.
  const std::string& description() const { return description_; }

 private:
  bool Script(const std::string& command);

  std::string admin_dsn_;
  std::string instance_dir_;
  std::string description_;
};

// Cumulative activity counters of one database (pg_stat_database).
struct DatabaseCounters {
  int64_t transactions = 0;  // xact_commit + xact_rollback
  int64_t tup_returned = 0;
  int64_t tup_fetched = 0;
  DatabaseCounters operator-(const DatabaseCounters& o) const {
    return {transactions - o.transactions, tup_returned - o.tup_returned,
            tup_fetched - o.tup_fetched};
  }
};

class BenchDatabase {
 public:
  explicit BenchDatabase(const PostgresServer* server);
  ~BenchDatabase();
  BenchDatabase(const BenchDatabase&) = delete;
  BenchDatabase& operator=(const BenchDatabase&) = delete;

  bool ok() const { return !name_.empty(); }
  const std::string& name() const { return name_; }
  const std::string& dsn() const { return dsn_; }

  // Connections to this database now (pg_stat_activity); nullopt if the query failed.
  std::optional<int> Connections();
  // Its counters as the statistics system has them now. Backends publish theirs when they go idle,
  // at most once a second (an idle one within 10 s): measure phases of tens of seconds.
  std::optional<DatabaseCounters> Counters();

 private:
  std::string admin_dsn_;
  signet::testing::PgConn admin_;  // To the administrative database: not counted in name_.
  std::string name_;
  std::string dsn_;
};

}  // namespace signet::bench

#endif  // SIGNET_BENCH_FLEET_BENCH_DATABASE_H_
