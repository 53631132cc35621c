// libpq plumbing for the PostgreSQL store: connections, binary statement parameters, one call's
// use of a connection (Session), SQLSTATE-to-status mapping and binary result columns.
//
// Example:
//   absl::StatusOr<PgConnPtr> conn = ConnectPostgres({dsn, /*connect_timeout_seconds=*/10});
//   Session session(conn->get());
//   absl::StatusOr<PgResultPtr> r = session.Exec("reading", "SELECT 1");
#ifndef SIGNET_SERVER_STORE_INTERNAL_PG_SESSION_H_
#define SIGNET_SERVER_STORE_INTERNAL_PG_SESSION_H_

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace signet::server::internal {

struct PgConnFree {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
using PgConnPtr = std::unique_ptr<PGconn, PgConnFree>;

struct PgResultFree {
  void operator()(PGresult* result) const { PQclear(result); }
};
using PgResultPtr = std::unique_ptr<PGresult, PgResultFree>;

// Statement parameters, all sent in binary format with explicit types: values are never spliced
// into SQL text and need no escaping.
class Params {
 public:
  Params& Int64(int64_t v);
  Params& Int32(int32_t v);
  Params& NullableInt64(std::optional<int64_t> v);
  Params& Text(std::string_view v);
  Params& Bytea(std::string_view v);

  int size() const { return static_cast<int>(types_.size()); }
  const std::vector<Oid>& types() const { return types_; }
  const std::vector<std::optional<std::string>>& values() const { return values_; }

 private:
  Params& Add(Oid type, std::optional<std::string> value);

  std::vector<Oid> types_;
  std::vector<std::optional<std::string>> values_;
};

struct ConnectSettings {
  std::string dsn;
  int connect_timeout_seconds = 10;
};

// A connection with signet's timeouts and keepalives; UNAVAILABLE when it cannot be made.
absl::StatusOr<PgConnPtr> ConnectPostgres(const ConnectSettings& settings);

// libpq's error message for `conn` on one line (it never holds the password).
std::string ConnectionError(PGconn* conn);

// One use of a connection by one call; records whether the connection was lost and whether a
// COMMIT was sent (after which the outcome of a lost connection is unknown).
class Session {
 public:
  explicit Session(PGconn* conn) : conn_(conn) {}

  // Results come back in binary format. `what` names the step in the error.
  absl::StatusOr<PgResultPtr> Exec(absl::string_view what, const char* sql,
                                   const Params& params = Params());
  absl::Status Command(absl::string_view what, const char* sql, const Params& params = Params());
  absl::Status Begin(const char* sql = "BEGIN");
  absl::Status Commit();
  // Best effort: a failed ROLLBACK means the connection is gone, and with it the transaction.
  void Rollback();

  bool lost() const { return lost_; }
  bool commit_sent() const { return commit_sent_; }

 private:
  PGconn* conn_;
  bool lost_ = false;
  bool in_transaction_ = false;
  bool commit_sent_ = false;
};

// Binary result columns. A column of the wrong size is INTERNAL.
std::string BytesColumn(const PGresult* r, int row, int col);
absl::StatusOr<int64_t> Int64Column(const PGresult* r, int row, int col);
absl::StatusOr<int32_t> Int32Column(const PGresult* r, int row, int col);
// A stored time (microseconds by the stores' shared rules); NULL reads as absl::InfinitePast().
absl::StatusOr<absl::Time> NullableTimeColumn(const PGresult* r, int row, int col);
absl::StatusOr<absl::Time> TimeColumn(const PGresult* r, int row, int col);

}  // namespace signet::server::internal

#endif  // SIGNET_SERVER_STORE_INTERNAL_PG_SESSION_H_
