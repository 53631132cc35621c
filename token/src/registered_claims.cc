#include "signet/registered_claims.h"

namespace signet {

RegisteredClaim RegisteredClaimOf(std::string_view name) {
  // Every registered name but one has three letters: one length test rules out most caller claims.
  if (name.size() != 3 && name.size() != ClaimName(RegisteredClaim::kBackend).size()) {
    return RegisteredClaim::kNone;
  }
  for (size_t i = 0; i < kRegisteredClaimNames.size(); ++i) {
    if (name == kRegisteredClaimNames[i]) return static_cast<RegisteredClaim>(i + 1);
  }
  return RegisteredClaim::kNone;
}

}  // namespace signet
