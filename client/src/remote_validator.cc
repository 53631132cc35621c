#include "signet/remote_validator.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <list>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/util/json_util.h"
#include "signet/proto_time.h"

namespace signet {
namespace {

using Digest = std::array<unsigned char, 32>;

struct DigestHash {
  size_t operator()(const Digest& d) const {
    size_t h;
    std::memcpy(&h, d.data(), sizeof(h));  // SHA-256 bytes are already uniform.
    return h;
  }
};

// SHA-256 over len(token) || token || any || audience: the token's bytes never become a key, and
// Any() never shares a key with Expect("").
Digest CacheKey(std::string_view token, Audience audience) {
  const unsigned char any = audience.any() ? 1 : 0;
  const std::string_view name = audience.name();
  Digest digest{};
  uint64_t len = token.size();
  unsigned char len_bytes[8];
  for (int i = 0; i < 8; ++i) len_bytes[i] = static_cast<unsigned char>(len >> (8 * i));
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  unsigned int out_len = 0;
  bool ok = ctx != nullptr && EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) == 1 &&
            EVP_DigestUpdate(ctx, len_bytes, sizeof(len_bytes)) == 1 &&
            EVP_DigestUpdate(ctx, token.data(), token.size()) == 1 &&
            EVP_DigestUpdate(ctx, &any, 1) == 1 &&
            EVP_DigestUpdate(ctx, name.data(), name.size()) == 1 &&
            EVP_DigestFinal_ex(ctx, digest.data(), &out_len) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok) digest.fill(0);  // Never happens with the default provider; Lookup then misses.
  return digest;
}

}  // namespace

Validation ValidationFromResponse(const v1::ValidateTokenResponse& response) {
  Validation v;
  if (!response.valid()) {
    int reason = static_cast<int>(response.reason());
    v.reason =
        (reason > 0 && reason < kReasonCount) ? static_cast<Reason>(reason) : Reason::kMalformed;
    return v;
  }
  v.reason = Reason::kValid;
  Identity& id = v.identity;
  id.subject = response.subject();
  id.backend = response.backend();
  id.audiences.assign(response.audience().begin(), response.audience().end());
  if (response.has_issued_at()) id.issued_at = FromProtoTime(response.issued_at());
  if (response.has_expires_at()) id.expires_at = FromProtoTime(response.expires_at());
  id.token_id = response.token_id();
  id.key_id = response.key_id();
  if (response.has_claims() && response.claims().fields_size() > 0) {
    std::string json;
    if (google::protobuf::util::MessageToJsonString(response.claims(), &json).ok()) {
      id.claims_json = std::move(json);
    }
  }
  return v;
}

// A sharded LRU map from digest to answer. Each shard has its own lock, so lookups on different
// shards never contend.
class RemoteValidator::Cache {
 public:
  explicit Cache(size_t capacity) : shards_(std::min<size_t>(kMaxShards, capacity)) {
    size_t shards = shards_.size();
    for (size_t i = 0; i < shards; ++i) {
      shards_[i].capacity = capacity / shards + (i < capacity % shards ? 1 : 0);
    }
  }

  bool Lookup(const Digest& key, absl::Time now, Validation* out) {
    Shard& s = ShardFor(key);
    absl::MutexLock lock(&s.mu);
    auto it = s.index.find(key);
    if (it == s.index.end()) return false;
    if (now >= it->second->good_until) {
      s.lru.erase(it->second);
      s.index.erase(it);
      return false;
    }
    s.lru.splice(s.lru.begin(), s.lru, it->second);
    *out = it->second->answer;
    return true;
  }

  void Insert(const Digest& key, const Validation& answer, absl::Time good_until) {
    Shard& s = ShardFor(key);
    absl::MutexLock lock(&s.mu);
    auto it = s.index.find(key);
    if (it != s.index.end()) {
      it->second->answer = answer;
      it->second->good_until = good_until;
      s.lru.splice(s.lru.begin(), s.lru, it->second);
      return;
    }
    s.lru.push_front(Entry{key, answer, good_until});
    s.index.emplace(key, s.lru.begin());
    while (s.lru.size() > s.capacity) {
      s.index.erase(s.lru.back().key);
      s.lru.pop_back();
      evictions_.fetch_add(1, std::memory_order_relaxed);
    }
  }

  size_t size() const {
    size_t n = 0;
    for (const Shard& s : shards_) {
      absl::MutexLock lock(&s.mu);
      n += s.lru.size();
    }
    return n;
  }
  uint64_t evictions() const { return evictions_.load(std::memory_order_relaxed); }

 private:
  static constexpr size_t kMaxShards = 16;
  struct Entry {
    Digest key;
    Validation answer;
    absl::Time good_until;
  };
  struct Shard {
    mutable absl::Mutex mu;
    size_t capacity = 0;
    std::list<Entry> lru ABSL_GUARDED_BY(mu);  // Most recently used first.
    absl::flat_hash_map<Digest, std::list<Entry>::iterator, DigestHash> index ABSL_GUARDED_BY(mu);
  };

  Shard& ShardFor(const Digest& key) { return shards_[key[8] % shards_.size()]; }

  std::vector<Shard> shards_;
  std::atomic<uint64_t> evictions_{0};
};

RemoteValidator::RemoteValidator(std::shared_ptr<const Client> client,
                                 RemoteValidatorOptions options)
    : client_(std::move(client)), options_(options) {
  if (options_.cache_capacity > 0) cache_ = std::make_unique<Cache>(options_.cache_capacity);
}

RemoteValidator::~RemoteValidator() = default;

std::unique_ptr<RemoteValidator> RemoteValidator::Create(std::shared_ptr<const Client> client,
                                                         RemoteValidatorOptions options) {
  return std::unique_ptr<RemoteValidator>(new RemoteValidator(std::move(client), options));
}

absl::StatusOr<Validation> RemoteValidator::Validate(std::string_view token, Audience audience) {
  if (token.empty()) return Validation{Reason::kMalformed, {}};
  Digest key;
  if (cache_ != nullptr) {
    key = CacheKey(token, audience);
    Validation cached;
    if (cache_->Lookup(key, options_.clock->Now(), &cached)) {
      hits_.fetch_add(1, std::memory_order_relaxed);
      return cached;
    }
  }
  v1::ValidateTokenRequest request;
  request.set_token(std::string(token));
  if (audience.any()) {
    request.set_any_audience(true);
  } else {
    request.set_audience(std::string(audience.name()));
  }
  server_calls_.fetch_add(1, std::memory_order_relaxed);
  absl::StatusOr<v1::ValidateTokenResponse> response = client_->ValidateToken(request);
  if (!response.ok()) return response.status();
  Validation answer = ValidationFromResponse(*response);
  if (cache_ != nullptr) {
    // The answer's age counts from when it arrived.
    absl::Time now = options_.clock->Now();
    absl::Time good_until = answer.valid()
                                ? std::min(now + options_.max_age, answer.identity.expires_at)
                                : now + options_.invalid_max_age;
    if (good_until > now) cache_->Insert(key, answer, good_until);
  }
  return answer;
}

RemoteValidator::Stats RemoteValidator::stats() const {
  Stats s;
  s.hits = hits_.load(std::memory_order_relaxed);
  s.server_calls = server_calls_.load(std::memory_order_relaxed);
  if (cache_ != nullptr) {
    s.evictions = cache_->evictions();
    s.size = cache_->size();
  }
  return s;
}

}  // namespace signet
