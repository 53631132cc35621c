#include "server/store/internal/pg_schema.h"

#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "server/store/internal/store_rules.h"

namespace signet::server::internal {
namespace {

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

// Key times that mean "never" (absl::InfinitePast()) are NULL.
std::optional<int64_t> ToNullableMicros(absl::Time t) {
  if (t == absl::InfinitePast()) return std::nullopt;
  return ToStoredMicros(t);
}

}  // namespace

int LatestSchemaVersion() { return Migrations().back().version; }

absl::Status MigrateSchema(Session& session) {
  absl::Status status =
      session.Command("creating the schema_version table",
                      "CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY, "
                      "applied_at timestamptz NOT NULL DEFAULT now())");
  if (!status.ok()) return status;
  absl::StatusOr<PgResultPtr> result = session.Exec(
      "reading the schema version", "SELECT COALESCE(max(version), 0) FROM schema_version");
  if (!result.ok()) return result.status();
  absl::StatusOr<int32_t> current = Int32Column(result->get(), 0, 0);
  if (!current.ok()) return current.status();
  if (*current > LatestSchemaVersion()) {
    return absl::FailedPreconditionError(absl::StrCat("the PostgreSQL schema is version ", *current,
                                                      ", newer than this signet knows (",
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

constexpr char kSelectKeys[] =
    "SELECT kid, algorithm, state, created_at, activated_at, retired_at, revoked_at, "
    "revoke_reason, public_jwk, sealed_private, mac FROM keys ORDER BY kid";

absl::StatusOr<std::vector<KeyRecord>> ReadKeys(Session& session) {
  absl::StatusOr<PgResultPtr> result = session.Exec("reading the keys", kSelectKeys);
  if (!result.ok()) return result.status();
  const PGresult* r = result->get();
  std::vector<KeyRecord> keys;
  keys.reserve(PQntuples(r));
  for (int row = 0; row < PQntuples(r); ++row) {
    KeyRecord key;
    key.kid = BytesColumn(r, row, 0);
    absl::StatusOr<int32_t> algorithm = Int32Column(r, row, 1);
    if (!algorithm.ok()) return algorithm.status();
    if (!IsKnownAlgorithm(*algorithm)) {
      return absl::DataLossError(
          absl::StrCat("key ", key.kid, " has an unknown algorithm ", *algorithm));
    }
    key.algorithm = static_cast<Algorithm>(*algorithm);
    absl::StatusOr<int32_t> state = Int32Column(r, row, 2);
    if (!state.ok()) return state.status();
    if (!IsKnownKeyState(*state)) {
      return absl::DataLossError(absl::StrCat("key ", key.kid, " has an unknown state ", *state));
    }
    key.state = static_cast<KeyState>(*state);
    absl::Time* times[] = {&key.created_at, &key.activated_at, &key.retired_at, &key.revoked_at};
    for (int i = 0; i < 4; ++i) {
      absl::StatusOr<absl::Time> t = NullableTimeColumn(r, row, 3 + i);
      if (!t.ok()) return t.status();
      *times[i] = *t;
    }
    key.revoke_reason = BytesColumn(r, row, 7);
    key.public_jwk = BytesColumn(r, row, 8);
    key.sealed_private = BytesColumn(r, row, 9);
    key.mac = BytesColumn(r, row, 10);
    keys.push_back(std::move(key));
  }
  return keys;
}

absl::StatusOr<std::vector<TokenRevocationRecord>> ReadTokenRevocations(Session& session) {
  absl::StatusOr<PgResultPtr> result =
      session.Exec("reading the token revocations",
                   "SELECT token_id, expires_at FROM token_revocations ORDER BY token_id");
  if (!result.ok()) return result.status();
  const PGresult* r = result->get();
  std::vector<TokenRevocationRecord> records;
  records.reserve(PQntuples(r));
  for (int row = 0; row < PQntuples(r); ++row) {
    absl::StatusOr<absl::Time> expires_at = TimeColumn(r, row, 1);
    if (!expires_at.ok()) return expires_at.status();
    records.push_back({BytesColumn(r, row, 0), *expires_at});
  }
  return records;
}

absl::StatusOr<std::vector<SubjectRevocationRecord>> ReadSubjectRevocations(Session& session) {
  absl::StatusOr<PgResultPtr> result = session.Exec(
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
    records.push_back({BytesColumn(r, row, 0), *not_before, *expires_at});
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

}  // namespace signet::server::internal
