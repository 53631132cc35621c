// Immutable sets of revoked token ids (jti) and revoked subjects, with structural sharing so that
// adding one entry copies a bounded amount (one leaf of at most 64 entries and the three or so
// branch nodes above it), whatever the size of the set.
//
// Example:
//   signet::RevocationSet r;
//   r = r.WithToken("jti-1", absl::FromUnixSeconds(1700003600));
//   r = r.WithSubject("user-7", /*not_before=*/now, /*expires_at=*/now + max_ttl);
//   if (r.IsTokenRevoked("jti-1", now)) ...
//
// Entries are kept only until the tokens they name would have expired: Pruned(now) drops the rest.
#ifndef SIGNET_REVOCATION_SET_H_
#define SIGNET_REVOCATION_SET_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"

namespace signet {

// Immutable; copies are cheap (one shared pointer) and thread-safe to read.
class RevocationSet {
 public:
  struct TokenEntry {
    std::string token_id;
    absl::Time expires_at;
  };
  struct SubjectEntry {
    std::string subject;
    absl::Time not_before;  // Tokens issued before this are refused.
    absl::Time expires_at;  // After this no such token can be live; the entry is dropped.
  };

  RevocationSet();

  // A set with this token id added (an existing entry keeps the later expires_at).
  RevocationSet WithToken(std::string_view token_id, absl::Time expires_at) const;
  // A set with this subject added (an existing entry keeps the later not_before/expires_at).
  RevocationSet WithSubject(std::string_view subject, absl::Time not_before,
                            absl::Time expires_at) const;
  // Many entries at once (each node touched is copied once; a set built from empty copies none).
  RevocationSet WithEntries(const std::vector<TokenEntry>& tokens,
                            const std::vector<SubjectEntry>& subjects) const;
  // A set without the entries whose expires_at <= now.
  RevocationSet Pruned(absl::Time now) const;

  // True when the token id is revoked and the entry has not expired.
  bool IsTokenRevoked(std::string_view token_id, absl::Time now) const;
  // True when tokens of `subject` issued at `issued_at` are refused.
  bool IsSubjectRevoked(std::string_view subject, absl::Time issued_at, absl::Time now) const;

  // O(1).
  size_t token_count() const;
  size_t subject_count() const;
  std::vector<TokenEntry> TokenEntries() const;
  std::vector<SubjectEntry> SubjectEntries() const;

 private:
  struct State;  // Hash tries of the entries (see internal/hash_trie.h).
  const State& state() const;

  std::shared_ptr<const State> state_;  // Null: empty.
};

}  // namespace signet

#endif  // SIGNET_REVOCATION_SET_H_
