#include "signet/revocation_set.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "internal/base64url_internal.h"
#include "signet/base64url.h"

namespace signet {
namespace {

// Signet's own jtis are 16 random bytes in canonical base64url (22 characters). Those are kept as
// their 16 bytes, which is what lets a million of them fit well under 100 MB; any other id is kept
// as a string.
constexpr size_t kCompactIdChars = 22;
using CompactId = std::array<uint8_t, 16>;

static_assert(internal::Base64UrlDecodedSize(kCompactIdChars) == sizeof(CompactId));

bool ToCompactId(std::string_view token_id, CompactId* out) {
  return token_id.size() == kCompactIdChars &&
         internal::DecodeCanonicalBase64Url(token_id, reinterpret_cast<char*>(out->data()));
}

// Expiry as Unix nanoseconds (saturating): 8 bytes a slot instead of absl::Time's 16.
int64_t ToNanos(absl::Time t) { return absl::ToUnixNanos(t); }
absl::Time FromNanos(int64_t n) {
  if (n == std::numeric_limits<int64_t>::max()) return absl::InfiniteFuture();
  return absl::FromUnixNanos(n);
}

// The top byte of the hash picks the shard: the low bits are what the shard's own table uses.
size_t ShardOfString(std::string_view id) {
  return static_cast<size_t>(
             absl::Hash<absl::string_view>{}(absl::string_view(id.data(), id.size())) >> 56) %
         RevocationSet::kShards;
}
size_t ShardOfCompact(const CompactId& id) { return id[0] % RevocationSet::kShards; }

}  // namespace

struct RevocationSet::TokenShard {
  absl::flat_hash_map<CompactId, int64_t> compact;
  absl::flat_hash_map<std::string, int64_t> other;

  bool empty() const { return compact.empty() && other.empty(); }
  size_t size() const { return compact.size() + other.size(); }
};

struct RevocationSet::SubjectShard {
  struct Value {
    absl::Time not_before;
    absl::Time expires_at;
  };
  absl::flat_hash_map<std::string, Value> entries;
};

namespace {

template <typename Map, typename Key>
void InsertLater(Map& map, Key&& key, int64_t expires) {
  auto [it, inserted] = map.try_emplace(std::forward<Key>(key), expires);
  if (!inserted) it->second = std::max(it->second, expires);
}

// Copy-on-write over an array of shards: each touched shard is copied once, then frozen.
template <typename Shard>
class ShardEditor {
 public:
  explicit ShardEditor(std::array<std::shared_ptr<const Shard>, RevocationSet::kShards>* shards)
      : shards_(shards) {}
  ~ShardEditor() {
    for (size_t i = 0; i < RevocationSet::kShards; ++i) {
      if (edited_[i] != nullptr) (*shards_)[i] = std::move(edited_[i]);
    }
  }
  Shard& Edit(size_t i) {
    if (edited_[i] == nullptr) {
      const std::shared_ptr<const Shard>& old = (*shards_)[i];
      edited_[i] = old == nullptr ? std::make_shared<Shard>() : std::make_shared<Shard>(*old);
    }
    return *edited_[i];
  }

