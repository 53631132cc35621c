#include "tests/support/postgres_admin.h"

#include <cstdlib>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace signet::testing {

std::optional<std::string> TestPostgresDsn() {
  const char* env = std::getenv("SIGNET_TEST_POSTGRES_DSN");
  if (env == nullptr || *env == '\0') return std::nullopt;
  return std::string(env);
}

std::string WithDatabase(const std::string& dsn, const std::string& database) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(dsn.c_str(), &error);
  if (error != nullptr) PQfreemem(error);
  std::string out;
  for (PQconninfoOption* o = options; o != nullptr && o->keyword != nullptr; ++o) {
    if (o->val == nullptr || std::string(o->keyword) == "dbname") continue;
    std::string value;
    for (const char* c = o->val; *c != '\0'; ++c) {
      if (*c == '\'' || *c == '\\') value.push_back('\\');
      value.push_back(*c);
    }
    absl::StrAppend(&out, o->keyword, "='", value, "' ");
  }
  PQconninfoFree(options);
  return absl::StrCat(out, "dbname='", database, "'");
}

std::string AdminSql(PGconn* conn, const std::string& sql) {
  PGresult* result = PQexec(conn, sql.c_str());
  std::string out;
  const ExecStatusType status = PQresultStatus(result);
  if (status == PGRES_TUPLES_OK) {
    if (PQntuples(result) > 0 && !PQgetisnull(result, 0, 0)) out = PQgetvalue(result, 0, 0);
  } else if (status != PGRES_COMMAND_OK) {
    out = absl::StrCat("ERROR: ", PQresultErrorMessage(result));
  }
  PQclear(result);
  return out;
}

std::string AdminSql(const std::string& dsn, const std::string& sql) {
  PgConn conn(PQconnectdb(dsn.c_str()));
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    return absl::StrCat("ERROR: ", PQerrorMessage(conn.get()));
  }
  return AdminSql(conn.get(), sql);
}

std::string RandomHex(int bytes) {
  std::random_device random;
  std::string out;
  for (int i = 0; i < bytes; ++i) absl::StrAppendFormat(&out, "%02x", random() & 0xff);
  return out;
}

TestDatabase::TestDatabase(std::string admin_dsn, const std::string& prefix)
    : admin_dsn_(std::move(admin_dsn)), name_(prefix + RandomHex(8)) {
  std::string created = AdminSql(admin_dsn_, "CREATE DATABASE " + name_);
  if (!created.empty()) {
    error_ = absl::StrCat("cannot create database ", name_, ": ", created);
    name_.clear();
    return;
  }
  dsn_ = WithDatabase(admin_dsn_, name_);
}

TestDatabase::~TestDatabase() {
  if (!name_.empty()) AdminSql(admin_dsn_, "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
}

}  // namespace signet::testing
