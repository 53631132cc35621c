#include "server/store/postgres_store.h"

#include <fcntl.h>
#include <libpq-fe.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "server/store/internal/store_rules.h"

namespace signet::server {
namespace {

// Advisory lock keys ("SIGNET" followed by a number). Advisory locks are scoped to one database.
constexpr int64_t kMigrationLockKey = 0x5349474E45540001;
constexpr int64_t kKeysLockKey = 0x5349474E45540002;

// The partial unique index that admits at most one ACTIVE key per algorithm.
constexpr char kOneActiveIndex[] = "keys_one_active_per_algorithm";

// A NOTIFY payload must be shorter than 8000 bytes.
constexpr size_t kMaxPayloadBytes = 7999;
// Sent instead of a revocation record too long for a NOTIFY payload: receivers reload everything.
constexpr char kReloadPayload[] = R"({"kind":"reload"})";
constexpr char kKeysPayload[] = R"({"kind":"keys"})";

// A DSN file holds one line; anything larger is not a DSN.
constexpr size_t kMaxDsnFileBytes = 64 * 1024;

// Type OIDs from pg_type.
constexpr Oid kByteaOid = 17;
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt4Oid = 23;
constexpr Oid kTextOid = 25;

struct Migration {
  int version;
  std::vector<const char*> statements;
};

// Append-only: a released version is never edited, only followed by a new one.
const std::vector<Migration>& Migrations() {
  static const auto* const kMigrations = new std::vector<Migration>{
      {1,
       {
           R"sql(CREATE TABLE keys (
                   kid text PRIMARY KEY,
                   algorithm integer NOT NULL,
                   state integer NOT NULL,
                   created_at bigint,
                   activated_at bigint,
                   retired_at bigint,
                   revoked_at bigint,
                   revoke_reason text NOT NULL DEFAULT '',
                   public_jwk text NOT NULL DEFAULT '',
                   sealed_private bytea NOT NULL))sql",
           // The advisory lock in UpdateKeys serializes rotations; this index is the second guard.
           R"sql(CREATE UNIQUE INDEX keys_one_active_per_algorithm ON keys (algorithm)
                   WHERE state = 2)sql",
           R"sql(CREATE TABLE token_revocations (
                   token_id text PRIMARY KEY,
                   expires_at bigint NOT NULL))sql",
           R"sql(CREATE INDEX token_revocations_expires_at ON token_revocations (expires_at))sql",
           R"sql(CREATE TABLE subject_revocations (
                   subject text PRIMARY KEY,
                   not_before bigint NOT NULL,
                   expires_at bigint NOT NULL))sql",
           R"sql(CREATE INDEX subject_revocations_expires_at
                   ON subject_revocations (expires_at))sql",
       }},
      // The authentication tag of each key row (see KeyRecordAuthenticator); empty in rows
      // written before, which the key ring upgrades or refuses.
      {2, {R"sql(ALTER TABLE keys ADD COLUMN mac bytea NOT NULL DEFAULT '')sql"}},
  };
  return *kMigrations;
}

int LatestSchemaVersion() { return Migrations().back().version; }

// Times are stored as microseconds by the rules every store shares; key times that mean "never"
// (absl::InfinitePast()) are NULL.
using internal::FromStoredMicros;
using internal::ToStoredMicros;

std::optional<int64_t> ToNullableMicros(absl::Time t) {
  if (t == absl::InfinitePast()) return std::nullopt;
  return ToStoredMicros(t);
}

// ---------------------------------------------------------------------------------------------
// libpq plumbing.

struct ConnDeleter {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
using ConnPtr = std::unique_ptr<PGconn, ConnDeleter>;

struct ResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

// Statement parameters, all sent in binary format with explicit types: values are never spliced
// into SQL text and need no escaping.
class Params {
 public:
  Params& Int64(int64_t v) {
    std::string bytes(8, '\0');
    for (int i = 0; i < 8; ++i) {
      bytes[i] = static_cast<char>((static_cast<uint64_t>(v) >> (56 - 8 * i)) & 0xff);
    }
    return Add(kInt8Oid, std::move(bytes));
  }
  Params& Int32(int32_t v) {
    std::string bytes(4, '\0');
    for (int i = 0; i < 4; ++i) {
      bytes[i] = static_cast<char>((static_cast<uint32_t>(v) >> (24 - 8 * i)) & 0xff);
    }
    return Add(kInt4Oid, std::move(bytes));
  }
  Params& NullableInt64(std::optional<int64_t> v) {
    if (v.has_value()) return Int64(*v);
    return Add(kInt8Oid, std::nullopt);
  }
  Params& Text(std::string_view v) { return Add(kTextOid, std::string(v)); }
  Params& Bytea(std::string_view v) { return Add(kByteaOid, std::string(v)); }

  int size() const { return static_cast<int>(types_.size()); }
  const std::vector<Oid>& types() const { return types_; }
  const std::vector<std::optional<std::string>>& values() const { return values_; }

