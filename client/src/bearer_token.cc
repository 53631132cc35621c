#include "signet/bearer_token.h"

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"

namespace signet {

namespace {

constexpr std::string_view kBearer = "bearer";

bool IsSpace(char c) { return c == ' ' || c == '\t'; }

}  // namespace

BearerToken ParseAuthorization(std::string_view value) {
  if (value.size() < kBearer.size() ||
      !absl::EqualsIgnoreCase(absl::string_view(value.data(), kBearer.size()),
                              absl::string_view(kBearer.data(), kBearer.size()))) {
    return {AuthFailure::kNotBearer, {}};
  }
  std::string_view rest = value.substr(kBearer.size());
  if (!rest.empty() && !IsSpace(rest.front())) return {AuthFailure::kNotBearer, {}};
  while (!rest.empty() && IsSpace(rest.front())) rest.remove_prefix(1);
  while (!rest.empty() && IsSpace(rest.back())) rest.remove_suffix(1);
  if (rest.empty()) return {AuthFailure::kEmptyToken, {}};
  return {AuthFailure::kNone, rest};
}

}  // namespace signet
