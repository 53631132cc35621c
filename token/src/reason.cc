#include "signet/reason.h"

namespace signet {

std::string_view ReasonName(Reason reason) {
  switch (reason) {
    case Reason::kValid:
      return "VALID";
    case Reason::kMalformed:
      return "MALFORMED";
    case Reason::kUnsupportedAlgorithm:
      return "UNSUPPORTED_ALGORITHM";
    case Reason::kUnknownKey:
      return "UNKNOWN_KEY";
    case Reason::kAlgorithmMismatch:
      return "ALGORITHM_MISMATCH";
    case Reason::kBadSignature:
      return "BAD_SIGNATURE";
    case Reason::kExpired:
      return "EXPIRED";
    case Reason::kNotYetValid:
      return "NOT_YET_VALID";
    case Reason::kIssuerMismatch:
      return "ISSUER_MISMATCH";
    case Reason::kAudienceMismatch:
      return "AUDIENCE_MISMATCH";
    case Reason::kKeyRevoked:
      return "KEY_REVOKED";
    case Reason::kTokenRevoked:
      return "TOKEN_REVOKED";
    case Reason::kSubjectRevoked:
      return "SUBJECT_REVOKED";
  }
  return "UNKNOWN";
}

}  // namespace signet