 private:
  Params& Add(Oid type, std::optional<std::string> value) {
    types_.push_back(type);
    values_.push_back(std::move(value));
    return *this;
  }

  std::vector<Oid> types_;
  std::vector<std::optional<std::string>> values_;
};

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

std::string ConnectionError(PGconn* conn) {
  if (conn == nullptr) return "out of memory";
  // libpq's connection errors name the host, port, user and database, never the password.
  return OneLine(PQerrorMessage(conn));
}

struct ConnectSettings {
  std::string dsn;
  int connect_timeout_seconds = 10;
};

absl::StatusOr<ConnPtr> Connect(const ConnectSettings& settings) {
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
  ConnPtr conn(PQconnectdbParams(keywords, values, /*expand_dbname=*/1));
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

// One use of a connection by one call; records whether the connection was lost and whether a
// COMMIT was sent (after which the outcome of a lost connection is unknown).
class Session {
 public:
  explicit Session(PGconn* conn) : conn_(conn) {}

  // Results come back in binary format.
  absl::StatusOr<Result> Exec(absl::string_view what, const char* sql,
                              const Params& params = Params()) {
    std::vector<const char*> values;
    std::vector<int> lengths;
    std::vector<int> formats(params.size(), 1);
    for (const std::optional<std::string>& v : params.values()) {
      values.push_back(v.has_value() ? v->data() : nullptr);
      lengths.push_back(v.has_value() ? static_cast<int>(v->size()) : 0);
    }
    Result result(PQexecParams(conn_, sql, params.size(), params.types().data(), values.data(),
                               lengths.data(), formats.data(), /*resultFormat=*/1));
    const ExecStatusType status =
        result == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(result.get());
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return result;
    return ErrorStatus(conn_, result.get(), what, &lost_);
  }

  absl::Status Command(absl::string_view what, const char* sql, const Params& params = Params()) {
    return Exec(what, sql, params).status();
  }

  absl::Status Begin(const char* sql = "BEGIN") {
    absl::Status status = Command("BEGIN", sql);
    if (status.ok()) in_transaction_ = true;
    return status;
  }

  absl::Status Commit() {
    commit_sent_ = true;
    absl::Status status = Command("COMMIT", "COMMIT");
    if (status.ok()) in_transaction_ = false;
    return status;
  }

  // Best effort: a failed ROLLBACK means the connection is gone, and with it the transaction.
  void Rollback() {
    if (!in_transaction_ || lost_) return;
    (void)Command("ROLLBACK", "ROLLBACK");
    in_transaction_ = false;
  }

  bool lost() const { return lost_; }
  bool commit_sent() const { return commit_sent_; }

 private:
  PGconn* conn_;
  bool lost_ = false;
  bool in_transaction_ = false;
  bool commit_sent_ = false;
};

// Binary result fields.
bool IsNull(const PGresult* r, int row, int col) { return PQgetisnull(r, row, col) != 0; }

std::string Bytes(const PGresult* r, int row, int col) {
  return std::string(PQgetvalue(r, row, col), PQgetlength(r, row, col));
}

absl::StatusOr<uint64_t> BigEndian(const PGresult* r, int row, int col, int size) {
  if (IsNull(r, row, col) || PQgetlength(r, row, col) != size) {
    return absl::InternalError(
        absl::StrCat("PostgreSQL returned an unexpected value in column ", PQfname(r, col)));
  }
  const auto* bytes = reinterpret_cast<const unsigned char*>(PQgetvalue(r, row, col));
  uint64_t v = 0;
  for (int i = 0; i < size; ++i) v = (v << 8) | bytes[i];
  return v;
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
  if (IsNull(r, row, col)) return absl::InfinitePast();
  absl::StatusOr<int64_t> micros = Int64Column(r, row, col);
  if (!micros.ok()) return micros.status();
  return FromStoredMicros(*micros);
}

absl::StatusOr<absl::Time> TimeColumn(const PGresult* r, int row, int col) {
  absl::StatusOr<int64_t> micros = Int64Column(r, row, col);
  if (!micros.ok()) return micros.status();
  return FromStoredMicros(*micros);
}

// ---------------------------------------------------------------------------------------------
// Rows.

constexpr char kSelectKeys[] =
    "SELECT kid, algorithm, state, created_at, activated_at, retired_at, revoked_at, "
    "revoke_reason, public_jwk, sealed_private, mac FROM keys ORDER BY kid";

absl::StatusOr<std::vector<KeyRecord>> ReadKeys(Session& session) {
  absl::StatusOr<Result> result = session.Exec("reading the keys", kSelectKeys);
  if (!result.ok()) return result.status();
  const PGresult* r = result->get();
  std::vector<KeyRecord> keys;
  keys.reserve(PQntuples(r));
  for (int row = 0; row < PQntuples(r); ++row) {
    KeyRecord key;
    key.kid = Bytes(r, row, 0);
    absl::StatusOr<int32_t> algorithm = Int32Column(r, row, 1);
    if (!algorithm.ok()) return algorithm.status();
    if (!internal::IsKnownAlgorithm(*algorithm)) {
      return absl::DataLossError(
          absl::StrCat("key ", key.kid, " has an unknown algorithm ", *algorithm));
    }
    key.algorithm = static_cast<Algorithm>(*algorithm);
    absl::StatusOr<int32_t> state = Int32Column(r, row, 2);
    if (!state.ok()) return state.status();
    if (!internal::IsKnownKeyState(*state)) {
      return absl::DataLossError(absl::StrCat("key ", key.kid, " has an unknown state ", *state));
    }
    key.state = static_cast<KeyState>(*state);
    absl::Time* times[] = {&key.created_at, &key.activated_at, &key.retired_at, &key.revoked_at};
    for (int i = 0; i < 4; ++i) {
      absl::StatusOr<absl::Time> t = NullableTimeColumn(r, row, 3 + i);
      if (!t.ok()) return t.status();
      *times[i] = *t;
    }
    key.revoke_reason = Bytes(r, row, 7);
    key.public_jwk = Bytes(r, row, 8);
    key.sealed_private = Bytes(r, row, 9);
    key.mac = Bytes(r, row, 10);
    keys.push_back(std::move(key));
  }
  return keys;
}

absl::StatusOr<std::vector<TokenRevocationRecord>> ReadTokenRevocations(Session& session) {
  absl::StatusOr<Result> result =
      session.Exec("reading the token revocations",
                   "SELECT token_id, expires_at FROM token_revocations ORDER BY token_id");
  if (!result.ok()) return result.status();
  const PGresult* r = result->get();
  std::vector<TokenRevocationRecord> records;
  records.reserve(PQntuples(r));
  for (int row = 0; row < PQntuples(r); ++row) {
    absl::StatusOr<absl::Time> expires_at = TimeColumn(r, row, 1);
    if (!expires_at.ok()) return expires_at.status();
    records.push_back({Bytes(r, row, 0), *expires_at});
  }
  return records;
}

absl::StatusOr<std::vector<SubjectRevocationRecord>> ReadSubjectRevocations(Session& session) {
  absl::StatusOr<Result> result = session.Exec(
      "reading the subject revocations",
      "SELECT subject, not_before, expires_at FROM subject_revocations ORDER BY subject");
  if (!result.ok()) return result.status();
  const PGresult* r = result->get();
  std::vector<SubjectRevocationRecord> records;
  records.reserve(PQntuples(r));
  for (int row = 0; row < PQntuples(r); ++row) {
    absl::StatusOr<absl::Time> not_before = TimeColumn(r, row, 1);
    if (!not_before.ok()) return not_before.status();
    absl::StatusOr<absl::Time> expires_at = TimeColumn(r, row, 2);
    if (!expires_at.ok()) return expires_at.status();
    records.push_back({Bytes(r, row, 0), *not_before, *expires_at});
  }
  return records;
}

absl::Status WriteKey(Session& session, const KeyRecord& key) {
  Params params;
  params.Text(key.kid)
      .Int32(static_cast<int32_t>(key.algorithm))
      .Int32(static_cast<int32_t>(key.state))
      .NullableInt64(ToNullableMicros(key.created_at))
      .NullableInt64(ToNullableMicros(key.activated_at))
      .NullableInt64(ToNullableMicros(key.retired_at))
      .NullableInt64(ToNullableMicros(key.revoked_at))
      .Text(key.revoke_reason)
      .Text(key.public_jwk)
      .Bytea(key.sealed_private)
      .Bytea(key.mac);
  return session.Command(
      "writing a key",
      "INSERT INTO keys (kid, algorithm, state, created_at, activated_at, retired_at, revoked_at, "
      "revoke_reason, public_jwk, sealed_private, mac) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
      "ON CONFLICT (kid) DO UPDATE SET algorithm = EXCLUDED.algorithm, state = EXCLUDED.state, "
      "created_at = EXCLUDED.created_at, activated_at = EXCLUDED.activated_at, "
      "retired_at = EXCLUDED.retired_at, revoked_at = EXCLUDED.revoked_at, "
      "revoke_reason = EXCLUDED.revoke_reason, public_jwk = EXCLUDED.public_jwk, "
      "sealed_private = EXCLUDED.sealed_private, mac = EXCLUDED.mac",
      params);
}

// ---------------------------------------------------------------------------------------------
// NOTIFY payloads: {"kind":"keys"}, {"kind":"token_revocation","token_id":...,"expires_at":...},
// {"kind":"subject_revocation","subject":...,"not_before":...,"expires_at":...}; times in
// microseconds since the Unix epoch.

std::string FitPayload(const rapidjson::StringBuffer& buffer) {
  if (buffer.GetSize() > kMaxPayloadBytes) return kReloadPayload;
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string TokenPayload(const TokenRevocationRecord& record) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.StartObject();
  writer.Key("kind");
  writer.String("token_revocation");
  writer.Key("token_id");
  writer.String(record.token_id.data(), static_cast<rapidjson::SizeType>(record.token_id.size()));
  writer.Key("expires_at");
  writer.Int64(ToStoredMicros(record.expires_at));
  writer.EndObject();
  return FitPayload(buffer);
}

std::string SubjectPayload(const SubjectRevocationRecord& record) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.StartObject();
  writer.Key("kind");
  writer.String("subject_revocation");
  writer.Key("subject");
  writer.String(record.subject.data(), static_cast<rapidjson::SizeType>(record.subject.size()));
  writer.Key("not_before");
  writer.Int64(ToStoredMicros(record.not_before));
  writer.Key("expires_at");
  writer.Int64(ToStoredMicros(record.expires_at));
  writer.EndObject();
  return FitPayload(buffer);
}

std::optional<std::string> StringMember(const rapidjson::Value& object, const char* name) {
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsString()) return std::nullopt;
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

std::optional<absl::Time> TimeMember(const rapidjson::Value& object, const char* name) {
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsInt64()) return std::nullopt;
  return FromStoredMicros(it->value.GetInt64());
}

