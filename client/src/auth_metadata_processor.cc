#include "signet/auth_metadata_processor.h"

#include <string>
#include <utility>

#include "internal/authenticate.h"

namespace signet {

BearerAuthMetadataProcessor::BearerAuthMetadataProcessor(std::shared_ptr<const AuthPolicy> policy)
    : policy_(std::move(policy)) {}

grpc::Status BearerAuthMetadataProcessor::Process(const InputMetadata& auth_metadata,
                                                  grpc::AuthContext* /*context*/,
                                                  OutputMetadata* /*consumed_auth_metadata*/,
                                                  OutputMetadata* /*response_metadata*/) {
  std::string_view method;
  if (auto it = auth_metadata.find(":path"); it != auth_metadata.end()) {
    method = std::string_view(it->second.data(), it->second.size());
  }
  Requirement requirement = policy_->RequirementFor(method);
  if (requirement == Requirement::kOptional) return grpc::Status::OK;
  std::shared_ptr<const internal::CallState> state =
      internal::Authenticate(*policy_, requirement, auth_metadata);
  if (!state->rejected) return grpc::Status::OK;
  return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                      std::string(AuthFailureMessage(state->failure, state->token_reason)));
}

}  // namespace signet
