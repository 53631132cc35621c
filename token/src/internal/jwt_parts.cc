#include "internal/jwt_parts.h"

#include <cmath>
#include <cstdint>

#include "absl/strings/match.h"
#include "internal/strict_json.h"
#include "signet/registered_claims.h"

namespace signet::internal {
namespace {

using rapidjson::SizeType;

// NumericDates beyond 2^53 seconds lose integer precision as JSON numbers in most parsers.
constexpr int64_t kMaxNumericDate = int64_t{1} << 53;

class HeaderHandler {
 public:
  bool Null() { return Scalar(); }
  bool Bool(bool) { return Scalar(); }
  bool Int(int) { return Scalar(); }
  bool Uint(unsigned) { return Scalar(); }
  bool Int64(int64_t) { return Scalar(); }
  bool Uint64(uint64_t) { return Scalar(); }
  bool Double(double) { return Scalar(); }
  bool RawNumber(const char*, SizeType, bool) { return Scalar(); }
  bool String(const char* s, SizeType n, bool) {
    if (tracker_.depth() == 0) return false;
    if (tracker_.depth() == 1) {
      const std::string_view value(s, n);
      switch (member_) {
        case Member::kAlg:
          alg_ = value;
          alg_is_string_ = true;
          break;
        case Member::kKid:
          kid_ = value;
          kid_is_string_ = true;
          break;
        case Member::kTyp:
          typ_ok_ = absl::EqualsIgnoreCase(absl::string_view(value.data(), value.size()), "JWT");
          break;
        case Member::kOther:
          break;
      }
    }
    return true;
  }
  bool StartObject() {
    if (tracker_.depth() == 1) NotAString();
    return tracker_.Open(/*is_object=*/true);
  }
  bool Key(const char* s, SizeType n, bool) {
    const std::string_view name(s, n);
    if (tracker_.depth() == 1) {
      member_ = Member::kOther;
      if (name == "alg") {
        member_ = Member::kAlg;
        alg_present_ = true;
      } else if (name == "kid") {
        member_ = Member::kKid;
      } else if (name == "typ") {
        member_ = Member::kTyp;
        typ_present_ = true;
      } else if (name == "crit" || name == "jku" || name == "jwk" || name == "x5u" ||
                 name == "x5c") {
        // crit names extensions we do not implement; the others would fetch or embed a key.
        refused_member_ = true;
      }
    }
    return tracker_.Key(name);
  }
  bool EndObject(SizeType) {
    tracker_.Close(/*is_object=*/true);
    return true;
  }
  bool StartArray() {
    if (tracker_.depth() == 0) return false;  // The root must be an object.
    if (tracker_.depth() == 1) NotAString();
    return tracker_.Open(/*is_object=*/false);
  }
  bool EndArray(SizeType) {
    tracker_.Close(/*is_object=*/false);
    return true;
  }

  Reason Finish(HeaderFields* out) const {
    if (!alg_present_ || !alg_is_string_) return Reason::kMalformed;
    if (alg_ == "EdDSA") {
      out->algorithm = Algorithm::kEdDSA;
    } else if (alg_ == "ES256") {
      out->algorithm = Algorithm::kES256;
    } else if (alg_ == "HS256") {
      out->algorithm = Algorithm::kHS256;
    } else {
      return Reason::kUnsupportedAlgorithm;  // "none" included.
    }
    if (!kid_is_string_ || kid_.empty()) return Reason::kMalformed;
    if (refused_member_) return Reason::kMalformed;
    if (typ_present_ && !typ_ok_) return Reason::kMalformed;
    out->kid = kid_;
    return Reason::kValid;
  }

 private:
  enum class Member { kOther, kAlg, kKid, kTyp };

  bool Scalar() {
    if (tracker_.depth() == 0) return false;
    if (tracker_.depth() == 1) NotAString();
    return true;
  }
  // A member value that is not a string: alg/kid then stay unset (so malformed), typ is wrong.
  void NotAString() {
    if (member_ == Member::kTyp) typ_ok_ = false;
  }

  StructureTracker tracker_;
  Member member_ = Member::kOther;
  std::string_view alg_, kid_;
  bool alg_present_ = false, alg_is_string_ = false, kid_is_string_ = false;
  bool typ_present_ = false, typ_ok_ = false, refused_member_ = false;
};

class ClaimsHandler {
 public:
  explicit ClaimsHandler(ClaimsFields* out) : out_(out) {}