StoreChange ParseChange(std::string_view payload) {
  StoreChange unknown;
  rapidjson::Document doc;
  doc.Parse(payload.data(), payload.size());
  if (doc.HasParseError() || !doc.IsObject()) return unknown;
  std::optional<std::string> kind = StringMember(doc, "kind");
  if (!kind.has_value()) return unknown;
  StoreChange change;
  if (*kind == "keys") {
    change.kind = StoreChange::Kind::kKeys;
    return change;
  }
  if (*kind == "token_revocation") {
    std::optional<std::string> token_id = StringMember(doc, "token_id");
    std::optional<absl::Time> expires_at = TimeMember(doc, "expires_at");
    if (!token_id.has_value() || !expires_at.has_value()) return unknown;
    change.kind = StoreChange::Kind::kTokenRevocation;
    change.token = TokenRevocationRecord{*std::move(token_id), *expires_at};
    return change;
  }
  if (*kind == "subject_revocation") {
    std::optional<std::string> subject = StringMember(doc, "subject");
    std::optional<absl::Time> not_before = TimeMember(doc, "not_before");
    std::optional<absl::Time> expires_at = TimeMember(doc, "expires_at");
    if (!subject.has_value() || !not_before.has_value() || !expires_at.has_value()) {
      return unknown;
    }
    change.kind = StoreChange::Kind::kSubjectRevocation;
    change.subject = SubjectRevocationRecord{*std::move(subject), *not_before, *expires_at};
    return change;
  }
  return unknown;
}

