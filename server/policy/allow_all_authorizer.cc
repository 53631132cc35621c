#include "server/policy/authorizer.h"

namespace signet::server {

const char* RpcName(Rpc rpc) {
  switch (rpc) {
    case Rpc::kIssueToken:
      return "IssueToken";
    case Rpc::kValidateToken:
      return "ValidateToken";
    case Rpc::kRevokeKey:
      return "RevokeKey";
    case Rpc::kRotateKey:
      return "RotateKey";
    case Rpc::kListKeys:
      return "ListKeys";
    case Rpc::kGetJwks:
      return "GetJwks";
    case Rpc::kWatchKeys:
      return "WatchKeys";
    case Rpc::kRevokeToken:
      return "RevokeToken";
    case Rpc::kRevokeSubject:
      return "RevokeSubject";
    case Rpc::kCheck:
      return "Check";
  }
  return "Unknown";
}

namespace {

class AllowAllAuthorizer final : public Authorizer {
 public:
  Caller Identify(const grpc::CallbackServerContext&) const override { return Caller{}; }
  absl::Status Authorize(const Caller&, Rpc) const override { return absl::OkStatus(); }
  absl::Status AuthorizeIssue(const Caller&, const IssueRequestView&) const override {
    return absl::OkStatus();
  }
};

}  // namespace

std::unique_ptr<Authorizer> NewAllowAllAuthorizer() {
  return std::make_unique<AllowAllAuthorizer>();
}

}  // namespace signet::server
