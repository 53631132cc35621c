// The PostgreSQL store's tables: the schema migrations and how rows map to records.
//
// Example:
//   Session session(conn);
//   absl::Status migrated = MigrateSchema(session);  // under the migration advisory lock
//   absl::StatusOr<std::vector<KeyRecord>> keys = ReadKeys(session);
#ifndef SIGNET_SERVER_STORE_INTERNAL_PG_SCHEMA_H_
#define SIGNET_SERVER_STORE_INTERNAL_PG_SCHEMA_H_

#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/store/internal/pg_session.h"
#include "server/store/store.h"

namespace signet::server::internal {

// The partial unique index that admits at most one ACTIVE key per algorithm.
inline constexpr char kOneActiveIndex[] = "keys_one_active_per_algorithm";

// The schema version this build creates and reads.
int LatestSchemaVersion();

// Brings the schema to LatestSchemaVersion(), one transaction per migration. FAILED_PRECONDITION
// when the database holds a newer schema than this build knows. The caller serializes migrations
// across replicas (an advisory lock).
absl::Status MigrateSchema(Session& session);

absl::StatusOr<std::vector<KeyRecord>> ReadKeys(Session& session);
absl::StatusOr<std::vector<TokenRevocationRecord>> ReadTokenRevocations(Session& session);
absl::StatusOr<std::vector<SubjectRevocationRecord>> ReadSubjectRevocations(Session& session);
// Inserts or replaces the row of `key.kid`.
absl::Status WriteKey(Session& session, const KeyRecord& key);

}  // namespace signet::server::internal

#endif  // SIGNET_SERVER_STORE_INTERNAL_PG_SCHEMA_H_
