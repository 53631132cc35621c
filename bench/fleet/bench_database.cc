#include "bench/fleet/bench_database.h"

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "bench/fleet/scratch_dir.h"

namespace signet::bench {

using ::signet::testing::AdminSql;

PostgresServer::~PostgresServer() {
  if (instance_dir_.empty()) return;
  Script("stop");
  std::error_code ec;
  std::filesystem::remove_all(instance_dir_, ec);
}

bool PostgresServer::Open(const std::string& work_dir) {
  const char* env = std::getenv("SIGNET_TEST_POSTGRES_DSN");
  if (env != nullptr && *env != '\0') {
    admin_dsn_ = env;
    description_ = "the server SIGNET_TEST_POSTGRES_DSN names";
    return true;
  }
  // The server runs as the `postgres` user when this runs as root: it must reach its folder.
  chmod(work_dir.c_str(), 0711);
  instance_dir_ = work_dir + "/pg";
  if (!Script("start")) {
    instance_dir_.clear();
    return false;
  }
  const std::string env_file = ReadFile(instance_dir_ + "/env");
  const std::string prefix = "export SIGNET_TEST_POSTGRES_DSN='";
  size_t begin = env_file.find(prefix);
  size_t end = begin == std::string::npos ? begin : env_file.find('\'', begin + prefix.size());
  if (end == std::string::npos) {
    std::fprintf(stderr, "no DSN in %s/env\n", instance_dir_.c_str());
    return false;
  }
  admin_dsn_ = env_file.substr(begin + prefix.size(), end - begin - prefix.size());
  description_ = "a private instance in " + instance_dir_;
  return true;
}

bool PostgresServer::Script(const std::string& command) {
  std::string line =
      absl::StrCat("bash '", SIGNET_SOURCE_DIR, "/scripts/postgres-test-instance.sh' ", command,
                   " '", instance_dir_, "' >'", instance_dir_, ".out' 2>&1");
  if (std::system(line.c_str()) != 0) {
    std::fprintf(stderr, "postgres-test-instance.sh %s failed:\n%s\n", command.c_str(),
                 ReadFile(instance_dir_ + ".out").c_str());
    return false;
  }
  return true;
}

BenchDatabase::BenchDatabase(const PostgresServer* server) : admin_dsn_(server->admin_dsn()) {
  admin_.reset(PQconnectdb(admin_dsn_.c_str()));
  if (PQstatus(admin_.get()) != CONNECTION_OK) {
    std::fprintf(stderr, "cannot reach PostgreSQL: %s\n", PQerrorMessage(admin_.get()));
    return;
  }
  const std::string name = "signet_bench_" + signet::testing::RandomHex(8);
  const std::string created = AdminSql(admin_.get(), "CREATE DATABASE " + name);
  if (!created.empty()) {
    std::fprintf(stderr, "cannot create database %s: %s\n", name.c_str(), created.c_str());
    return;
  }
  name_ = name;
  dsn_ = signet::testing::WithDatabase(admin_dsn_, name_);
}

BenchDatabase::~BenchDatabase() {
  if (name_.empty()) return;
  AdminSql(admin_.get(), "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
}

std::optional<int> BenchDatabase::Connections() {
  int count = 0;
  if (!absl::SimpleAtoi(AdminSql(admin_.get(),
                                 "SELECT count(*) FROM pg_stat_activity WHERE "
                                 "datname = '" +
                                     name_ + "'"),
                        &count)) {
    return std::nullopt;
  }
  return count;
}

std::optional<DatabaseCounters> BenchDatabase::Counters() {
  // A new snapshot of the statistics each time (the default fetch mode caches one per
  // transaction; each AdminSql is a transaction of its own).
  const std::string row =
      AdminSql(admin_.get(),
               "SELECT concat_ws(',', xact_commit + xact_rollback, tup_returned, tup_fetched) FROM "
               "pg_stat_database WHERE datname = '" +
                   name_ + "'");
  std::vector<std::string> fields = absl::StrSplit(row, ',');
  DatabaseCounters c;
  if (fields.size() != 3 || !absl::SimpleAtoi(fields[0], &c.transactions) ||
      !absl::SimpleAtoi(fields[1], &c.tup_returned) ||
      !absl::SimpleAtoi(fields[2], &c.tup_fetched)) {
    std::fprintf(stderr, "pg_stat_database: %s\n", row.c_str());
    return std::nullopt;
  }
  return c;
}

}  // namespace signet::bench
