#include "signet/local_validator.h"

#include <algorithm>
#include <limits>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "signet/jwk.h"
#include "signet/key_set.h"
#include "signet/proto_time.h"
#include "signet/revocation_set.h"
#include "signet/validation_cache.h"
#include "signet/validation_policy.h"
#include "signet/verified_token.h"

namespace signet {
namespace {

// Revocation entries past their expiry are harmless (their tokens fail as EXPIRED); pruning them
// only saves memory, so it runs now and then rather than on every change.
constexpr absl::Duration kPruneInterval = absl::Minutes(1);

// Codes that another attempt will not fix (until someone changes the server's policy).
bool IsPermanent(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnimplemented:
    case absl::StatusCode::kInvalidArgument:
      return true;
    default:
      return false;
  }
}

// What a cache hit answers beside the entry's own fields: the backend (a 2-byte little-endian
// length first) and the caller claims' JSON. nullopt (not cached) for a backend over 64 KiB.
std::optional<std::string> RenderCacheAnswer(const VerifiedToken& t) {
  const std::string& backend = t.backend();
  if (backend.size() > 0xFFFF) return std::nullopt;
  std::string answer;
  answer.push_back(static_cast<char>(backend.size() & 0xFF));
  answer.push_back(static_cast<char>(backend.size() >> 8));
  answer.append(backend);
  answer.append(t.CallerClaimsJson());
  return answer;
}

// The backend and caller claims from an answer RenderCacheAnswer made.
void ReadCacheAnswer(std::string_view answer, Identity* id) {
  const size_t backend_len =
      static_cast<uint8_t>(answer[0]) | (static_cast<uint8_t>(answer[1]) << 8);
  id->backend = std::string(answer.substr(2, backend_len));
  id->claims_json = std::string(answer.substr(2 + backend_len));
}

// The identity of a cache hit: the entry's fields and the answer RenderCacheAnswer made.
Validation FromCacheHit(Reason reason, const internal::ValidationCache::Found& found) {
  Validation v;
  v.reason = reason;
  if (!v.valid()) return v;
  Identity& id = v.identity;
  ReadCacheAnswer(found.answer, &id);
  id.subject = std::string(found.subject);
  id.audiences = found.AudienceList();
  id.issued_at = found.issued_at;
  id.expires_at = found.expires_at;
  id.token_id = std::string(found.token_id);
  id.key_id = std::string(found.kid);
  return v;
}

// Validator::Validate's `audience`: empty asks for any audience (signet/validator.h).
Audience AudienceOf(std::string_view audience) {
  return audience.empty() ? Audience::Any() : Audience::Expect(audience);
}

// `answer`: what RenderCacheAnswer made for this token, if anything; it already holds the backend
// and the caller claims, whose JSON is then not computed a second time.
Validation ToValidation(const VerifyResult& r, std::string_view answer = {}) {
  Validation v;
  v.reason = r.reason;
  if (r.valid() && r.token.has_value()) {
    const VerifiedToken& t = *r.token;
    Identity& id = v.identity;
    if (answer.empty()) {
      id.backend = t.backend();
      id.claims_json = t.CallerClaimsJson();
    } else {
      ReadCacheAnswer(answer, &id);
    }
    id.subject = t.subject();
    id.audiences = t.audiences();
    id.issued_at = t.issued_at();
    id.expires_at = t.expires_at();
    id.token_id = t.token_id();
    id.key_id = t.key_id();
  }
  return v;
}

absl::StatusOr<std::vector<std::shared_ptr<const VerifyKey>>> ParseKeys(std::string_view jwks) {
  absl::StatusOr<std::vector<std::shared_ptr<const VerifyKey>>> keys = ParseJwks(jwks);
  if (!keys.ok()) {
    return absl::DataLossError(absl::StrCat("signet-server sent a JWK Set that does not parse: ",
                                            keys.status().message()));
  }
  return keys;
}

}  // namespace

