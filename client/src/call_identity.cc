#include "signet/call_identity.h"

#include <string>
#include <utility>

#include "internal/authenticate.h"
#include "internal/call_state.h"
#include "internal/identity_table.h"

namespace signet {

const Identity* CallIdentity::identity() const {
  return state_->failure == AuthFailure::kNone ? &state_->identity : nullptr;
}

bool CallIdentity::Rejected() const { return state_->rejected; }

AuthFailure CallIdentity::failure() const { return state_->failure; }

Reason CallIdentity::token_reason() const { return state_->token_reason; }

std::string_view CallIdentity::message() const {
  return AuthFailureMessage(state_->failure, state_->token_reason);
}

grpc::Status CallIdentity::status() const {
  if (state_->failure == AuthFailure::kNone) return grpc::Status::OK;
  return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, std::string(message()));
}

CallIdentity IdentityOf(const grpc::ServerContextBase* context) {
  std::shared_ptr<const internal::CallState> state =
      context == nullptr ? nullptr : internal::IdentityTable::Global().Get(context);
  if (state == nullptr) state = internal::NotInterceptedState();
  return CallIdentity(std::move(state));
}

}  // namespace signet
