// The in-memory Store for unit tests. It follows the SQLite store's rules exactly (times kept to
// the microsecond, the same argument checks, lists ordered by their key) so that tests written
// against it hold for the durable stores.
#include <algorithm>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "server/store/internal/store_rules.h"
#include "server/store/store.h"

namespace signet::server {
namespace {

// Thread-safe: one mutex guards everything; UpdateKeys runs `decide` under it, so writers are
// serialized as SQLite's BEGIN IMMEDIATE serializes them.
class MemoryStore final : public Store {
 public:
  absl::StatusOr<StoreSnapshot> Load() override {
    absl::MutexLock lock(&mu_);
    StoreSnapshot snapshot;
    snapshot.keys = KeysLocked();
    for (const auto& [id, record] : tokens_) snapshot.token_revocations.push_back(record);
    for (const auto& [subject, record] : subjects_) snapshot.subject_revocations.push_back(record);
    return snapshot;
  }

  absl::StatusOr<std::vector<KeyRecord>> LoadKeys() override {
    absl::MutexLock lock(&mu_);
    return KeysLocked();
  }

  absl::StatusOr<std::vector<KeyRecord>> UpdateKeys(const KeyDecision& decide) override {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<KeyChanges> changes = decide(KeysLocked());
    if (!changes.ok()) return changes.status();
    if (absl::Status status = internal::CheckKeyChanges(*changes); !status.ok()) return status;
    for (KeyRecord& record : changes->upserts) {
      std::string kid = record.kid;
      keys_[std::move(kid)] = internal::Stored(std::move(record));
    }
    for (const std::string& kid : changes->deletes) keys_.erase(kid);
    return KeysLocked();
  }

  absl::Status AddTokenRevocation(const TokenRevocationRecord& record) override {
    if (absl::Status status = internal::CheckRevocation(record); !status.ok()) return status;
    TokenRevocationRecord stored = internal::Stored(record);
    absl::MutexLock lock(&mu_);
    auto [it, inserted] = tokens_.emplace(stored.token_id, stored);
    if (!inserted) it->second.expires_at = std::max(it->second.expires_at, stored.expires_at);
    return absl::OkStatus();
  }

  absl::Status AddSubjectRevocation(const SubjectRevocationRecord& record) override {
    if (absl::Status status = internal::CheckRevocation(record); !status.ok()) return status;
    SubjectRevocationRecord stored = internal::Stored(record);
    absl::MutexLock lock(&mu_);
    auto [it, inserted] = subjects_.emplace(stored.subject, stored);
    if (!inserted) {
      it->second.not_before = std::max(it->second.not_before, stored.not_before);
      it->second.expires_at = std::max(it->second.expires_at, stored.expires_at);
    }
    return absl::OkStatus();
  }

  int schema_version() const override { return 1; }

  absl::Status PruneRevocations(absl::Time now) override {
    const absl::Time stored_now = internal::StoredTime(now);
    absl::MutexLock lock(&mu_);
    for (auto it = tokens_.begin(); it != tokens_.end();) {
      it = it->second.expires_at <= stored_now ? tokens_.erase(it) : std::next(it);
    }
    for (auto it = subjects_.begin(); it != subjects_.end();) {
      it = it->second.expires_at <= stored_now ? subjects_.erase(it) : std::next(it);
    }
    return absl::OkStatus();
  }

 private:
  std::vector<KeyRecord> KeysLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::vector<KeyRecord> keys;
    keys.reserve(keys_.size());
    for (const auto& [kid, record] : keys_) keys.push_back(record);
    return keys;
  }

  absl::Mutex mu_;
  // Ordered maps: lists come out ordered by kid / token id / subject, as from SQLite.
  std::map<std::string, KeyRecord> keys_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, TokenRevocationRecord> tokens_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, SubjectRevocationRecord> subjects_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

std::unique_ptr<Store> NewMemoryStore() { return std::make_unique<MemoryStore>(); }

}  // namespace signet::server
