// The claims signet itself writes into every token, named once: the parser, the signer, the
// caller-claims filter and the discovery document all read them from here.
//
// Example:
//   if (IsRegisteredClaim(name)) return Refuse(name);     // a caller may not set "exp"
//   switch (RegisteredClaimOf(name)) { case RegisteredClaim::kExp: ... }
//   writer.Key(ClaimName(RegisteredClaim::kIat));
#ifndef SIGNET_REGISTERED_CLAIMS_H_
#define SIGNET_REGISTERED_CLAIMS_H_

#include <array>
#include <string_view>

namespace signet {

// kNone: a caller claim. The others are RFC 7519's registered claims signet uses, and backend
// (the auth backend that vouched for the subject).
enum class RegisteredClaim { kNone, kIss, kSub, kAud, kExp, kNbf, kIat, kJti, kBackend };

// Every registered claim's name, in the enum's order (kNone left out).
inline constexpr std::array<std::string_view, 8> kRegisteredClaimNames = {
    "iss", "sub", "aud", "exp", "nbf", "iat", "jti", "backend"};

// "iss" for kIss...; empty for kNone.
constexpr std::string_view ClaimName(RegisteredClaim claim) {
  return claim == RegisteredClaim::kNone ? std::string_view()
                                         : kRegisteredClaimNames[static_cast<int>(claim) - 1];
}

// The registered claim `name` is, or kNone.
RegisteredClaim RegisteredClaimOf(std::string_view name);

// True for the names caller claims may not use.
inline bool IsRegisteredClaim(std::string_view name) {
  return RegisteredClaimOf(name) != RegisteredClaim::kNone;
}

}  // namespace signet

#endif  // SIGNET_REGISTERED_CLAIMS_H_
