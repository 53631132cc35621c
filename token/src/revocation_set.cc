#include "signet/revocation_set.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <utility>

#include "absl/hash/hash.h"
#include "internal/base64url_internal.h"
#include "internal/hash_trie.h"
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

// absl::Hash is seeded per process: ids chosen by a caller cannot be aimed at one leaf.
size_t HashOf(std::string_view s) {
  return absl::Hash<absl::string_view>{}(absl::string_view(s.data(), s.size()));
}

struct CompactToken {
  CompactId id;
  int64_t expires;  // Unix nanoseconds.
};

struct CompactTokenTraits {
  using Entry = CompactToken;
  using Key = const CompactId&;
  static Key KeyOf(const Entry& e) { return e.id; }
  static size_t Hash(Key id) { return absl::Hash<CompactId>{}(id); }
  static bool Equal(Key a, Key b) { return std::memcmp(a.data(), b.data(), a.size()) == 0; }
  static void Merge(Entry* kept, Entry&& added) {
    kept->expires = std::max(kept->expires, added.expires);
  }
};

struct OtherToken {
  std::string id;
  int64_t expires;  // Unix nanoseconds.
};

struct OtherTokenTraits {
  using Entry = OtherToken;
  using Key = std::string_view;
  static Key KeyOf(const Entry& e) { return e.id; }
  static size_t Hash(Key id) { return HashOf(id); }
  static bool Equal(Key a, Key b) { return a == b; }
  static void Merge(Entry* kept, Entry&& added) {
    kept->expires = std::max(kept->expires, added.expires);
  }
};

struct SubjectTraits {
  using Entry = RevocationSet::SubjectEntry;
  using Key = std::string_view;
  static Key KeyOf(const Entry& e) { return e.subject; }
  static size_t Hash(Key subject) { return HashOf(subject); }
  static bool Equal(Key a, Key b) { return a == b; }
  static void Merge(Entry* kept, Entry&& added) {
    kept->not_before = std::max(kept->not_before, added.not_before);
    kept->expires_at = std::max(kept->expires_at, added.expires_at);
  }
};

}  // namespace

struct RevocationSet::State {
  internal::HashTrie<CompactTokenTraits> compact;
  internal::HashTrie<OtherTokenTraits> other;
  internal::HashTrie<SubjectTraits> subjects;
};

RevocationSet::RevocationSet() = default;

const RevocationSet::State& RevocationSet::state() const {
  static const State* const kEmpty = new State();
  return state_ != nullptr ? *state_ : *kEmpty;
}

RevocationSet RevocationSet::WithToken(std::string_view token_id, absl::Time expires_at) const {
  return WithEntries({TokenEntry{std::string(token_id), expires_at}}, {});
}

RevocationSet RevocationSet::WithSubject(std::string_view subject, absl::Time not_before,
                                         absl::Time expires_at) const {
  return WithEntries({}, {SubjectEntry{std::string(subject), not_before, expires_at}});
}

RevocationSet RevocationSet::WithEntries(const std::vector<TokenEntry>& tokens,
                                         const std::vector<SubjectEntry>& subjects) const {
  if (tokens.empty() && subjects.empty()) return *this;
  auto next = std::make_shared<State>(state());  // Three root pointers.
  {
    internal::HashTrie<CompactTokenTraits>::Editor compact(&next->compact);
    internal::HashTrie<OtherTokenTraits>::Editor other(&next->other);
    for (const TokenEntry& e : tokens) {
      const int64_t expires = ToNanos(e.expires_at);
      CompactToken token;
      if (ToCompactId(e.token_id, &token.id)) {
        token.expires = expires;
        compact.Insert(token);
      } else {
        other.Insert(OtherToken{e.token_id, expires});
      }
    }
  }
  {
    internal::HashTrie<SubjectTraits>::Editor editor(&next->subjects);
    for (const SubjectEntry& e : subjects) editor.Insert(e);
  }
  RevocationSet out;
  out.state_ = std::move(next);
  return out;
}

RevocationSet RevocationSet::Pruned(absl::Time now) const {
  if (state_ == nullptr) return *this;
  const int64_t now_nanos = ToNanos(now);
  auto next = std::make_shared<State>();
  next->compact = state_->compact.Without(
      [now_nanos](const CompactToken& e) { return e.expires <= now_nanos; });
  next->other =
      state_->other.Without([now_nanos](const OtherToken& e) { return e.expires <= now_nanos; });
  next->subjects =
      state_->subjects.Without([now](const SubjectEntry& e) { return e.expires_at <= now; });
  RevocationSet out;
  out.state_ = std::move(next);
  return out;
}

bool RevocationSet::IsTokenRevoked(std::string_view token_id, absl::Time now) const {
  if (state_ == nullptr) return false;
  CompactId id;
  if (ToCompactId(token_id, &id)) {
    const CompactToken* found = state_->compact.Find(id);
    return found != nullptr && FromNanos(found->expires) > now;
  }
  const OtherToken* found = state_->other.Find(token_id);
  return found != nullptr && FromNanos(found->expires) > now;
}

bool RevocationSet::IsSubjectRevoked(std::string_view subject, absl::Time issued_at,
                                     absl::Time now) const {
  if (state_ == nullptr) return false;
  const SubjectEntry* found = state_->subjects.Find(subject);
  return found != nullptr && found->expires_at > now && issued_at < found->not_before;
}

size_t RevocationSet::token_count() const { return state().compact.size() + state().other.size(); }

size_t RevocationSet::subject_count() const { return state().subjects.size(); }

std::vector<RevocationSet::TokenEntry> RevocationSet::TokenEntries() const {
  std::vector<TokenEntry> out;
  out.reserve(token_count());
  state().compact.ForEach([&out](const CompactToken& e) {
    out.push_back(TokenEntry{
        Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(e.id.data()), e.id.size())),
        FromNanos(e.expires)});
  });
  state().other.ForEach([&out](const OtherToken& e) {
    out.push_back(TokenEntry{e.id, FromNanos(e.expires)});
  });
  return out;
}

std::vector<RevocationSet::SubjectEntry> RevocationSet::SubjectEntries() const {
  std::vector<SubjectEntry> out;
  out.reserve(subject_count());
  state().subjects.ForEach([&out](const SubjectEntry& e) { out.push_back(e); });
  return out;
}

}  // namespace signet
