#include "signet/token_verifier.h"

#include <array>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "internal/base64url_internal.h"
#include "internal/claim_checks.h"
#include "internal/jwt_parts.h"

namespace signet {
namespace {

constexpr size_t kMinTokenBytes = 256;
constexpr size_t kMaxTokenBytes = 1024 * 1024;
constexpr absl::Duration kMaxLeeway = absl::Minutes(5);

// The parsed headers of the last few distinct header segments seen on this thread. Every token
// a key signs carries the same header, so in steady state the header is compared, not decoded
// and parsed again. The answer is a pure function of the segment's bytes, so reusing it is exact.
class HeaderCache {
 public:
  struct Entry {
    std::string encoded;  // The base64url header segment.
    Reason reason = Reason::kMalformed;
    Algorithm algorithm = Algorithm::kEdDSA;
    std::string kid;
  };

  const Entry* Find(std::string_view encoded) const {
    for (const Entry& e : entries_) {
      if (e.encoded.size() == encoded.size() && e.encoded == encoded) return &e;
    }
    return nullptr;
  }

  // Headers longer than kMaxEncodedBytes are not kept, so the cache stays small.
  const Entry* Insert(std::string_view encoded, Reason reason, const internal::HeaderFields& h) {
    if (encoded.size() > kMaxEncodedBytes) return nullptr;
    Entry& e = entries_[next_];
    next_ = (next_ + 1) % kEntries;
    e.encoded.assign(encoded);
    e.reason = reason;
    e.algorithm = h.algorithm;
    e.kid.assign(h.kid);
    return &e;
  }

 private:
  static constexpr size_t kEntries = 4;
  static constexpr size_t kMaxEncodedBytes = 512;
  std::array<Entry, kEntries> entries_;
  size_t next_ = 0;
};

// Per-thread buffers reused across calls: decoding and in-situ parsing then allocate nothing once
// warm. Verify never re-enters itself on a thread, so one set per thread is enough.
struct Scratch {
  std::string header;
  std::string signature;
  std::string payload;
  HeaderCache headers;
};

Scratch& ThreadScratch() {
  thread_local Scratch scratch;
  return scratch;
}

struct Segments {
  std::string_view signing_input;  // "header.payload"
  std::string_view payload;
  std::string_view signature;
};

// Size and shape, then the header. Decodes the signature and payload segments into
// scratch->signature and scratch->payload (one pass each, which is also the canonical-form check)
// and reads the header, from the thread's cache when this header was seen before. On kValid,
// *header points into the cache or into scratch->header.
Reason ReadHeader(std::string_view token, size_t max_token_bytes, Scratch* scratch,
                  Segments* segments, internal::HeaderFields* header) {
  if (token.size() > max_token_bytes) return Reason::kMalformed;
  const size_t dot1 = token.find('.');
  if (dot1 == std::string_view::npos) return Reason::kMalformed;
  const size_t dot2 = token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos) return Reason::kMalformed;
  const std::string_view header_b64 = token.substr(0, dot1);
  segments->signing_input = token.substr(0, dot2);
  segments->payload = token.substr(dot1 + 1, dot2 - dot1 - 1);
  segments->signature = token.substr(dot2 + 1);  // A third '.' fails the alphabet check.
  if (!internal::DecodeCanonicalBase64Url(segments->signature, &scratch->signature) ||
      !internal::DecodeCanonicalBase64Url(segments->payload, &scratch->payload)) {
    return Reason::kMalformed;
  }
  const HeaderCache::Entry* cached = scratch->headers.Find(header_b64);
  if (cached == nullptr) {
    if (!internal::DecodeCanonicalBase64Url(header_b64, &scratch->header)) {
      return Reason::kMalformed;
    }
    const Reason reason = internal::ParseHeader(&scratch->header, header);
    cached = scratch->headers.Insert(header_b64, reason, *header);
    if (cached == nullptr) return reason;  // Too long to keep: *header points into scratch.
  }
  if (cached->reason != Reason::kValid) return cached->reason;
  header->algorithm = cached->algorithm;
  header->kid = cached->kid;
  return Reason::kValid;
}

}  // namespace