struct LocalValidator::State {
  // What Verify reads, built from the two fields below.
  KeySet keys;
  RevocationSet revocations;
  // The usable public keys (the server's JWK Set, plus keys a refetch added).
  std::vector<std::shared_ptr<const VerifyKey>> usable;
  // Revoked kids, with their public key when the server sent it (null otherwise).
  absl::flat_hash_map<std::string, std::shared_ptr<const VerifyKey>> revoked;
  uint64_t version = 0;

  void BuildKeySet() {
    KeySet::Builder builder;
    for (const std::shared_ptr<const VerifyKey>& key : usable) {
      if (!revoked.contains(key->kid())) builder.Add(key);
    }
    for (const auto& [kid, key] : revoked) {
      if (key != nullptr) builder.Add(key, KeySet::Status::kRevoked);
    }
    keys = builder.Build();
  }
};

LocalValidator::LocalValidator(LocalValidatorOptions options, TokenVerifier verifier)
    : options_(std::move(options)),
      verifier_(std::move(verifier), options_.cache_entries, RenderCacheAnswer),
      last_heard_(std::numeric_limits<int64_t>::min()) {
  ClientOptions watch;
  watch.call_credentials = options_.call_credentials;
  client_ = Client::Create(options_.channel, watch);
  ClientOptions refetch = watch;
  refetch.deadline = options_.refetch_timeout;
  refetch_client_ = Client::Create(options_.channel, refetch);
}

absl::StatusOr<std::unique_ptr<LocalValidator>> LocalValidator::Create(
    LocalValidatorOptions options) {
  if (options.channel == nullptr) return absl::InvalidArgumentError("channel is required");
  if (options.clock == nullptr) return absl::InvalidArgumentError("clock is required");
  if (options.stale_after <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("stale_after must be positive");
  }
  if (options.initial_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("initial_timeout must be positive");
  }
  if (options.refetch_interval < absl::ZeroDuration() ||
      options.refetch_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "refetch_interval must not be negative and refetch_timeout must be positive");
  }
  if (options.initial_backoff <= absl::ZeroDuration() ||
      options.max_backoff < options.initial_backoff) {
    return absl::InvalidArgumentError(
        "initial_backoff must be positive and no greater than max_backoff");
  }
  if (options.fallback_when_stale && options.fallback == nullptr) {
    return absl::InvalidArgumentError("fallback_when_stale needs a fallback");
  }
  ValidationPolicy policy;
  policy.issuer = options.issuer;
  policy.leeway = options.leeway;
  policy.max_token_bytes = options.max_token_bytes;
  absl::StatusOr<TokenVerifier> verifier = TokenVerifier::Create(std::move(policy));
  if (!verifier.ok()) return verifier.status();

  absl::Duration initial_timeout = options.initial_timeout;
  std::unique_ptr<LocalValidator> v(new LocalValidator(std::move(options), *std::move(verifier)));
  v->stream_thread_ = std::thread(&LocalValidator::StreamLoop, v.get());
  v->watchdog_thread_ = std::thread(&LocalValidator::WatchdogLoop, v.get());

  absl::Status failure;
  {
    absl::MutexLock lock(&v->mu_);
    auto ready = [&v]() { return v->have_state_ || !v->fatal_.ok(); };
    v->mu_.AwaitWithTimeout(absl::Condition(&ready), initial_timeout);
    if (v->have_state_) return v;
    if (!v->fatal_.ok()) {
      failure = v->fatal_;
    } else if (!v->last_error_.ok()) {
      failure = absl::Status(
          v->last_error_.code(),
          absl::StrCat("no key state from signet-server within ",
                       absl::FormatDuration(initial_timeout), ": ", v->last_error_.message()));
    } else {
      failure = absl::DeadlineExceededError(absl::StrCat("no key state from signet-server within ",
                                                         absl::FormatDuration(initial_timeout)));
    }
  }
  return failure;  // `v` is destroyed here: its stream is cancelled and its thread joined.
}

