#include "server/store/internal/store_rules.h"

#include <limits>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"

namespace signet::server::internal {

int64_t ToStoredMicros(absl::Time t) {
  if (t == absl::InfinitePast()) return std::numeric_limits<int64_t>::min();
  if (t == absl::InfiniteFuture()) return std::numeric_limits<int64_t>::max();
  // Saturates for finite times outside the int64 range, which then read back as infinite.
  return absl::ToUnixMicros(t);
}

absl::Time FromStoredMicros(int64_t micros) {
  if (micros == std::numeric_limits<int64_t>::min()) return absl::InfinitePast();
  if (micros == std::numeric_limits<int64_t>::max()) return absl::InfiniteFuture();
  return absl::FromUnixMicros(micros);
}

KeyRecord Stored(KeyRecord record) {
  record.created_at = StoredTime(record.created_at);
  record.activated_at = StoredTime(record.activated_at);
  record.retired_at = StoredTime(record.retired_at);
  record.revoked_at = StoredTime(record.revoked_at);
  return record;
}

TokenRevocationRecord Stored(TokenRevocationRecord record) {
  record.expires_at = StoredTime(record.expires_at);
  return record;
}

SubjectRevocationRecord Stored(SubjectRevocationRecord record) {
  record.not_before = StoredTime(record.not_before);
  record.expires_at = StoredTime(record.expires_at);
  return record;
}

bool IsKnownAlgorithm(int64_t value) {
  return value >= static_cast<int64_t>(Algorithm::kEdDSA) &&
         value <= static_cast<int64_t>(Algorithm::kHS256);
}

bool IsKnownKeyState(int64_t value) {
  return value >= static_cast<int64_t>(KeyState::kPending) &&
         value <= static_cast<int64_t>(KeyState::kRevoked);
}

absl::Status CheckKeyChanges(const KeyChanges& changes) {
  absl::flat_hash_set<std::string> upserted;
  for (const KeyRecord& record : changes.upserts) {
    if (record.kid.empty()) return absl::InvalidArgumentError("key upsert with an empty kid");
    if (!IsKnownAlgorithm(static_cast<int64_t>(record.algorithm))) {
      return absl::InvalidArgumentError(absl::StrCat("key ", record.kid, ": unknown algorithm ",
                                                     static_cast<int>(record.algorithm)));
    }
    if (!IsKnownKeyState(static_cast<int64_t>(record.state))) {
      return absl::InvalidArgumentError(
          absl::StrCat("key ", record.kid, ": unknown state ", static_cast<int>(record.state)));
    }
    if (!upserted.insert(record.kid).second) {
      return absl::InvalidArgumentError(absl::StrCat("key ", record.kid, " is upserted twice"));
    }
  }
  for (const std::string& kid : changes.deletes) {
    if (upserted.contains(kid)) {
      return absl::InvalidArgumentError(absl::StrCat("key ", kid, " is both upserted and deleted"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckRevocation(const TokenRevocationRecord& record) {
  if (record.token_id.empty()) return absl::InvalidArgumentError("token revocation without id");
  return absl::OkStatus();
}

absl::Status CheckRevocation(const SubjectRevocationRecord& record) {
  if (record.subject.empty()) {
    return absl::InvalidArgumentError("subject revocation without subject");
  }
  return absl::OkStatus();
}

}  // namespace signet::server::internal
