#include "signet/auth_failure.h"

namespace signet {

std::string_view AuthFailureName(AuthFailure failure) {
  switch (failure) {
    case AuthFailure::kNone:
      return "NONE";
    case AuthFailure::kMissingToken:
      return "MISSING_TOKEN";
    case AuthFailure::kNotBearer:
      return "NOT_BEARER";
    case AuthFailure::kEmptyToken:
      return "EMPTY_TOKEN";
    case AuthFailure::kDuplicateHeader:
      return "DUPLICATE_HEADER";
    case AuthFailure::kBinaryHeader:
      return "BINARY_HEADER";
    case AuthFailure::kInvalidToken:
      return "INVALID_TOKEN";
    case AuthFailure::kValidatorUnavailable:
      return "VALIDATOR_UNAVAILABLE";
    case AuthFailure::kNotIntercepted:
      return "NOT_INTERCEPTED";
  }
  return "UNKNOWN";
}

namespace {

std::string_view InvalidTokenMessage(Reason reason) {
  switch (reason) {
    case Reason::kValid:
      return "invalid token";
    case Reason::kMalformed:
      return "malformed token";
    case Reason::kUnsupportedAlgorithm:
      return "token algorithm not supported";
    case Reason::kUnknownKey:
      return "token signed by an unknown key";
    case Reason::kAlgorithmMismatch:
      return "token algorithm does not match its key";
    case Reason::kBadSignature:
      return "token signature does not verify";
    case Reason::kExpired:
      return "token expired";
    case Reason::kNotYetValid:
      return "token not yet valid";
    case Reason::kIssuerMismatch:
      return "token issuer not accepted";
    case Reason::kAudienceMismatch:
      return "token not meant for this service (audience mismatch)";
    case Reason::kKeyRevoked:
      return "token signing key revoked";
    case Reason::kTokenRevoked:
      return "token revoked";
    case Reason::kSubjectRevoked:
      return "token subject's tokens revoked";
  }
  return "invalid token";
}

}  // namespace

std::string_view AuthFailureMessage(AuthFailure failure, Reason token_reason) {
  switch (failure) {
    case AuthFailure::kNone:
      return "";
    case AuthFailure::kMissingToken:
      return "missing bearer token";
    case AuthFailure::kNotBearer:
      return "authorization header is not a bearer token";
    case AuthFailure::kEmptyToken:
      return "empty bearer token";
    case AuthFailure::kDuplicateHeader:
      return "more than one authorization header";
    case AuthFailure::kBinaryHeader:
      return "authorization-bin header not accepted";
    case AuthFailure::kInvalidToken:
      return InvalidTokenMessage(token_reason);
    case AuthFailure::kValidatorUnavailable:
      return "cannot validate tokens right now";
    case AuthFailure::kNotIntercepted:
      return "no signet interceptor saw this call";
  }
  return "unauthenticated";
}

}  // namespace signet