  bool Null() { return NonStringScalar(); }
  bool Bool(bool) { return NonStringScalar(); }
  bool Int(int i) {
    return Number(i >= 0, [i] { return absl::FromUnixSeconds(i); });
  }
  bool Uint(unsigned u) {
    return Number(true, [u] { return absl::FromUnixSeconds(u); });
  }
  bool Int64(int64_t i) {
    return Number(i >= 0 && i < kMaxNumericDate, [i] { return absl::FromUnixSeconds(i); });
  }
  bool Uint64(uint64_t u) {
    return Number(u < static_cast<uint64_t>(kMaxNumericDate),
                  [u] { return absl::FromUnixSeconds(static_cast<int64_t>(u)); });
  }
  bool Double(double d) {
    const bool in_range = std::isfinite(d) && d >= 0 && d < static_cast<double>(kMaxNumericDate);
    return Number(in_range, [d] { return absl::UnixEpoch() + absl::Seconds(d); });
  }
  bool RawNumber(const char*, SizeType, bool) { return false; }  // Not enabled.
  bool String(const char* s, SizeType n, bool) {
    const int depth = tracker_.depth();
    const std::string_view value(s, n);
    if (depth == 1) {
      switch (claim_) {
        case Claim::kIss:
          out_->issuer = value;
          out_->has_issuer = true;
          return true;
        case Claim::kSub:
          out_->subject = value;
          out_->has_subject = true;
          return true;
        case Claim::kJti:
          out_->token_id = value;
          out_->has_token_id = true;
          return true;
        case Claim::kBackend:
          out_->backend = value;
          out_->has_backend = true;
          return true;
        case Claim::kAud:
          out_->audiences.push_back(value);
          return true;
        case Claim::kExp:
        case Claim::kNbf:
        case Claim::kIat:
          return false;
        case Claim::kNone:
          return true;
      }
    }
    if (depth == 2 && in_aud_) {
      out_->audiences.push_back(value);
      return true;
    }
    return depth > 0;
  }
  bool StartObject() {
    const int depth = tracker_.depth();
    if (depth == 1 && claim_ != Claim::kNone) return false;
    if (depth == 2 && in_aud_) return false;
    return tracker_.Open(/*is_object=*/true);
  }
  bool Key(const char* s, SizeType n, bool) {
    const std::string_view name(s, n);
    if (tracker_.depth() == 1) {
      claim_ = RegisteredClaimOf(name);
      if (claim_ != Claim::kNone) {
        // Registered names are told apart by a bit each; only the other names (which can never
        // equal a registered one) go through the tracker's duplicate scan.
        const uint32_t bit = uint32_t{1} << static_cast<int>(claim_);
        if (registered_seen_ & bit) return false;
        registered_seen_ |= bit;
        return true;
      }
      out_->has_caller_claims = true;
    }
    return tracker_.Key(name);
  }
  bool EndObject(SizeType) {
    tracker_.Close(/*is_object=*/true);
    return true;
  }
  bool StartArray() {
    const int depth = tracker_.depth();
    if (depth == 0) return false;  // The root must be an object.
    if (depth == 1) {
      if (claim_ == Claim::kAud) {
        in_aud_ = true;
      } else if (claim_ != Claim::kNone) {
        return false;
      }
    }
    if (depth == 2 && in_aud_) return false;
    return tracker_.Open(/*is_object=*/false);
  }
  bool EndArray(SizeType) {
    if (tracker_.depth() == 2) in_aud_ = false;
    tracker_.Close(/*is_object=*/false);
    return true;
  }

 private:
  using Claim = RegisteredClaim;

  // Values other than strings and numbers are fine only for caller claims.
  bool NonStringScalar() {
    const int depth = tracker_.depth();
    if (depth == 1) return claim_ == Claim::kNone;
    if (depth == 2 && in_aud_) return false;
    return depth > 0;
  }

  template <typename ToTime>
  bool Number(bool in_range, ToTime to_time) {
    const int depth = tracker_.depth();
    if (depth == 1) {
      switch (claim_) {
        case Claim::kExp:
          out_->has_expires_at = true;
          return in_range && (out_->expires_at = to_time(), true);
        case Claim::kNbf:
          out_->has_not_before = true;
          return in_range && (out_->not_before = to_time(), true);
        case Claim::kIat:
          out_->has_issued_at = true;
          return in_range && (out_->issued_at = to_time(), true);
        case Claim::kNone:
          return true;
        default:
          return false;  // A string claim.
      }
    }
    if (depth == 2 && in_aud_) return false;
    return depth > 0;
  }

  ClaimsFields* out_;
  StructureTracker tracker_;
  Claim claim_ = Claim::kNone;
  uint32_t registered_seen_ = 0;  // One bit per Claim met at depth 1.
  bool in_aud_ = false;           // Directly inside the aud array.
};

}  // namespace

Reason ParseHeader(std::string* buffer, HeaderFields* out) {
  HeaderHandler handler;
  if (!ParseInsitu(buffer, handler)) return Reason::kMalformed;
  return handler.Finish(out);
}

bool ParseClaims(std::string* buffer, ClaimsFields* out) {
  ClaimsHandler handler(out);
  if (!ParseInsitu(buffer, handler)) return false;
  return out->has_subject && !out->subject.empty() && out->has_expires_at;
}

}  // namespace signet::internal