int PollMillis(absl::Duration d) {
  const int64_t ms = absl::ToInt64Milliseconds(absl::Ceil(d, absl::Milliseconds(1)));
  return static_cast<int>(std::clamp<int64_t>(ms, 0, std::numeric_limits<int>::max()));
}

// ---------------------------------------------------------------------------------------------

class PostgresStore final : public Store {
 public:
  PostgresStore(ConnectSettings settings, PostgresStoreOptions options, ConnPtr conn,
                int wake_read_fd, int wake_write_fd)
      : settings_(std::move(settings)),
        options_(std::move(options)),
        conn_(std::move(conn)),
        wake_read_fd_(wake_read_fd),
        wake_write_fd_(wake_write_fd) {}

  ~PostgresStore() override {
    stopping_.store(true);
    const char byte = 1;
    // Wakes the listener thread at once; the poll timeout is the fallback.
    (void)!write(wake_write_fd_, &byte, 1);
    if (listener_thread_.joinable()) listener_thread_.join();
    close(wake_read_fd_);
    close(wake_write_fd_);
  }

  absl::Status Migrate() {
    absl::MutexLock lock(&mu_);
    Session session(conn_.get());
    absl::Status status =
        session.Command("taking the migration lock", "SELECT pg_advisory_lock($1)",
                        Params().Int64(kMigrationLockKey));
    if (!status.ok()) return status;
    status = MigrateLocked(session);
    if (!session.lost()) {
      absl::Status unlocked =
          session.Command("releasing the migration lock", "SELECT pg_advisory_unlock($1)",
                          Params().Int64(kMigrationLockKey));
      if (status.ok()) status = unlocked;
    }
    return status;
  }

