// Why a token is not valid: one value per way a token can be wrong.
//
// Example:
//   signet::VerifyResult r = verifier.Verify(token, keys, revocations, now, Audience::Any());
//   if (!r.valid()) LogRejection(signet::ReasonName(r.reason));  // "EXPIRED"
#ifndef SIGNET_REASON_H_
#define SIGNET_REASON_H_

#include <string_view>

namespace signet {

// Values match signet.v1.Reason in the proto. Checks run in the order listed (after kValid); the
// first failing check decides.
enum class Reason {
  kValid = 0,                 // The token passed every check.
  kMalformed = 1,             // Not a well-formed, bounded, canonical JWS compact JWT.
  kUnsupportedAlgorithm = 2,  // alg is "none" or not EdDSA/ES256/HS256.
  kUnknownKey = 3,            // No key with this kid.
  kAlgorithmMismatch = 4,     // alg differs from the algorithm of the key kid names.
  kBadSignature = 5,          // The signature does not verify.
  kExpired = 6,               // exp + leeway <= now.
  kNotYetValid = 7,           // nbf (or iat) - leeway > now.
  kIssuerMismatch = 8,        // iss is not the expected issuer.
  kAudienceMismatch = 9,      // The expected audience is not in aud.
  kKeyRevoked = 10,           // The signing key is revoked.
  kTokenRevoked = 11,         // The jti is revoked.
  kSubjectRevoked = 12,       // The subject's tokens issued before a time are revoked.
};

inline constexpr int kReasonCount = 13;

// The proto name without its REASON_ prefix: "VALID" for kValid, "MALFORMED", "BAD_SIGNATURE"...
std::string_view ReasonName(Reason reason);

}  // namespace signet

#endif  // SIGNET_REASON_H_
