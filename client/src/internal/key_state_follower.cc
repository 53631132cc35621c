#include "internal/key_state_follower.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "signet/jwk.h"
#include "signet/proto_time.h"

namespace signet::internal {
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

absl::StatusOr<std::vector<std::shared_ptr<const VerifyKey>>> ParseServerJwks(
    std::string_view jwks) {
  absl::StatusOr<std::vector<std::shared_ptr<const VerifyKey>>> keys = ParseJwks(jwks);
  if (!keys.ok()) {
    return absl::DataLossError(absl::StrCat("signet-server sent a JWK Set that does not parse: ",
                                            keys.status().message()));
  }
  return keys;
}

// The revoked keys a message names, each with its public key when the server sent one that parses
// and names the same kid (a revoked key we cannot parse still names a revoked kid).
void AddRevokedKeys(const v1::WatchKeysResponse& message, KeyState* state) {
  for (const v1::Key& key : message.keys()) {
    if (key.state() != v1::KEY_STATE_REVOKED) continue;
    std::shared_ptr<const VerifyKey> parsed;
    if (!key.public_jwk().empty()) {
      absl::StatusOr<std::shared_ptr<const VerifyKey>> jwk = ParseJwk(key.public_jwk());
      if (jwk.ok() && (*jwk)->kid() == key.key_id()) parsed = *std::move(jwk);
    }
    state->revoked[key.key_id()] = std::move(parsed);
  }
}

void AddRevocations(const v1::WatchKeysResponse& message, KeyState* state) {
  if (message.token_revocations_size() == 0 && message.subject_revocations_size() == 0) return;
  std::vector<RevocationSet::TokenEntry> tokens;
  tokens.reserve(message.token_revocations_size());
  for (const v1::TokenRevocation& t : message.token_revocations()) {
    tokens.push_back({t.token_id(), FromProtoTime(t.expires_at())});
  }
  std::vector<RevocationSet::SubjectEntry> subjects;
  subjects.reserve(message.subject_revocations_size());
  for (const v1::SubjectRevocation& s : message.subject_revocations()) {
    subjects.push_back({s.subject(), FromProtoTime(s.not_before()), FromProtoTime(s.expires_at())});
  }
  state->revocations = state->revocations.WithEntries(tokens, subjects);
}

}  // namespace

void KeyState::BuildKeySet() {
  KeySet::Builder builder;
  for (const std::shared_ptr<const VerifyKey>& key : usable) {
    if (!revoked.contains(key->kid())) builder.Add(key);
  }
  for (const auto& [kid, key] : revoked) {
    if (key != nullptr) builder.Add(key, KeySet::Status::kRevoked);
  }
  keys = builder.Build();
}

KeyStateFollower::KeyStateFollower(const LocalValidatorOptions& options)
    : options_(options), last_heard_(std::numeric_limits<int64_t>::min()) {
  ClientOptions watch;
  watch.call_credentials = options_.call_credentials;
  client_ = Client::Create(options_.channel, watch);
  ClientOptions refetch = watch;
  refetch.deadline = options_.refetch_timeout;
  refetch_client_ = Client::Create(options_.channel, refetch);
  stream_thread_ = std::thread(&KeyStateFollower::StreamLoop, this);
  watchdog_thread_ = std::thread(&KeyStateFollower::WatchdogLoop, this);
}

KeyStateFollower::~KeyStateFollower() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    if (stream_cancellation_ != nullptr) stream_cancellation_->Cancel();
  }
  if (stream_thread_.joinable()) stream_thread_.join();
  if (watchdog_thread_.joinable()) watchdog_thread_.join();
}

absl::Status KeyStateFollower::AwaitFirstState() {
  const absl::Duration timeout = options_.initial_timeout;
  absl::MutexLock lock(&mu_);
  auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return have_state_ || !fatal_.ok(); };
  mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
  if (have_state_) return absl::OkStatus();
  if (!fatal_.ok()) return fatal_;
  const std::string waited =
      absl::StrCat("no key state from signet-server within ", absl::FormatDuration(timeout));
  if (!last_error_.ok()) {
    return absl::Status(last_error_.code(), absl::StrCat(waited, ": ", last_error_.message()));
  }
  return absl::DeadlineExceededError(waited);
}

void KeyStateFollower::StreamLoop() {
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

void KeyStateFollower::WatchdogLoop() {
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

absl::Status KeyStateFollower::CheckHeartbeatInterval(const v1::WatchKeysResponse& message) {
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

absl::StatusOr<std::shared_ptr<const KeyState>> KeyStateFollower::Next(
    const v1::WatchKeysResponse& message, const KeyState* current, absl::Time now) {
  auto next = std::make_shared<KeyState>();
  if (message.snapshot()) {
    last_prune_ = now;
  } else {
    if (current == nullptr) {
      return absl::DataLossError("signet-server sent a change before the full state");
    }
    *next = *current;
    if (now - last_prune_ >= kPruneInterval) {
      next->revocations = next->revocations.Pruned(now);
      last_prune_ = now;
    }
  }
  if (!message.jwks_json().empty()) {
    absl::StatusOr<std::vector<std::shared_ptr<const VerifyKey>>> keys =
        ParseServerJwks(message.jwks_json());
    if (!keys.ok()) return keys.status();
    next->usable = *std::move(keys);
  }
  AddRevokedKeys(message, next.get());
  AddRevocations(message, next.get());
  next->version = message.version();
  next->BuildKeySet();
  return next;
}

absl::Status KeyStateFollower::Apply(const v1::WatchKeysResponse& message, StreamProgress* stream) {
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
    std::shared_ptr<const KeyState> current = state_.Load();
    absl::StatusOr<std::shared_ptr<const KeyState>> next = Next(message, current.get(), now);
    if (!next.ok()) return next.status();
    state_.Publish(*std::move(next));
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

bool KeyStateFollower::RefetchFor(std::string_view kid, absl::Time now) {
  absl::MutexLock lock(&refetch_mu_);
  // Another caller may have fetched it while this one waited.
  if (state_.Load()->keys.Find(kid) != nullptr) return true;
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
  auto next = std::make_shared<KeyState>(*state_.Load());
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
  state_.Publish(std::move(next));
  return true;
}

LocalValidatorStats KeyStateFollower::stats() const {
  absl::MutexLock lock(&mu_);
  LocalValidatorStats stats = stats_;
  stats.last_heard = absl::FromUnixNanos(last_heard_.load(std::memory_order_acquire));
  return stats;
}

bool KeyStateFollower::WaitForVersion(uint64_t version, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto reached = [this, version]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return have_state_ && stats_.version >= version;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&reached), timeout);
}

}  // namespace signet::internal
