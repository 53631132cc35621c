#include "signet/auth_policy.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace signet {

std::string_view RequirementName(Requirement requirement) {
  return requirement == Requirement::kOptional ? "OPTIONAL" : "REQUIRED";
}

namespace {

// "/pkg.Service/" -> kService, "/pkg.Service/Method" -> kMethod.
enum class KeyKind { kBad, kService, kMethod };

KeyKind KindOf(std::string_view key) {
  if (key.size() < 3 || key.front() != '/') return KeyKind::kBad;
  size_t slash = key.find('/', 1);
  if (slash == std::string_view::npos || slash == 1) return KeyKind::kBad;
  if (slash == key.size() - 1) return KeyKind::kService;
  if (key.find('/', slash + 1) != std::string_view::npos) return KeyKind::kBad;
  return KeyKind::kMethod;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const AuthPolicy>> AuthPolicy::Create(AuthOptions options) {
  if (options.validator == nullptr) {
    return absl::InvalidArgumentError("AuthOptions.validator is required");
  }
  if (options.audience.empty() == !options.any_audience) {
    return absl::InvalidArgumentError(
        options.any_audience
            ? "AuthOptions: give audience or any_audience, not both"
            : "AuthOptions: name the audience tokens must carry, or set any_audience = true");
  }
  std::shared_ptr<AuthPolicy> policy(new AuthPolicy());
  for (const auto& [key, requirement] : options.methods) {
    switch (KindOf(key)) {
      case KeyKind::kService:
        policy->services_.emplace(key, requirement);
        break;
      case KeyKind::kMethod:
        policy->exact_.emplace(key, requirement);
        break;
      case KeyKind::kBad:
        return absl::InvalidArgumentError(absl::StrCat(
            "method key \"", key, "\" is neither \"/pkg.Service/\" nor \"/pkg.Service/Method\""));
    }
  }
  policy->validator_ = std::move(options.validator);
  policy->audience_ = std::move(options.audience);
  policy->any_audience_ = options.any_audience;
  policy->default_requirement_ = options.default_requirement;
  return std::shared_ptr<const AuthPolicy>(std::move(policy));
}

Requirement AuthPolicy::RequirementFor(std::string_view method) const {
  if (auto it = exact_.find(absl::string_view(method.data(), method.size())); it != exact_.end()) {
    return it->second;
  }
  if (!services_.empty() && !method.empty() && method.front() == '/') {
    size_t slash = method.find('/', 1);
    if (slash != std::string_view::npos) {
      if (auto it = services_.find(absl::string_view(method.data(), slash + 1));
          it != services_.end()) {
        return it->second;
      }
    }
  }
  return default_requirement_;
}

}  // namespace signet