LocalValidator::~LocalValidator() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    if (stream_cancellation_ != nullptr) stream_cancellation_->Cancel();
  }
  if (stream_thread_.joinable()) stream_thread_.join();
  if (watchdog_thread_.joinable()) watchdog_thread_.join();
}

void LocalValidator::StreamLoop() {
  absl::BitGen jitter;
  absl::Duration backoff = options_.initial_backoff;
  while (true) {
    auto cancellation = std::make_shared<WatchCancellation>();
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      stream_cancellation_ = cancellation;
      stream_opened_ = options_.clock->Now();
      silent_reset_ = false;
    }
    StreamProgress stream;
    absl::Status apply_error;
    absl::Status status = client_->WatchKeys(
        [&](const v1::WatchKeysResponse& message) {
          if (stream.first) {
            absl::MutexLock lock(&mu_);
            ++stats_.stream_connects;
          }
          apply_error = Apply(message, &stream);
          return apply_error.ok();
        },
        cancellation.get());
    bool delivered = !stream.first;
    if (!apply_error.ok()) {
      status = apply_error;
    } else if (status.ok()) {
      status = absl::UnavailableError("WatchKeys stream ended");
    }
    {
      absl::MutexLock lock(&mu_);
      stream_cancellation_.reset();
      if (stopping_) return;
      if (silent_reset_) {
        status = absl::UnavailableError(absl::StrCat("nothing heard from signet-server for over ",
                                                     absl::FormatDuration(options_.stale_after),
                                                     "; WatchKeys reopened"));
      }
      ++stats_.stream_failures;
      stats_.stream_up = false;
      last_error_ = status;
      if (!have_state_ && (IsPermanent(status.code()) || !apply_error.ok())) fatal_ = status;
    }
    if (delivered) backoff = options_.initial_backoff;
    // Real time: this only paces reconnects; token logic reads the injected clock.
    absl::Duration wait = backoff * absl::Uniform(jitter, 0.5, 1.0);
    backoff = std::min(backoff * 2, options_.max_backoff);
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), wait);
  }
}

void LocalValidator::WatchdogLoop() {
  // Real time paces the checks; what is stale is decided by the injected clock.
  const absl::Duration tick =
      std::clamp(options_.stale_after / 4, absl::Milliseconds(10), absl::Seconds(1));
  absl::MutexLock lock(&mu_);
  while (!mu_.AwaitWithTimeout(absl::Condition(&stopping_), tick)) {
    if (stream_cancellation_ == nullptr) continue;
    // A stream just opened gets stale_after of its own to deliver.
    const absl::Time heard =
        std::max(absl::FromUnixNanos(last_heard_.load(std::memory_order_acquire)), stream_opened_);
    if (options_.clock->Now() - heard <= options_.stale_after) continue;
    // Silent (a partition that neither resets nor closes): reopen rather than wait for TCP.
    ++stats_.silent_resets;
    silent_reset_ = true;
    stream_cancellation_->Cancel();
    stream_cancellation_.reset();
  }
}

absl::Status LocalValidator::CheckHeartbeatInterval(const v1::WatchKeysResponse& message) {
  if (!message.has_heartbeat_interval()) return absl::OkStatus();
  const absl::Duration interval = FromProtoDuration(message.heartbeat_interval());
  {
    absl::MutexLock lock(&mu_);
    stats_.server_heartbeat_interval = interval;
  }
  if (interval < options_.stale_after) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "signet-server sends heartbeats every ", absl::FormatDuration(interval),
      ", not more often than stale_after (", absl::FormatDuration(options_.stale_after),
      "): an idle stream would be judged stale between two heartbeats; make stale_after longer "
      "or --watch_heartbeat_interval shorter"));
}