  absl::StatusOr<StoreSnapshot> Load() override {
    return Run<StoreSnapshot>(
        /*idempotent=*/true, [](Session& session) -> absl::StatusOr<StoreSnapshot> {
          // One snapshot of all three tables.
          absl::Status status = session.Begin("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
          if (!status.ok()) return status;
          StoreSnapshot snapshot;
          absl::StatusOr<std::vector<KeyRecord>> keys = ReadKeys(session);
          if (!keys.ok()) return keys.status();
          snapshot.keys = *std::move(keys);
          absl::StatusOr<std::vector<TokenRevocationRecord>> tokens = ReadTokenRevocations(session);
          if (!tokens.ok()) return tokens.status();
          snapshot.token_revocations = *std::move(tokens);
          absl::StatusOr<std::vector<SubjectRevocationRecord>> subjects =
              ReadSubjectRevocations(session);
          if (!subjects.ok()) return subjects.status();
          snapshot.subject_revocations = *std::move(subjects);
          status = session.Commit();
          if (!status.ok()) return status;
          return snapshot;
        });
  }

  absl::StatusOr<std::vector<KeyRecord>> LoadKeys() override {
    return Run<std::vector<KeyRecord>>(/*idempotent=*/true,
                                       [](Session& session) { return ReadKeys(session); });
  }

  absl::StatusOr<std::vector<KeyRecord>> UpdateKeys(const KeyDecision& decide) override {
    const std::string& channel = options_.channel;
    // Not idempotent once COMMIT is sent; before that, a lost connection rolled the transaction
    // back and `decide` (pure) may run again on a fresh one.
    return Run<std::vector<KeyRecord>>(
        /*idempotent=*/false,
        [&decide, &channel](Session& session) -> absl::StatusOr<std::vector<KeyRecord>> {
          absl::Status status = session.Begin();
          if (!status.ok()) return status;
          // Excludes every other UpdateKeys on this database until COMMIT or ROLLBACK.
          status = session.Command("taking the key lock", "SELECT pg_advisory_xact_lock($1)",
                                   Params().Int64(kKeysLockKey));
          if (!status.ok()) return status;
          absl::StatusOr<std::vector<KeyRecord>> current = ReadKeys(session);
          if (!current.ok()) return current.status();
          absl::StatusOr<KeyChanges> changes = decide(*current);
          if (!changes.ok()) return changes.status();
          if (changes->upserts.empty() && changes->deletes.empty()) {
            status = session.Commit();
            if (!status.ok()) return status;
            return current;
          }
          status = internal::CheckKeyChanges(*changes);
          if (!status.ok()) return status;
          for (const std::string& kid : changes->deletes) {
            status = session.Command("deleting a key", "DELETE FROM keys WHERE kid = $1",
                                     Params().Text(kid));
            if (!status.ok()) return status;
          }
          // The one-ACTIVE index is checked row by row: demote before promoting.
          std::vector<const KeyRecord*> upserts;
          for (const KeyRecord& key : changes->upserts) upserts.push_back(&key);
          std::stable_partition(upserts.begin(), upserts.end(), [](const KeyRecord* key) {
            return key->state != KeyState::kActive;
          });
          for (const KeyRecord* key : upserts) {
            status = WriteKey(session, *key);
            if (!status.ok()) return status;
          }
          status = session.Command("notifying the replicas", "SELECT pg_notify($1, $2)",
                                   Params().Text(channel).Text(kKeysPayload));
          if (!status.ok()) return status;
          absl::StatusOr<std::vector<KeyRecord>> after = ReadKeys(session);
          if (!after.ok()) return after.status();
          status = session.Commit();
          if (!status.ok()) return status;
          return after;
        });
  }

  absl::Status AddTokenRevocation(const TokenRevocationRecord& record) override {
    if (absl::Status status = internal::CheckRevocation(record); !status.ok()) return status;
    return UpsertAndNotify(
        "revoking a token",
        "INSERT INTO token_revocations (token_id, expires_at) VALUES ($1, $2) "
        "ON CONFLICT (token_id) DO UPDATE SET expires_at = "
        "GREATEST(token_revocations.expires_at, EXCLUDED.expires_at) "
        "RETURNING expires_at",
        Params().Text(record.token_id).Int64(ToStoredMicros(record.expires_at)),
        [&record](PGresult* stored) -> absl::StatusOr<std::string> {
          absl::StatusOr<absl::Time> expires_at = TimeColumn(stored, 0, 0);
          if (!expires_at.ok()) return expires_at.status();
          return TokenPayload(TokenRevocationRecord{record.token_id, *expires_at});
        });
  }

  absl::Status AddSubjectRevocation(const SubjectRevocationRecord& record) override {
    if (absl::Status status = internal::CheckRevocation(record); !status.ok()) return status;
    return UpsertAndNotify(
        "revoking a subject",
        "INSERT INTO subject_revocations (subject, not_before, expires_at) "
        "VALUES ($1, $2, $3) ON CONFLICT (subject) DO UPDATE SET "
        "not_before = GREATEST(subject_revocations.not_before, EXCLUDED.not_before), "
        "expires_at = GREATEST(subject_revocations.expires_at, EXCLUDED.expires_at) "
        "RETURNING not_before, expires_at",
        Params()
            .Text(record.subject)
            .Int64(ToStoredMicros(record.not_before))
            .Int64(ToStoredMicros(record.expires_at)),
        [&record](PGresult* stored) -> absl::StatusOr<std::string> {
          absl::StatusOr<absl::Time> not_before = TimeColumn(stored, 0, 0);
          if (!not_before.ok()) return not_before.status();
          absl::StatusOr<absl::Time> expires_at = TimeColumn(stored, 0, 1);
          if (!expires_at.ok()) return expires_at.status();
          return SubjectPayload(SubjectRevocationRecord{record.subject, *not_before, *expires_at});
        });
  }

  int schema_version() const override { return LatestSchemaVersion(); }

  absl::Status PruneRevocations(absl::Time now) override {
    // Every replica prunes by the same rule on its own: no notification.
    return Run<bool>(
               /*idempotent=*/true,
               [now](Session& session) -> absl::StatusOr<bool> {
                 absl::Status status = session.Begin();
                 if (!status.ok()) return status;
                 status = session.Command("pruning token revocations",
                                          "DELETE FROM token_revocations WHERE expires_at <= $1",
                                          Params().Int64(ToStoredMicros(now)));
                 if (!status.ok()) return status;
                 status = session.Command("pruning subject revocations",
                                          "DELETE FROM subject_revocations WHERE expires_at <= $1",
                                          Params().Int64(ToStoredMicros(now)));
                 if (!status.ok()) return status;
                 status = session.Commit();
                 if (!status.ok()) return status;
                 return true;
               })
        .status();
  }

  void SetChangeListener(std::function<void(const StoreChange&)> listener) override {
    // Deliver() calls the listener under this lock: once it is taken, no call of the previous
    // listener is in progress, and none starts after it is replaced.
    absl::MutexLock lock(&listener_mu_);
    listener_ = std::move(listener);
    // Nothing to deliver to (such as a listener cleared before it was ever set): no connection.
    if (listener_thread_.joinable() || !listener_) return;
    // LISTEN before returning, so that every change committed after this call is heard. When this
    // first attempt fails, the thread retries and reports kUnknown once it is connected.
    absl::StatusOr<ConnPtr> conn = ConnectAndListen();
    listener_thread_ =
        std::thread([this, initial = conn.ok() ? *std::move(conn) : nullptr]() mutable {
          ListenLoop(std::move(initial));
        });
  }

 private:
  // One revocation upsert and its NOTIFY in one transaction. Receivers get the row as stored
  // (`payload` builds it from the RETURNING row), so they may replace rather than merge.
  absl::Status UpsertAndNotify(
      const char* what, const char* sql, const Params& params,
      const std::function<absl::StatusOr<std::string>(PGresult*)>& payload) {
    const std::string& channel = options_.channel;
    return Run<bool>(/*idempotent=*/true,
                     [&](Session& session) -> absl::StatusOr<bool> {
                       absl::Status status = session.Begin();
                       if (!status.ok()) return status;
                       absl::StatusOr<Result> stored = session.Exec(what, sql, params);
                       if (!stored.ok()) return stored.status();
                       absl::StatusOr<std::string> message = payload(stored->get());
                       if (!message.ok()) return message.status();
                       status =
                           session.Command("notifying the replicas", "SELECT pg_notify($1, $2)",
                                           Params().Text(channel).Text(*message));
                       if (!status.ok()) return status;
                       status = session.Commit();
                       if (!status.ok()) return status;
                       return true;
                     })
        .status();
  }
  absl::Status MigrateLocked(Session& session) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    absl::Status status =
        session.Command("creating the schema_version table",
                        "CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY, "
                        "applied_at timestamptz NOT NULL DEFAULT now())");
    if (!status.ok()) return status;
    absl::StatusOr<Result> result = session.Exec(
        "reading the schema version", "SELECT COALESCE(max(version), 0) FROM schema_version");
    if (!result.ok()) return result.status();
    absl::StatusOr<int32_t> current = Int32Column(result->get(), 0, 0);
    if (!current.ok()) return current.status();
    if (*current > LatestSchemaVersion()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the PostgreSQL schema is version ", *current, ", newer than this signet knows (",
          LatestSchemaVersion(), "): upgrade signet"));
    }
    for (const Migration& migration : Migrations()) {
      if (migration.version <= *current) continue;
      const std::string what = absl::StrCat("applying schema migration ", migration.version);
      status = session.Begin();
      for (const char* statement : migration.statements) {
        if (!status.ok()) break;
        status = session.Command(what, statement);
      }
      if (status.ok()) {
        status = session.Command(what, "INSERT INTO schema_version (version) VALUES ($1)",
                                 Params().Int32(migration.version));
      }
      if (status.ok()) status = session.Commit();
      if (!status.ok()) {
        session.Rollback();
        return status;
      }
    }
    return absl::OkStatus();
  }

  // Runs `body` on the connection: reconnects first when the connection was lost, and retries
  // once on a fresh connection when it is lost during `body`, unless `body` is not idempotent
  // and had sent COMMIT (the outcome is then unknown). Rolls back what `body` left open.
  template <typename T, typename Body>
  absl::StatusOr<T> Run(bool idempotent, const Body& body) {
    absl::MutexLock lock(&mu_);
    for (int attempt = 0;; ++attempt) {
      absl::Status status = EnsureConnectedLocked();
      if (!status.ok()) return status;
      Session session(conn_.get());
      absl::StatusOr<T> result = body(session);
      if (result.ok()) return result;
      if (!session.lost()) {
        session.Rollback();
        return result;
      }
      broken_ = true;
      if (!idempotent && session.commit_sent()) {
        return absl::UnavailableError(absl::StrCat(result.status().message(),
                                                   " (whether the change was committed is "
                                                   "unknown)"));
      }
      if (attempt > 0) return result;
    }
  }

  absl::Status EnsureConnectedLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (broken_ || PQstatus(conn_.get()) != CONNECTION_OK) {
      if (options_.clock->Now() < retry_connect_after_) {
        return absl::UnavailableError(absl::StrCat(
            "PostgreSQL is unreachable (the last connection attempt failed less than ",
            absl::FormatDuration(options_.reconnect_fail_fast), " ago): ", last_connect_error_));
      }
      PQreset(conn_.get());
      if (PQstatus(conn_.get()) != CONNECTION_OK) {
        broken_ = true;
        last_connect_error_ = ConnectionError(conn_.get());
        // From the end of the attempt, which may itself have taken connect_timeout.
        retry_connect_after_ = options_.clock->Now() + options_.reconnect_fail_fast;
        return absl::UnavailableError(
            absl::StrCat("cannot reconnect to PostgreSQL: ", last_connect_error_));
      }
      broken_ = false;
      retry_connect_after_ = absl::InfinitePast();
    }
    if (PQtransactionStatus(conn_.get()) != PQTRANS_IDLE) {
      // Never expected; a transaction left open by a failed call would see stale data.
      Session session(conn_.get());
      absl::Status status = session.Command("ROLLBACK", "ROLLBACK");
      if (!status.ok()) {
        broken_ = session.lost();
        return status;
      }
    }
    return absl::OkStatus();
  }

  absl::StatusOr<ConnPtr> ConnectAndListen() {
    absl::StatusOr<ConnPtr> conn = Connect(settings_);
    if (!conn.ok()) return conn.status();
    // LISTEN takes an identifier, not a parameter: libpq quotes it.
    char* quoted =
        PQescapeIdentifier(conn->get(), options_.channel.data(), options_.channel.size());
    if (quoted == nullptr) {
      return absl::InternalError(
          absl::StrCat("cannot quote the channel name: ", ConnectionError(conn->get())));
    }
    const std::string sql = absl::StrCat("LISTEN ", quoted);
    PQfreemem(quoted);
    Session session(conn->get());
    absl::Status status = session.Command("LISTEN", sql.c_str());
    if (!status.ok()) return status;
    // PQconsumeInput must not block when more arrives than poll() announced.
    if (PQsetnonblocking(conn->get(), 1) != 0) {
      return absl::UnavailableError(absl::StrCat(
          "cannot make the listener connection non-blocking: ", ConnectionError(conn->get())));
    }
    return conn;
  }

  // Calls the listener under listener_mu_, so that SetChangeListener waits for it to return.
  void Deliver(const StoreChange& change) {
    absl::MutexLock lock(&listener_mu_);
    if (listener_) listener_(change);
  }

  // Waits for `timeout` or until the destructor wakes the thread.
  void Sleep(absl::Duration timeout) {
    pollfd wake = {wake_read_fd_, POLLIN, 0};
    (void)poll(&wake, 1, PollMillis(timeout));
  }

  void ListenLoop(ConnPtr conn) {
    absl::Duration backoff = options_.reconnect_min_backoff;
    // The first connection was made by SetChangeListener before any change it must report; any
    // later one follows a gap in which notifications may have been lost.
    bool report_reconnect = conn == nullptr;
    while (!stopping_.load()) {
      if (conn == nullptr) {
        absl::StatusOr<ConnPtr> fresh = ConnectAndListen();
        if (!fresh.ok()) {
          Sleep(backoff);
          backoff = std::min(backoff * 2, options_.reconnect_max_backoff);
          continue;
        }
        conn = *std::move(fresh);
        backoff = options_.reconnect_min_backoff;
        if (report_reconnect) Deliver(StoreChange{});
      }
      report_reconnect = true;

      pollfd fds[2] = {{PQsocket(conn.get()), POLLIN, 0}, {wake_read_fd_, POLLIN, 0}};
      const int ready = poll(fds, 2, PollMillis(options_.listener_poll_interval));
      if (stopping_.load()) break;
      if (ready < 0) {
        if (errno != EINTR) Sleep(options_.reconnect_min_backoff);
        continue;
      }
      if (fds[0].revents == 0) continue;
      if (PQconsumeInput(conn.get()) == 0) {
        conn.reset();
        continue;
      }
      while (PGnotify* notify = PQnotifies(conn.get())) {
        const StoreChange change = ParseChange(notify->extra == nullptr ? "" : notify->extra);
        PQfreemem(notify);
        Deliver(change);
      }
      if (PQstatus(conn.get()) != CONNECTION_OK) conn.reset();
    }
  }

  const ConnectSettings settings_;
  const PostgresStoreOptions options_;

  absl::Mutex mu_;
  // Reads and writes; calls are serialized on it.
  ConnPtr conn_ ABSL_GUARDED_BY(mu_);
  // The connection was lost: reset it before the next use.
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  // After a failed reconnection: calls before this time fail at once with last_connect_error_.
  absl::Time retry_connect_after_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::string last_connect_error_ ABSL_GUARDED_BY(mu_);

  // Held while the listener runs (see Deliver).
  absl::Mutex listener_mu_;
  std::function<void(const StoreChange&)> listener_ ABSL_GUARDED_BY(listener_mu_);
  // Started by the first SetChangeListener; joined by the destructor.
  std::thread listener_thread_;
  std::atomic<bool> stopping_{false};
  // A pipe whose write end wakes the listener thread.
  const int wake_read_fd_;
  const int wake_write_fd_;
};

