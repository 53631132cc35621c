#include "signet/auth_interceptor.h"

#include <grpc/grpc.h>

#include <string>
#include <utility>

#include "grpcpp/server_context.h"
#include "grpcpp/support/interceptor.h"
#include "internal/authenticate.h"
#include "internal/identity_table.h"

namespace signet {

namespace {

using grpc::experimental::InterceptionHookPoints;

// One per call; gRPC destroys it when the call ends, which ends the call's table entry.
class AuthInterceptor final : public grpc::experimental::Interceptor {
 public:
  AuthInterceptor(const AuthPolicy* policy, grpc::ServerContextBase* context,
                  Requirement requirement)
      : policy_(policy), context_(context), requirement_(requirement) {}

  ~AuthInterceptor() override { internal::IdentityTable::Global().Erase(context_, this); }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      internal::Metadata* metadata = methods->GetRecvInitialMetadata();
      StripIdentityMetadata(metadata);
      std::shared_ptr<const internal::CallState> state =
          internal::Authenticate(*policy_, requirement_, *metadata);
      if (state->rejected) {
        // TryCancel() would show the client CANCELLED; this gives it UNAUTHENTICATED and the
        // reason, and drops whatever the handler (which still runs) writes.
        std::string message(AuthFailureMessage(state->failure, state->token_reason));
        grpc_call_cancel_with_status(context_->c_call(), GRPC_STATUS_UNAUTHENTICATED,
                                     message.c_str(), nullptr);
      }
      internal::IdentityTable::Global().Put(context_, this, std::move(state));
    }
    methods->Proceed();
  }

 private:
  static void StripIdentityMetadata(internal::Metadata* metadata) {
    // Keys are ordered: every x-signet-* key sits in one contiguous range.
    grpc::string_ref prefix(kStrippedMetadataPrefix.data(), kStrippedMetadataPrefix.size());
    auto it = metadata->lower_bound(prefix);
    while (it != metadata->end() && it->first.starts_with(prefix)) it = metadata->erase(it);
  }

  const AuthPolicy* policy_;  // Owned by the factory, which outlives the server's calls.
  grpc::ServerContextBase* context_;
  Requirement requirement_;
};

}  // namespace

AuthInterceptorFactory::AuthInterceptorFactory(std::shared_ptr<const AuthPolicy> policy)
    : policy_(std::move(policy)) {}

grpc::experimental::Interceptor* AuthInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  const char* method = info->method();
  Requirement requirement =
      policy_->RequirementFor(method == nullptr ? std::string_view() : std::string_view(method));
  return new AuthInterceptor(policy_.get(), info->server_context(), requirement);
}

}  // namespace signet