absl::Status LocalValidator::Apply(const v1::WatchKeysResponse& message, StreamProgress* stream) {
  const bool first = stream->first;
  stream->first = false;
  absl::Time now = options_.clock->Now();
  if (absl::Status s = CheckHeartbeatInterval(message); !s.ok()) return s;
  if (message.heartbeat()) {
    if (!stream->synced) {
      return absl::DataLossError("signet-server sent a heartbeat before the full state");
    }
    last_heard_.store(absl::ToUnixNanos(now), std::memory_order_release);
    absl::MutexLock lock(&mu_);
    ++stats_.heartbeats;
    return absl::OkStatus();
  }
  {
    absl::MutexLock write(&write_mu_);
    std::shared_ptr<const State> current = std::atomic_load(&state_);
    auto next = std::make_shared<State>();
    if (message.snapshot()) {
      if (!message.jwks_json().empty()) {
        absl::StatusOr<std::vector<std::shared_ptr<const VerifyKey>>> keys =
            ParseKeys(message.jwks_json());
        if (!keys.ok()) return keys.status();
        next->usable = *std::move(keys);
      }
      last_prune_ = now;
    } else {
      if (current == nullptr) {
        return absl::DataLossError("signet-server sent a change before the full state");
      }
      *next = *current;
      if (!message.jwks_json().empty()) {
        absl::StatusOr<std::vector<std::shared_ptr<const VerifyKey>>> keys =
            ParseKeys(message.jwks_json());
        if (!keys.ok()) return keys.status();
        next->usable = *std::move(keys);
      }
      if (now - last_prune_ >= kPruneInterval) {
        next->revocations = next->revocations.Pruned(now);
        last_prune_ = now;
      }
    }
    for (const v1::Key& key : message.keys()) {
      if (key.state() != v1::KEY_STATE_REVOKED) continue;
      std::shared_ptr<const VerifyKey> parsed;
      if (!key.public_jwk().empty()) {
        absl::StatusOr<std::shared_ptr<const VerifyKey>> jwk = ParseJwk(key.public_jwk());
        // A revoked key we cannot parse still names a revoked kid.
        if (jwk.ok() && (*jwk)->kid() == key.key_id()) parsed = *std::move(jwk);
      }
      next->revoked[key.key_id()] = std::move(parsed);
    }
    if (message.token_revocations_size() > 0 || message.subject_revocations_size() > 0) {
      std::vector<RevocationSet::TokenEntry> tokens;
      tokens.reserve(message.token_revocations_size());
      for (const v1::TokenRevocation& t : message.token_revocations()) {
        tokens.push_back({t.token_id(), FromProtoTime(t.expires_at())});
      }
      std::vector<RevocationSet::SubjectEntry> subjects;
      subjects.reserve(message.subject_revocations_size());
      for (const v1::SubjectRevocation& s : message.subject_revocations()) {
        subjects.push_back(
            {s.subject(), FromProtoTime(s.not_before()), FromProtoTime(s.expires_at())});
      }
      next->revocations = next->revocations.WithEntries(tokens, subjects);
    }
    next->version = message.version();
    next->BuildKeySet();
    std::atomic_store(&state_, std::shared_ptr<const State>(std::move(next)));
  }
  if (message.snapshot()) stream->synced = true;
  if (stream->synced) last_heard_.store(absl::ToUnixNanos(now), std::memory_order_release);
  absl::MutexLock lock(&mu_);
  if (message.snapshot()) {
    ++stats_.snapshots;
    stats_.stream_up = true;
    have_state_ = true;
  } else {
    ++stats_.deltas;
    // A stream whose first message is not a full state leaves the old state incomplete.
    if (first) stats_.stream_up = false;
  }
  stats_.version = message.version();
  return absl::OkStatus();
}