absl::Status ValidateOptions(const PostgresStoreOptions& options) {
  if (options.channel.empty() || options.channel.size() > 63) {
    return absl::InvalidArgumentError("the NOTIFY channel name must have 1 to 63 bytes");
  }
  if (options.channel.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError("the NOTIFY channel name contains a NUL byte");
  }
  if (options.connect_timeout < absl::Seconds(1)) {
    return absl::InvalidArgumentError("connect_timeout must be at least 1 s");
  }
  if (options.reconnect_min_backoff <= absl::ZeroDuration() ||
      options.reconnect_max_backoff < options.reconnect_min_backoff) {
    return absl::InvalidArgumentError(
        "reconnect backoff bounds must satisfy 0 < reconnect_min_backoff <= "
        "reconnect_max_backoff");
  }
  if (options.listener_poll_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("listener_poll_interval must be positive");
  }
  if (options.reconnect_fail_fast < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("reconnect_fail_fast must not be negative");
  }
  if (options.clock == nullptr) return absl::InvalidArgumentError("clock must not be null");
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> OpenPostgresStore(const std::string& dsn,
                                                         PostgresStoreOptions options) {
  absl::Status status = ValidateOptions(options);
  if (!status.ok()) return status;
  // libpq's parse errors quote pieces of the DSN, which may be a password: say only that it is
  // malformed.
  char* parse_error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(dsn.c_str(), &parse_error);
  if (parse_error != nullptr) PQfreemem(parse_error);
  if (parsed == nullptr) {
    return absl::InvalidArgumentError("the PostgreSQL DSN is malformed");
  }
  PQconninfoFree(parsed);

  ConnectSettings settings;
  settings.dsn = dsn;
  settings.connect_timeout_seconds = static_cast<int>(std::max<int64_t>(
      2, absl::ToInt64Seconds(absl::Ceil(options.connect_timeout, absl::Seconds(1)))));
  absl::StatusOr<ConnPtr> conn = Connect(settings);
  if (!conn.ok()) return conn.status();

  int wake[2];
  if (pipe2(wake, O_CLOEXEC | O_NONBLOCK) != 0) {
    return absl::ErrnoToStatus(errno, "cannot create the listener's wake-up pipe");
  }
  auto store = std::make_unique<PostgresStore>(std::move(settings), std::move(options),
                                               *std::move(conn), wake[0], wake[1]);
  status = store->Migrate();
  if (!status.ok()) return status;
  return store;
}

absl::StatusOr<std::string> ReadDsnFile(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rbe"), &std::fclose);
  if (file == nullptr) {
    return absl::ErrnoToStatus(errno, absl::StrCat("cannot open the DSN file ", path));
  }
  std::string dsn;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), file.get())) > 0) {
    dsn.append(buffer, n);
    if (dsn.size() > kMaxDsnFileBytes) {
      return absl::InvalidArgumentError(absl::StrCat("the DSN file ", path, " is too large"));
    }
  }
  if (std::ferror(file.get())) {
    return absl::ErrnoToStatus(errno, absl::StrCat("cannot read the DSN file ", path));
  }
  while (!dsn.empty() && (dsn.back() == '\n' || dsn.back() == '\r')) dsn.pop_back();
  if (dsn.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("the DSN file ", path, " is empty"));
  }
  return dsn;
}

}  // namespace signet::server
