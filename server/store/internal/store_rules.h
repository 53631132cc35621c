// Rules every Store implementation shares, so the memory store behaves exactly like SQLite.
#ifndef SIGNET_SERVER_STORE_INTERNAL_STORE_RULES_H_
#define SIGNET_SERVER_STORE_INTERNAL_STORE_RULES_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "server/store/store.h"

namespace signet::server::internal {

// Stores keep times as integer microseconds since the Unix epoch; the infinities map to the ends of
// the int64 range so they survive a round trip and still order correctly in SQL.
int64_t ToStoredMicros(absl::Time t);
absl::Time FromStoredMicros(int64_t micros);

// What a time reads back as once stored: rounded down to the microsecond.
inline absl::Time StoredTime(absl::Time t) { return FromStoredMicros(ToStoredMicros(t)); }

// `record` with every time as it reads back once stored.
KeyRecord Stored(KeyRecord record);
TokenRevocationRecord Stored(TokenRevocationRecord record);
SubjectRevocationRecord Stored(SubjectRevocationRecord record);

// InvalidArgument for a change set no store can apply unambiguously: an empty kid, an unknown
// algorithm or state, a kid upserted twice, or a kid both upserted and deleted.
absl::Status CheckKeyChanges(const KeyChanges& changes);

// InvalidArgument for an empty token id / subject.
absl::Status CheckRevocation(const TokenRevocationRecord& record);
absl::Status CheckRevocation(const SubjectRevocationRecord& record);

bool IsKnownAlgorithm(int64_t value);
bool IsKnownKeyState(int64_t value);

}  // namespace signet::server::internal

#endif  // SIGNET_SERVER_STORE_INTERNAL_STORE_RULES_H_