bool LocalValidator::RefetchFor(std::string_view kid, absl::Time now) {
  absl::MutexLock lock(&refetch_mu_);
  // Another caller may have fetched it while this one waited.
  if (std::atomic_load(&state_)->keys.Find(kid) != nullptr) return true;
  if (now < last_refetch_ + options_.refetch_interval) return false;
  last_refetch_ = now;
  {
    absl::MutexLock stats_lock(&mu_);
    ++stats_.refetches;
  }
  absl::StatusOr<v1::GetJwksResponse> jwks = refetch_client_->GetJwks();
  if (!jwks.ok()) return false;
  absl::StatusOr<std::vector<std::shared_ptr<const VerifyKey>>> keys = ParseJwks(jwks->jwks_json());
  if (!keys.ok()) return false;
  absl::MutexLock write(&write_mu_);
  std::shared_ptr<const State> current = std::atomic_load(&state_);
  auto next = std::make_shared<State>(*current);
  // Only additions: the stream is the authority on removals and revocations, and may be newer
  // than this answer.
  bool added = false;
  for (std::shared_ptr<const VerifyKey>& key : *keys) {
    if (next->revoked.contains(key->kid())) continue;
    bool known = std::any_of(next->usable.begin(), next->usable.end(),
                             [&](const auto& k) { return k->kid() == key->kid(); });
    if (known) continue;
    next->usable.push_back(std::move(key));
    added = true;
  }
  if (!added) return false;
  next->BuildKeySet();
  std::atomic_store(&state_, std::shared_ptr<const State>(std::move(next)));
  return true;
}

absl::StatusOr<Validation> LocalValidator::Validate(std::string_view token,
                                                    std::string_view audience) {
  absl::Time now = options_.clock->Now();
  if (now - absl::FromUnixNanos(last_heard_.load(std::memory_order_acquire)) >
      options_.stale_after) {
    if (options_.fallback_when_stale) return options_.fallback->Validate(token, audience);
    return absl::UnavailableError(
        absl::StrCat("signet keys are stale: nothing heard from signet-server for over ",
                     absl::FormatDuration(options_.stale_after)));
  }
  std::shared_ptr<const State> state = std::atomic_load(&state_);
  const internal::CachingVerifier::Result r =
      verifier_.Verify(token, state->keys, state->revocations, now, AudienceOf(audience));
  if (r.cached) {
    cache_hits_.fetch_add(1, std::memory_order_relaxed);
    return FromCacheHit(r.reason, *r.entry);
  }
  if (r.reason == Reason::kUnknownKey) return JudgeUnknownKey(token, audience, *r.verified, now);
  return ToValidation(*r.verified, r.answer);
}

absl::StatusOr<Validation> LocalValidator::JudgeUnknownKey(std::string_view token,
                                                           std::string_view audience,
                                                           const VerifyResult& result,
                                                           absl::Time now) {
  absl::StatusOr<TokenHeader> header = PeekHeader(token, options_.max_token_bytes);
  if (!header.ok()) return ToValidation(result);
  if (header->algorithm == Algorithm::kHS256) {
    if (options_.fallback != nullptr) return options_.fallback->Validate(token, audience);
    return absl::FailedPreconditionError("HS256 tokens need a remote validator");
  }
  std::shared_ptr<const State> state = std::atomic_load(&state_);
  // Revoked, and the server did not send its public key: refused without a signature check.
  if (state->revoked.contains(header->kid)) return Validation{Reason::kKeyRevoked, {}};
  if (!RefetchFor(header->kid, now)) return ToValidation(result);
  state = std::atomic_load(&state_);
  return ToValidation(verifier_.verifier().Verify(token, state->keys, &state->revocations, now,
                                                  AudienceOf(audience)));
}

LocalValidator::Stats LocalValidator::stats() const {
  absl::MutexLock lock(&mu_);
  Stats stats = stats_;
  stats.cache_hits = cache_hits_.load(std::memory_order_relaxed);
  stats.last_heard = absl::FromUnixNanos(last_heard_.load(std::memory_order_acquire));
  return stats;
}

bool LocalValidator::WaitForVersion(uint64_t version, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto reached = [this, version]() { return have_state_ && stats_.version >= version; };
  return mu_.AwaitWithTimeout(absl::Condition(&reached), timeout);
}

}  // namespace signet
