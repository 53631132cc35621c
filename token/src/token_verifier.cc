#include "signet/token_verifier.h"

#include <array>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "internal/base64url_internal.h"
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

bool Contains(const absl::InlinedVector<std::string_view, 2>& values, std::string_view value) {
  for (std::string_view v : values) {
    if (v == value) return true;
  }
  return false;
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

VerifyResult TokenVerifier::Verify(std::string_view token, const KeySet& keys,
                                   const RevocationSet* revocations, absl::Time now,
                                   std::string_view audience) const {
  VerifyResult result;
  Scratch& scratch = ThreadScratch();
  Segments segments;
  internal::HeaderFields header;
  result.reason = ReadHeader(token, policy_.max_token_bytes, &scratch, &segments, &header);
  if (result.reason != Reason::kValid) return result;

  const KeySet::Entry* entry = keys.Find(header.kid);
  if (entry == nullptr) {
    result.reason = Reason::kUnknownKey;
    return result;
  }
  if (entry->key->algorithm() != header.algorithm) {
    result.reason = Reason::kAlgorithmMismatch;
    return result;
  }
  // The segment was decoded above; a wrong length is a bad signature.
  if (!entry->key->Verify(segments.signing_input, scratch.signature)) {
    result.reason = Reason::kBadSignature;
    return result;
  }

  // Only now is the payload read. It is kept as signed, then parsed in place in the scratch buffer
  // (in-situ parsing rewrites it).
  result.token = VerifiedToken();
  VerifiedToken& t = *result.token;
  t.payload_json_.assign(scratch.payload);
  internal::ClaimsFields claims;
  if (!internal::ParseClaims(&scratch.payload, &claims)) {
    result.token.reset();
    result.reason = Reason::kMalformed;
    return result;
  }
  t.issuer_.assign(claims.issuer);
  t.subject_.assign(claims.subject);
  t.backend_.assign(claims.backend);
  t.audiences_.reserve(claims.audiences.size());
  for (std::string_view aud : claims.audiences) t.audiences_.emplace_back(aud);
  t.expires_at_ = claims.expires_at;
  t.issued_at_ = claims.has_issued_at ? claims.issued_at : absl::InfinitePast();
  t.not_before_ = claims.has_not_before ? claims.not_before : absl::InfinitePast();
  t.token_id_.assign(claims.token_id);
  t.key_id_ = entry->key->kid();
  t.has_caller_claims_ = claims.has_caller_claims;

  const absl::Duration leeway = policy_.leeway;
  if (claims.expires_at + leeway <= now) {
    result.reason = Reason::kExpired;
    return result;
  }
  if ((claims.has_not_before && claims.not_before - leeway > now) ||
      (claims.has_issued_at && claims.issued_at - leeway > now)) {
    result.reason = Reason::kNotYetValid;
    return result;
  }
  if (!claims.has_issuer || claims.issuer != policy_.issuer) {
    result.reason = Reason::kIssuerMismatch;
    return result;
  }
  if (!audience.empty() && !Contains(claims.audiences, audience)) {
    result.reason = Reason::kAudienceMismatch;
    return result;
  }
  if (entry->status == KeySet::Status::kRevoked) {
    result.reason = Reason::kKeyRevoked;
    return result;
  }
  if (revocations != nullptr) {
    if (claims.has_token_id && revocations->IsTokenRevoked(claims.token_id, now)) {
      result.reason = Reason::kTokenRevoked;
      return result;
    }
    // A token without iat counts as issued at the beginning of time: revocation fails closed.
    if (revocations->IsSubjectRevoked(claims.subject, t.issued_at_, now)) {
      result.reason = Reason::kSubjectRevoked;
      return result;
    }
  }
  result.reason = Reason::kValid;
  return result;
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