 private:
  std::array<std::shared_ptr<const Shard>, RevocationSet::kShards>* shards_;
  std::array<std::shared_ptr<Shard>, RevocationSet::kShards> edited_;
};

}  // namespace

RevocationSet::RevocationSet() = default;

RevocationSet RevocationSet::WithToken(std::string_view token_id, absl::Time expires_at) const {
  return WithEntries({TokenEntry{std::string(token_id), expires_at}}, {});
}

RevocationSet RevocationSet::WithSubject(std::string_view subject, absl::Time not_before,
                                         absl::Time expires_at) const {
  return WithEntries({}, {SubjectEntry{std::string(subject), not_before, expires_at}});
}

RevocationSet RevocationSet::WithEntries(const std::vector<TokenEntry>& tokens,
                                         const std::vector<SubjectEntry>& subjects) const {
  RevocationSet out = *this;
  {
    ShardEditor<TokenShard> editor(&out.token_shards_);
    for (const TokenEntry& e : tokens) {
      const int64_t expires = ToNanos(e.expires_at);
      CompactId id;
      if (ToCompactId(e.token_id, &id)) {
        InsertLater(editor.Edit(ShardOfCompact(id)).compact, id, expires);
      } else {
        InsertLater(editor.Edit(ShardOfString(e.token_id)).other, e.token_id, expires);
      }
    }
  }
  {
    ShardEditor<SubjectShard> editor(&out.subject_shards_);
    for (const SubjectEntry& e : subjects) {
      auto& entries = editor.Edit(ShardOfString(e.subject)).entries;
      auto [it, inserted] =
          entries.try_emplace(e.subject, SubjectShard::Value{e.not_before, e.expires_at});
      if (!inserted) {
        it->second.not_before = std::max(it->second.not_before, e.not_before);
        it->second.expires_at = std::max(it->second.expires_at, e.expires_at);
      }
    }
  }
  return out;
}

RevocationSet RevocationSet::Pruned(absl::Time now) const {
  RevocationSet out = *this;
  const int64_t now_nanos = ToNanos(now);
  for (auto& shard : out.token_shards_) {
    if (shard == nullptr) continue;
    auto expired = [now_nanos](const auto& kv) { return kv.second <= now_nanos; };
    if (std::none_of(shard->compact.begin(), shard->compact.end(), expired) &&
        std::none_of(shard->other.begin(), shard->other.end(), expired)) {
      continue;  // Untouched shards stay shared.
    }
    auto pruned = std::make_shared<TokenShard>(*shard);
    absl::erase_if(pruned->compact, expired);
    absl::erase_if(pruned->other, expired);
    shard = pruned->empty() ? nullptr : std::move(pruned);
  }
  for (auto& shard : out.subject_shards_) {
    if (shard == nullptr) continue;
    auto expired = [now](const auto& kv) { return kv.second.expires_at <= now; };
    if (std::none_of(shard->entries.begin(), shard->entries.end(), expired)) continue;
    auto pruned = std::make_shared<SubjectShard>(*shard);
    absl::erase_if(pruned->entries, expired);
    shard = pruned->entries.empty() ? nullptr : std::move(pruned);
  }
  return out;
}

bool RevocationSet::IsTokenRevoked(std::string_view token_id, absl::Time now) const {
  CompactId id;
  if (ToCompactId(token_id, &id)) {
    const auto& shard = token_shards_[ShardOfCompact(id)];
    if (shard == nullptr) return false;
    auto it = shard->compact.find(id);
    return it != shard->compact.end() && FromNanos(it->second) > now;
  }
  const auto& shard = token_shards_[ShardOfString(token_id)];
  if (shard == nullptr) return false;
  auto it = shard->other.find(absl::string_view(token_id.data(), token_id.size()));
  return it != shard->other.end() && FromNanos(it->second) > now;
}

bool RevocationSet::IsSubjectRevoked(std::string_view subject, absl::Time issued_at,
                                     absl::Time now) const {
  const auto& shard = subject_shards_[ShardOfString(subject)];
  if (shard == nullptr) return false;
  auto it = shard->entries.find(absl::string_view(subject.data(), subject.size()));
  if (it == shard->entries.end()) return false;
  return it->second.expires_at > now && issued_at < it->second.not_before;
}

size_t RevocationSet::token_count() const {
  size_t n = 0;
  for (const auto& shard : token_shards_) {
    if (shard != nullptr) n += shard->size();
  }
  return n;
}

size_t RevocationSet::subject_count() const {
  size_t n = 0;
  for (const auto& shard : subject_shards_) {
    if (shard != nullptr) n += shard->entries.size();
  }
  return n;
}

std::vector<RevocationSet::TokenEntry> RevocationSet::TokenEntries() const {
  std::vector<TokenEntry> out;
  out.reserve(token_count());
  for (const auto& shard : token_shards_) {
    if (shard == nullptr) continue;
    for (const auto& [id, expires] : shard->compact) {
      out.push_back(TokenEntry{
          Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(id.data()), id.size())),
          FromNanos(expires)});
    }
    for (const auto& [id, expires] : shard->other) {
      out.push_back(TokenEntry{id, FromNanos(expires)});
    }
  }
  return out;
}

std::vector<RevocationSet::SubjectEntry> RevocationSet::SubjectEntries() const {
  std::vector<SubjectEntry> out;
  out.reserve(subject_count());
  for (const auto& shard : subject_shards_) {
    if (shard == nullptr) continue;
    for (const auto& [subject, value] : shard->entries) {
      out.push_back(SubjectEntry{subject, value.not_before, value.expires_at});
    }
  }
  return out;
}

}  // namespace signet
