#include "server/store/internal/pg_session.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "server/store/internal/pg_schema.h"
#include "server/store/internal/store_rules.h"

namespace signet::server::internal {
namespace {

// Type OIDs from pg_type.
constexpr Oid kByteaOid = 17;
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt4Oid = 23;
constexpr Oid kTextOid = 25;

// `v`'s low `size` bytes, most significant first (PostgreSQL's binary integer format).
std::string BigEndianBytes(uint64_t v, int size) {
  std::string bytes(size, '\0');
  for (int i = 0; i < size; ++i) {
    bytes[i] = static_cast<char>((v >> (8 * (size - 1 - i))) & 0xff);
  }
  return bytes;
}

// libpq messages span lines and end with a newline; status messages are one line.
std::string OneLine(std::string_view message) {
  std::string out;
  bool space = false;
  for (char c : message) {
    if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

// Maps a failed result to a status. `lost` is set when the connection can no longer be used.
absl::Status ErrorStatus(PGconn* conn, const PGresult* result, absl::string_view what, bool* lost) {
  const char* sqlstate_field =
      result == nullptr ? nullptr : PQresultErrorField(result, PG_DIAG_SQLSTATE);
  const char* primary =
      result == nullptr ? nullptr : PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
  const std::string sqlstate = sqlstate_field == nullptr ? "" : sqlstate_field;
  // The primary message only: DETAIL lines can quote row values.
  const std::string message = primary != nullptr ? OneLine(primary) : ConnectionError(conn);
  const std::string state_class = sqlstate.substr(0, 2);

  if (PQstatus(conn) != CONNECTION_OK || state_class == "08" || sqlstate.rfind("57P", 0) == 0) {
    *lost = true;
    return absl::UnavailableError(
        absl::StrCat(what, ": lost the connection to PostgreSQL: ", message));
  }
  if (sqlstate == "25006") {
    // A read-only transaction: the server is a standby (after a fail-over). Reconnecting may reach
    // the new primary.
    *lost = true;
    return absl::UnavailableError(absl::StrCat(what, ": PostgreSQL is read-only: ", message));
  }
  if (state_class == "53" || sqlstate == "57014" || sqlstate == "55P03") {
    return absl::UnavailableError(absl::StrCat(what, ": PostgreSQL: ", message));
  }
  if (sqlstate == "40001" || sqlstate == "40P01") {
    return absl::AbortedError(absl::StrCat(what, ": PostgreSQL: ", message));
  }
  if (sqlstate == "23505") {
    const char* constraint = PQresultErrorField(result, PG_DIAG_CONSTRAINT_NAME);
    if (constraint != nullptr && std::string_view(constraint) == kOneActiveIndex) {
      return absl::AbortedError(
          absl::StrCat(what, ": a second ACTIVE key for one algorithm was refused: ", message));
    }
    return absl::AbortedError(absl::StrCat(what, ": PostgreSQL: ", message));
  }
  if (state_class == "23") {
    return absl::FailedPreconditionError(absl::StrCat(what, ": PostgreSQL: ", message));
  }
  if (state_class == "22" || state_class == "54") {
    // Bad data, or a value too large (such as an index entry over the B-tree limit).
    return absl::InvalidArgumentError(absl::StrCat(what, ": PostgreSQL: ", message));
  }
  if (sqlstate == "XX001" || sqlstate == "XX002") {
    return absl::DataLossError(absl::StrCat(what, ": PostgreSQL: ", message));
  }
  return absl::InternalError(
      absl::StrCat(what, ": PostgreSQL error ", sqlstate.empty() ? "" : sqlstate + " ", message));
}

absl::StatusOr<uint64_t> BigEndian(const PGresult* r, int row, int col, int size) {
  if (PQgetisnull(r, row, col) != 0 || PQgetlength(r, row, col) != size) {
    return absl::InternalError(
        absl::StrCat("PostgreSQL returned an unexpected value in column ", PQfname(r, col)));
  }
  const auto* bytes = reinterpret_cast<const unsigned char*>(PQgetvalue(r, row, col));
  uint64_t v = 0;
  for (int i = 0; i < size; ++i) v = (v << 8) | bytes[i];
  return v;
}

}  // namespace

Params& Params::Int64(int64_t v) {
  return Add(kInt8Oid, BigEndianBytes(static_cast<uint64_t>(v), 8));
}

Params& Params::Int32(int32_t v) {
  return Add(kInt4Oid, BigEndianBytes(static_cast<uint32_t>(v), 4));
}

Params& Params::NullableInt64(std::optional<int64_t> v) {
  if (v.has_value()) return Int64(*v);
  return Add(kInt8Oid, std::nullopt);
}

Params& Params::Text(std::string_view v) { return Add(kTextOid, std::string(v)); }

Params& Params::Bytea(std::string_view v) { return Add(kByteaOid, std::string(v)); }

Params& Params::Add(Oid type, std::optional<std::string> value) {
  types_.push_back(type);
  values_.push_back(std::move(value));
  return *this;
}

std::string ConnectionError(PGconn* conn) {
  if (conn == nullptr) return "out of memory";
  // libpq's connection errors name the host, port, user and database, never the password.
  return OneLine(PQerrorMessage(conn));
}

absl::StatusOr<PgConnPtr> ConnectPostgres(const ConnectSettings& settings) {
  // Settings listed before "dbname" are defaults: the DSN, expanded in its place, overrides them.
  const std::string timeout = std::to_string(settings.connect_timeout_seconds);
  // Data sent to a server that stopped acknowledging it (a host gone from the network) fails the
  // connection after this long instead of after minutes of TCP retransmissions, so that a call
  // holding the store's connection does not hang; keepalives cover an idle connection.
  const std::string user_timeout_ms = std::to_string(settings.connect_timeout_seconds * 1000);
  const char* const keywords[] = {"connect_timeout",
                                  "fallback_application_name",
                                  "keepalives",
                                  "keepalives_idle",
                                  "keepalives_interval",
                                  "keepalives_count",
                                  "tcp_user_timeout",
                                  "dbname",
                                  nullptr};
  const char* const values[] = {
      timeout.c_str(),      "signet", "1", "30", "10", "3", user_timeout_ms.c_str(),
      settings.dsn.c_str(), nullptr};
  PgConnPtr conn(PQconnectdbParams(keywords, values, /*expand_dbname=*/1));
  if (conn == nullptr || PQstatus(conn.get()) != CONNECTION_OK) {
    return absl::UnavailableError(
        absl::StrCat("cannot connect to PostgreSQL: ", ConnectionError(conn.get())));
  }
  // libpq prints notices (and a server's goodbye) on stderr by default; failures reach callers as
  // statuses instead. The processor survives PQreset.
  PQsetNoticeProcessor(
      conn.get(), [](void*, const char*) {}, nullptr);
  return conn;
}

absl::StatusOr<PgResultPtr> Session::Exec(absl::string_view what, const char* sql,
                                          const Params& params) {
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats(params.size(), 1);
  for (const std::optional<std::string>& v : params.values()) {
    values.push_back(v.has_value() ? v->data() : nullptr);
    lengths.push_back(v.has_value() ? static_cast<int>(v->size()) : 0);
  }
  PgResultPtr result(PQexecParams(conn_, sql, params.size(), params.types().data(), values.data(),
                                  lengths.data(), formats.data(), /*resultFormat=*/1));
  const ExecStatusType status =
      result == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(result.get());
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return result;
  return ErrorStatus(conn_, result.get(), what, &lost_);
}

absl::Status Session::Command(absl::string_view what, const char* sql, const Params& params) {
  return Exec(what, sql, params).status();
}

absl::Status Session::Begin(const char* sql) {
  absl::Status status = Command("BEGIN", sql);
  if (status.ok()) in_transaction_ = true;
  return status;
}

absl::Status Session::Commit() {
  commit_sent_ = true;
  absl::Status status = Command("COMMIT", "COMMIT");
  if (status.ok()) in_transaction_ = false;
  return status;
}

void Session::Rollback() {
  if (!in_transaction_ || lost_) return;
  (void)Command("ROLLBACK", "ROLLBACK");
  in_transaction_ = false;
}

std::string BytesColumn(const PGresult* r, int row, int col) {
  return std::string(PQgetvalue(r, row, col), PQgetlength(r, row, col));
}

absl::StatusOr<int64_t> Int64Column(const PGresult* r, int row, int col) {
  absl::StatusOr<uint64_t> v = BigEndian(r, row, col, 8);
  if (!v.ok()) return v.status();
  return static_cast<int64_t>(*v);
}

absl::StatusOr<int32_t> Int32Column(const PGresult* r, int row, int col) {
  absl::StatusOr<uint64_t> v = BigEndian(r, row, col, 4);
  if (!v.ok()) return v.status();
  return static_cast<int32_t>(static_cast<uint32_t>(*v));
}

absl::StatusOr<absl::Time> NullableTimeColumn(const PGresult* r, int row, int col) {
  if (PQgetisnull(r, row, col) != 0) return absl::InfinitePast();
  return TimeColumn(r, row, col);
}

absl::StatusOr<absl::Time> TimeColumn(const PGresult* r, int row, int col) {
  absl::StatusOr<int64_t> micros = Int64Column(r, row, col);
  if (!micros.ok()) return micros.status();
  return FromStoredMicros(*micros);
}

}  // namespace signet::server::internal
