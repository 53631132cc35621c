#include "signet/algorithm.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace signet {

std::string_view AlgorithmName(Algorithm alg) {
  switch (alg) {
    case Algorithm::kEdDSA:
      return "EdDSA";
    case Algorithm::kES256:
      return "ES256";
    case Algorithm::kHS256:
      return "HS256";
  }
  return "UNKNOWN";
}

absl::StatusOr<Algorithm> AlgorithmFromName(std::string_view name) {
  if (name == "EdDSA") return Algorithm::kEdDSA;
  if (name == "ES256") return Algorithm::kES256;
  if (name == "HS256") return Algorithm::kHS256;
  // The name comes from untrusted input: bound what is echoed back.
  return absl::InvalidArgumentError(
      absl::StrCat("unsupported algorithm \"",
                   absl::string_view(name.data(), std::min<size_t>(name.size(), 16)), "\""));
}

}  // namespace signet
