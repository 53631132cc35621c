#include "signet/local_validator.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "internal/key_state_follower.h"
#include "signet/validation_cache.h"
#include "signet/validation_policy.h"
#include "signet/verified_token.h"

namespace signet {
namespace {

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

}  // namespace

LocalValidator::LocalValidator(LocalValidatorOptions options, TokenVerifier verifier)
    : options_(std::move(options)),
      verifier_(std::move(verifier), options_.cache_entries, RenderCacheAnswer),
      follower_(std::make_unique<internal::KeyStateFollower>(options_)) {}

LocalValidator::~LocalValidator() = default;

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

  std::unique_ptr<LocalValidator> v(new LocalValidator(std::move(options), *std::move(verifier)));
  // On failure `v` is destroyed here: its stream is cancelled and its threads joined.
  if (absl::Status s = v->follower_->AwaitFirstState(); !s.ok()) return s;
  return v;
}

absl::StatusOr<Validation> LocalValidator::Validate(std::string_view token, Audience audience) {
  absl::Time now = options_.clock->Now();
  if (follower_->Stale(now)) {
    if (options_.fallback_when_stale) return options_.fallback->Validate(token, audience);
    return absl::UnavailableError(
        absl::StrCat("signet keys are stale: nothing heard from signet-server for over ",
                     absl::FormatDuration(options_.stale_after)));
  }
  const internal::KeyState& state = follower_->Read();
  const internal::CachingVerifier::Result r =
      verifier_.Verify(token, state.keys, state.revocations, now, audience);
  if (r.cached) {
    cache_hits_.fetch_add(1, std::memory_order_relaxed);
    return FromCacheHit(r.reason, *r.entry);
  }
  if (r.reason == Reason::kUnknownKey) return JudgeUnknownKey(token, audience, *r.verified, now);
  return ToValidation(*r.verified, r.answer);
}

absl::StatusOr<Validation> LocalValidator::JudgeUnknownKey(std::string_view token,
                                                           Audience audience,
                                                           const VerifyResult& result,
                                                           absl::Time now) {
  absl::StatusOr<TokenHeader> header = PeekHeader(token, options_.max_token_bytes);
  if (!header.ok()) return ToValidation(result);
  if (header->algorithm == Algorithm::kHS256) {
    if (options_.fallback != nullptr) return options_.fallback->Validate(token, audience);
    return absl::FailedPreconditionError("HS256 tokens need a remote validator");
  }
  // Revoked, and the server did not send its public key: refused without a signature check.
  if (follower_->Read().revoked.contains(header->kid)) return Validation{Reason::kKeyRevoked, {}};
  if (!follower_->RefetchFor(header->kid, now)) return ToValidation(result);
  const internal::KeyState& state = follower_->Read();
  return ToValidation(
      verifier_.verifier().Verify(token, state.keys, &state.revocations, now, audience));
}

LocalValidator::Stats LocalValidator::stats() const {
  Stats stats = follower_->stats();
  stats.cache_hits = cache_hits_.load(std::memory_order_relaxed);
  return stats;
}

bool LocalValidator::WaitForVersion(uint64_t version, absl::Duration timeout) {
  return follower_->WaitForVersion(version, timeout);
}

}  // namespace signet
