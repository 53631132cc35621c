#include "signet/validation_cache.h"

#include <sodium.h>

#include <cstddef>
#include <cstring>
#include <limits>

#include "internal/claim_checks.h"

namespace signet::internal {
namespace {

static_assert(crypto_shorthash_siphashx24_BYTES == sizeof(ValidationCache::Digest));
static_assert(crypto_shorthash_siphashx24_KEYBYTES == 16);

constexpr size_t kWords = (ValidationCache::kSlotBytes - 16) / sizeof(uint64_t);  // 62
constexpr size_t kPayloadBytes = kWords * sizeof(uint64_t);                       // 496

// The start of a slot's payload; the variable-length fields follow it in this order: kid, subject,
// token_id, audiences, answer.
struct Header {
  ValidationCache::Digest digest;
  int64_t issued_at_ns;  // Unix nanoseconds; INT64_MIN for absl::InfinitePast().
  int64_t not_before_ns;
  int64_t expires_at_ns;
  uint64_t key;  // The VerifyKey's address.
  uint16_t kid_len, subject_len, token_id_len, audiences_len, answer_len;
  uint8_t valid;  // 0: the slot is free.
};
constexpr size_t kBlobBytes = kPayloadBytes - sizeof(Header);
static_assert(sizeof(Header) <= 64 && kBlobBytes >= 400);

// Whether a slot holds an entry (an unsynchronised peek).
template <typename Words>
bool PeekValid(const Words& words) {
  constexpr size_t kOffset = offsetof(Header, valid);
  const uint64_t word = words[kOffset / sizeof(uint64_t)].load(std::memory_order_relaxed);
  unsigned char bytes[sizeof(word)];
  std::memcpy(bytes, &word, sizeof(word));
  return bytes[kOffset % sizeof(uint64_t)] != 0;
}

int64_t ToNanos(absl::Time t) {
  if (t == absl::InfinitePast()) return std::numeric_limits<int64_t>::min();
  return absl::ToUnixNanos(t);  // Saturates.
}
absl::Time FromNanos(int64_t n) {
  if (n == std::numeric_limits<int64_t>::min()) return absl::InfinitePast();
  if (n == std::numeric_limits<int64_t>::max()) return absl::InfiniteFuture();
  return absl::FromUnixNanos(n);
}

}  // namespace

// One seqlock: `seq` is odd while a writer fills `words`. 512 bytes, on its own cache lines.
struct alignas(64) ValidationCache::Slot {
  std::atomic<uint64_t> seq{0};
  std::atomic<uint32_t> referenced{0};  // Found since the CLOCK hand last passed.
  std::atomic<uint64_t> words[kWords] = {};
};

struct alignas(64) ValidationCache::Tags {
  std::atomic<uint64_t> tag[kWays] = {};
};

namespace {

// A way's tag: the digest's first 8 bytes, never 0 (which marks a free way).
uint64_t TagOf(const ValidationCache::Digest& digest) {
  uint64_t tag;
  std::memcpy(&tag, digest.data(), sizeof(tag));
  return tag | 1;
}

}  // namespace

namespace {

// Calls `visit` with each audience of an EntryView::audiences encoding, until it returns true.
// True when it did.
template <typename Visit>
bool AnyAudience(std::string_view encoded, Visit visit) {
  while (encoded.size() >= 2) {
    const size_t len = static_cast<uint8_t>(encoded[0]) | (static_cast<uint8_t>(encoded[1]) << 8);
    if (encoded.size() - 2 < len) return false;
    if (visit(encoded.substr(2, len))) return true;
    encoded.remove_prefix(2 + len);
  }
  return false;
}

}  // namespace

bool ValidationCache::EntryView::HasAudience(std::string_view audience) const {
  return AnyAudience(audiences, [audience](std::string_view a) { return a == audience; });
}

std::vector<std::string> ValidationCache::EntryView::AudienceList() const {
  std::vector<std::string> list;
  AnyAudience(audiences, [&list](std::string_view a) {
    list.emplace_back(a);
    return false;
  });
  return list;
}

bool ValidationCache::AppendAudience(std::string_view audience, std::string* encoded) {
  if (audience.size() > 0xFFFF) return false;
  encoded->push_back(static_cast<char>(audience.size() & 0xFF));
  encoded->push_back(static_cast<char>(audience.size() >> 8));
  encoded->append(audience);
  return true;
}

ValidationCache::ValidationCache(Options options) {
  static_assert(sizeof(Slot) == kSlotBytes);
  // randombytes_buf is safe without sodium_init; calling it first picks the OS source once.
  if (sodium_init() < 0) options.max_entries = 0;  // No key, no cache.
  randombytes_buf(key_.data(), key_.size());
  set_count_ = options.max_entries / kWays;
  slot_count_ = set_count_ * kWays;
  if (slot_count_ > 0) {
    slots_.reset(new Slot[slot_count_]);
    tags_.reset(new Tags[set_count_]);
  }
}

ValidationCache::~ValidationCache() = default;

ValidationCache::Digest ValidationCache::DigestOf(std::string_view token) const {
  Digest digest;
  crypto_shorthash_siphashx24(digest.data(), reinterpret_cast<const unsigned char*>(token.data()),
                              token.size(), key_.data());
  return digest;
}

size_t ValidationCache::SetOf(const Digest& digest) const {
  uint64_t h;
  std::memcpy(&h, digest.data() + 8, sizeof(h));  // Uniform already: the digest is a PRF output.
  return h % set_count_;
}

int ValidationCache::WayOf(size_t set, const Digest& digest) const {
  const uint64_t tag = TagOf(digest);
  uint64_t want[2];
  std::memcpy(want, digest.data(), sizeof(want));
  for (size_t way = 0; way < kWays; ++way) {
    if (tags_[set].tag[way].load(std::memory_order_relaxed) != tag) continue;
    // An unsynchronised peek: writers re-check under their claim, readers validate their copy.
    const Slot& slot = slots_[set * kWays + way];
    if (slot.words[0].load(std::memory_order_relaxed) == want[0] &&
        slot.words[1].load(std::memory_order_relaxed) == want[1]) {
      return static_cast<int>(way);
    }
  }
  return -1;
}

bool ValidationCache::Find(const Digest& digest, Found* out) const {
  if (slot_count_ == 0) return false;
  const size_t set = SetOf(digest);
  const int way = WayOf(set, digest);
  if (way < 0) return false;
  Slot& slot = slots_[set * kWays + way];
  const uint64_t before = slot.seq.load(std::memory_order_acquire);
  if (before & 1) return false;  // Being written: a miss, never a wait.
  for (size_t i = 0; i < kWords; ++i) {
    out->buffer[i] = slot.words[i].load(std::memory_order_relaxed);
  }
  std::atomic_thread_fence(std::memory_order_acquire);
  if (slot.seq.load(std::memory_order_relaxed) != before) return false;

  // The copy is consistent; decode it.
  const char* payload = reinterpret_cast<const char*>(out->buffer.data());
  Header h;
  std::memcpy(&h, payload, sizeof(h));
  if (h.valid != 1 || h.digest != digest) return false;
  const size_t total =
      size_t{h.kid_len} + h.subject_len + h.token_id_len + h.audiences_len + h.answer_len;
  if (total > kBlobBytes) return false;
  const char* p = payload + sizeof(Header);
  auto take = [&p](size_t n) {
    std::string_view v(p, n);
    p += n;
    return v;
  };
  out->issued_at = FromNanos(h.issued_at_ns);
  out->not_before = FromNanos(h.not_before_ns);
  out->expires_at = FromNanos(h.expires_at_ns);
  out->key = reinterpret_cast<const VerifyKey*>(h.key);
  out->kid = take(h.kid_len);
  out->subject = take(h.subject_len);
  out->token_id = take(h.token_id_len);
  out->audiences = take(h.audiences_len);
  out->answer = take(h.answer_len);
  // Written only when it changes, so that hits on a hot entry do not bounce its cache line.
  if (slot.referenced.load(std::memory_order_relaxed) == 0) {
    slot.referenced.store(1, std::memory_order_relaxed);
  }
  return true;
}

bool ValidationCache::Insert(const Digest& digest, const EntryView& entry) {
  if (slot_count_ == 0) return false;
  const size_t total = entry.kid.size() + entry.subject.size() + entry.token_id.size() +
                       entry.audiences.size() + entry.answer.size();
  if (total > kBlobBytes) return false;

  std::array<uint64_t, kWords> payload{};
  char* bytes = reinterpret_cast<char*>(payload.data());
  Header h{};
  h.digest = digest;
  h.issued_at_ns = ToNanos(entry.issued_at);
  h.not_before_ns = ToNanos(entry.not_before);
  h.expires_at_ns = ToNanos(entry.expires_at);
  h.key = reinterpret_cast<uint64_t>(entry.key);
  h.kid_len = static_cast<uint16_t>(entry.kid.size());
  h.subject_len = static_cast<uint16_t>(entry.subject.size());
  h.token_id_len = static_cast<uint16_t>(entry.token_id.size());
  h.audiences_len = static_cast<uint16_t>(entry.audiences.size());
  h.answer_len = static_cast<uint16_t>(entry.answer.size());
  h.valid = 1;
  std::memcpy(bytes, &h, sizeof(h));
  char* p = bytes + sizeof(Header);
  for (std::string_view part :
       {entry.kid, entry.subject, entry.token_id, entry.audiences, entry.answer}) {
    std::memcpy(p, part.data(), part.size());
    p += part.size();
  }

  const size_t set = SetOf(digest);
  Slot* const ways = &slots_[set * kWays];
  int way = WayOf(set, digest);
  if (way < 0) {
    // A free slot, else CLOCK from a start the digest picks: clear the second-chance bits passed,
    // take the first slot without one (or the start, if every slot had one).
    const size_t start = digest[0] % kWays;
    for (size_t i = 0; i < kWays && way < 0; ++i) {
      const size_t w = (start + i) % kWays;
      if (tags_[set].tag[w].load(std::memory_order_relaxed) == 0) way = static_cast<int>(w);
    }
    for (size_t i = 0; i < kWays && way < 0; ++i) {
      const size_t w = (start + i) % kWays;
      if (ways[w].referenced.exchange(0, std::memory_order_relaxed) == 0) way = static_cast<int>(w);
    }
    if (way < 0) way = static_cast<int>(start);
  }
  Slot& slot = ways[way];
  uint64_t seq = slot.seq.load(std::memory_order_relaxed);
  if ((seq & 1) || !slot.seq.compare_exchange_strong(seq, seq + 1, std::memory_order_relaxed)) {
    return false;  // Another writer has it: this insert is dropped, nobody waits.
  }
  std::atomic_thread_fence(std::memory_order_release);
  for (size_t i = 0; i < kWords; ++i) {
    slot.words[i].store(payload[i], std::memory_order_relaxed);
  }
  slot.referenced.store(0, std::memory_order_relaxed);
  // Under the claim, so that tags change in the order the slot does.
  tags_[set].tag[way].store(TagOf(digest), std::memory_order_relaxed);
  slot.seq.store(seq + 2, std::memory_order_release);
  return true;
}

void ValidationCache::Erase(const Digest& digest) {
  if (slot_count_ == 0) return;
  const size_t set = SetOf(digest);
  const int way = WayOf(set, digest);
  if (way < 0) return;
  Slot& slot = slots_[set * kWays + way];
  uint64_t seq = slot.seq.load(std::memory_order_relaxed);
  if ((seq & 1) || !slot.seq.compare_exchange_strong(seq, seq + 1, std::memory_order_relaxed)) {
    return;  // A writer is replacing it anyway.
  }
  std::atomic_thread_fence(std::memory_order_release);
  // Re-checked under the claim: the slot may have been given to another digest meanwhile.
  uint64_t want[2];
  std::memcpy(want, digest.data(), sizeof(want));
  if (slot.words[0].load(std::memory_order_relaxed) == want[0] &&
      slot.words[1].load(std::memory_order_relaxed) == want[1]) {
    for (size_t i = 0; i < kWords; ++i) slot.words[i].store(0, std::memory_order_relaxed);
    tags_[set].tag[way].store(0, std::memory_order_relaxed);
  }
  slot.seq.store(seq + 2, std::memory_order_release);
}

size_t ValidationCache::size() const {
  size_t n = 0;
  for (size_t i = 0; i < slot_count_; ++i) {
    if (PeekValid(slots_[i].words)) ++n;
  }
  return n;
}

bool EntryFromToken(const VerifiedToken& token, const VerifyKey* key, std::string* audiences,
                    ValidationCache::EntryView* entry) {
  audiences->clear();
  for (const std::string& aud : token.audiences()) {
    if (!ValidationCache::AppendAudience(aud, audiences)) return false;
  }
  entry->issued_at = token.issued_at();
  entry->not_before = token.not_before();
  entry->expires_at = token.expires_at();
  entry->key = key;
  entry->kid = token.key_id();
  entry->subject = token.subject();
  entry->token_id = token.token_id();
  entry->audiences = *audiences;
  return true;
}

std::optional<Reason> RecheckCachedEntry(const ValidationCache::EntryView& e, const KeySet& keys,
                                         const RevocationSet& revocations, absl::Duration leeway,
                                         absl::Time now, Audience audience) {
  const KeySet::Entry* key = keys.Find(e.kid);
  if (key == nullptr || key->key.get() != e.key) return std::nullopt;
  ClaimsToJudge judged;
  judged.issued_at = e.issued_at;
  judged.not_before = e.not_before;
  judged.expires_at = e.expires_at;
  judged.issuer_matches = true;  // A cache belongs to one verifier, whose issuer is fixed.
  judged.audience_matches =
      audience.AcceptedIf([&e](std::string_view name) { return e.HasAudience(name); });
  judged.key_status = key->status;
  judged.token_id = e.token_id;
  judged.subject = e.subject;
  return JudgeClaims(judged, &revocations, leeway, now);
}

}  // namespace signet::internal