absl::StatusOr<TokenVerifier> TokenVerifier::Create(ValidationPolicy policy) {
  if (policy.issuer.empty()) {
    return absl::InvalidArgumentError("the validation policy needs an issuer");
  }
  if (policy.leeway < absl::ZeroDuration() || policy.leeway > kMaxLeeway) {
    return absl::InvalidArgumentError(absl::StrCat("leeway must be between 0 and 5 minutes, not ",
                                                   absl::FormatDuration(policy.leeway)));
  }
  if (policy.max_token_bytes < kMinTokenBytes || policy.max_token_bytes > kMaxTokenBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_token_bytes must be between 256 and 1048576, not ", policy.max_token_bytes));
  }
  return TokenVerifier(std::move(policy));
}

Reason TokenVerifier::ReadClaims(std::string_view token, const KeySet& keys, SignedClaims* claims,
                                 const KeySet::Entry** entry) const {
  Scratch& scratch = ThreadScratch();
  Segments segments;
  internal::HeaderFields header;
  const Reason reason = ReadHeader(token, policy_.max_token_bytes, &scratch, &segments, &header);
  if (reason != Reason::kValid) return reason;

  *entry = keys.Find(header.kid);
  if (*entry == nullptr) return Reason::kUnknownKey;
  const VerifyKey& key = *(*entry)->key;
  if (key.algorithm() != header.algorithm) return Reason::kAlgorithmMismatch;
  // The segment was decoded above; a wrong length is a bad signature.
  if (!key.Verify(segments.signing_input, scratch.signature)) return Reason::kBadSignature;

  // Only now is the payload read. It is kept as signed, then parsed in place in the scratch buffer
  // (in-situ parsing rewrites it).
  claims->payload_json_.assign(scratch.payload);
  internal::ClaimsFields fields;
  if (!internal::ParseClaims(&scratch.payload, &fields)) return Reason::kMalformed;
  claims->issuer_.assign(fields.issuer);
  claims->subject_.assign(fields.subject);
  claims->backend_.assign(fields.backend);
  claims->audiences_.reserve(fields.audiences.size());
  for (std::string_view aud : fields.audiences) claims->audiences_.emplace_back(aud);
  claims->expires_at_ = fields.expires_at;
  claims->issued_at_ = fields.has_issued_at ? fields.issued_at : absl::InfinitePast();
  claims->not_before_ = fields.has_not_before ? fields.not_before : absl::InfinitePast();
  claims->token_id_.assign(fields.token_id);
  claims->key_id_ = key.kid();
  claims->has_caller_claims_ = fields.has_caller_claims;
  return Reason::kValid;
}

VerifyResult TokenVerifier::Verify(std::string_view token, const KeySet& keys,
                                   const RevocationSet* revocations, absl::Time now,
                                   Audience audience) const {
  VerifyResult result;
  SignedClaims claims;
  const KeySet::Entry* entry = nullptr;
  result.reason = ReadClaims(token, keys, &claims, &entry);
  if (result.reason != Reason::kValid) return result;
  internal::ClaimsToJudge judged;
  judged.issued_at = claims.issued_at_;
  judged.not_before = claims.not_before_;
  judged.expires_at = claims.expires_at_;
  judged.issuer_matches = claims.issuer_ == policy_.issuer;
  judged.audience_matches = audience.AcceptedBy(claims.audiences_);
  judged.key_status = entry->status;
  judged.token_id = claims.token_id_;
  judged.subject = claims.subject_;
  result.reason = internal::JudgeClaims(judged, revocations, policy_.leeway, now);
  if (result.reason == Reason::kValid) result.token = VerifiedToken(std::move(claims));
  return result;
}

std::optional<SignedClaims> TokenVerifier::ReadSigned(std::string_view token, const KeySet& keys,
                                                      Reason* reason) const {
  SignedClaims claims;
  const KeySet::Entry* entry = nullptr;
  const Reason read = ReadClaims(token, keys, &claims, &entry);
  if (reason != nullptr) *reason = read;
  if (read != Reason::kValid) return std::nullopt;
  return claims;
}

absl::StatusOr<TokenHeader> PeekHeader(std::string_view token, size_t max_token_bytes) {
  Scratch& scratch = ThreadScratch();
  Segments segments;
  internal::HeaderFields header;
  const Reason reason = ReadHeader(token, max_token_bytes, &scratch, &segments, &header);
  if (reason != Reason::kValid) {
    const std::string_view name = ReasonName(reason);
    return absl::InvalidArgumentError(absl::string_view(name.data(), name.size()));
  }
  return TokenHeader{header.algorithm, std::string(header.kid)};
}

}  // namespace signet
