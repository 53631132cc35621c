#include "internal/authenticate.h"

#include <array>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"

namespace signet::internal {

namespace {

constexpr std::string_view kAuthorization = "authorization";
constexpr std::string_view kAuthorizationBin = "authorization-bin";

std::string_view View(grpc::string_ref s) { return std::string_view(s.data(), s.size()); }

}  // namespace

namespace {

using Table = std::array<std::shared_ptr<const CallState>, 2>;  // Indexed by Requirement.

std::shared_ptr<const CallState> MakeState(AuthFailure failure, Reason reason,
                                           Requirement requirement) {
  auto state = std::make_shared<CallState>();
  state->failure = failure;
  state->token_reason = reason;
  state->requirement = requirement;
  state->rejected = requirement == Requirement::kRequired;
  return state;
}

size_t Index(Requirement r) { return r == Requirement::kOptional ? 0 : 1; }

// Every identity-less outcome, made once.
struct SharedStates {
  std::array<Table, static_cast<size_t>(AuthFailure::kNotIntercepted) + 1> by_failure;
  std::array<Table, kReasonCount> by_reason;  // For kInvalidToken.
  std::shared_ptr<const CallState> not_intercepted;

  SharedStates() {
    for (size_t f = 0; f < by_failure.size(); ++f) {
      for (Requirement r : {Requirement::kOptional, Requirement::kRequired}) {
        by_failure[f][Index(r)] = MakeState(static_cast<AuthFailure>(f), Reason::kValid, r);
      }
    }
    for (int reason = 0; reason < kReasonCount; ++reason) {
      for (Requirement r : {Requirement::kOptional, Requirement::kRequired}) {
        by_reason[reason][Index(r)] =
            MakeState(AuthFailure::kInvalidToken, static_cast<Reason>(reason), r);
      }
    }
    not_intercepted = std::make_shared<CallState>();  // kNotIntercepted, rejected.
  }
};

const SharedStates& Shared() {
  static const SharedStates* const states = new SharedStates();
  return *states;
}

}  // namespace

BearerToken FindBearerToken(const Metadata& metadata) {
  BearerToken found{AuthFailure::kMissingToken, {}};
  size_t headers = 0;
  // Keys are lowercase on the wire (HTTP/2); the map is ordered, so both keys are found by range.
  auto range = metadata.equal_range(grpc::string_ref(kAuthorization.data(), kAuthorization.size()));
  for (auto it = range.first; it != range.second; ++it) {
    if (++headers == 1) found = ParseAuthorization(View(it->second));
  }
  if (metadata.count(grpc::string_ref(kAuthorizationBin.data(), kAuthorizationBin.size())) > 0) {
    return {AuthFailure::kBinaryHeader, {}};
  }
  if (headers > 1) return {AuthFailure::kDuplicateHeader, {}};
  return found;
}

std::shared_ptr<const CallState> Authenticate(const AuthPolicy& policy, Requirement requirement,
                                              const Metadata& metadata) {
  const SharedStates& shared = Shared();
  BearerToken bearer = FindBearerToken(metadata);
  if (bearer.failure != AuthFailure::kNone) {
    return shared.by_failure[static_cast<size_t>(bearer.failure)][Index(requirement)];
  }
  absl::StatusOr<Validation> validation =
      policy.validator().Validate(bearer.token, policy.audience());
  if (!validation.ok()) {
    return shared
        .by_failure[static_cast<size_t>(AuthFailure::kValidatorUnavailable)][Index(requirement)];
  }
  if (!validation->valid()) {
    int reason = static_cast<int>(validation->reason);
    if (reason < 0 || reason >= kReasonCount) reason = static_cast<int>(Reason::kMalformed);
    return shared.by_reason[reason][Index(requirement)];
  }
  auto state = std::make_shared<CallState>();
  state->failure = AuthFailure::kNone;
  state->requirement = requirement;
  state->rejected = false;
  state->identity = std::move(validation->identity);
  return state;
}

std::shared_ptr<const CallState> NotInterceptedState() { return Shared().not_intercepted; }

}  // namespace signet::internal
