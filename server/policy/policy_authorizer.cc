#include "server/policy/policy_authorizer.h"

#include <utility>

#include "server/log.h"
#include "server/policy/peer_identity.h"
#include "server/policy/policy_file.h"

namespace signet::server {

absl::StatusOr<std::unique_ptr<PolicyAuthorizer>> PolicyAuthorizer::Create(Options options) {
  absl::StatusOr<std::string> content = ReadPolicyFile(options.path);
  if (!content.ok()) return content.status();
  absl::StatusOr<Policy> policy = ParsePolicyJson(*content, options.path);
  if (!policy.ok()) return policy.status();
  std::unique_ptr<PolicyAuthorizer> authz(
      new PolicyAuthorizer(std::move(options), *std::move(content), *std::move(policy)));
  if (authz->options_.reload_interval > absl::ZeroDuration()) {
    authz->thread_ = std::thread([a = authz.get()] { a->ReloadLoop(); });
  }
  return authz;
}

PolicyAuthorizer::PolicyAuthorizer(Options options, std::string content, Policy policy)
    : options_(std::move(options)),
      policy_(std::make_shared<const Policy>(std::move(policy))),
      content_(std::move(content)) {}

PolicyAuthorizer::~PolicyAuthorizer() {
  stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

std::shared_ptr<const Policy> PolicyAuthorizer::current() const {
  absl::ReaderMutexLock lock(&mu_);
  return policy_;
}

Caller PolicyAuthorizer::Identify(const grpc::CallbackServerContext& context) const {
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth == nullptr) return Caller{};
  return current()->Identify(ReadPeerNames(*auth));
}

absl::Status PolicyAuthorizer::Authorize(const Caller& caller, Rpc rpc) const {
  return current()->CheckRpc(caller, rpc);
}

absl::Status PolicyAuthorizer::AuthorizeIssue(const Caller& caller,
                                              const IssueRequestView& request) const {
  return current()->CheckIssue(caller, request);
}

absl::StatusOr<bool> PolicyAuthorizer::ReloadIfChanged() {
  absl::MutexLock reload_lock(&reload_mu_);
  absl::StatusOr<std::string> content = ReadPolicyFile(options_.path);
  if (!content.ok()) return content.status();
  if (*content == content_) return false;
  absl::StatusOr<Policy> policy = ParsePolicyJson(*content, options_.path);
  if (!policy.ok()) return policy.status();
  auto fresh = std::make_shared<const Policy>(*std::move(policy));
  {
    absl::MutexLock lock(&mu_);
    policy_ = std::move(fresh);
  }
  content_ = *std::move(content);
  last_failure_.clear();
  return true;
}

void PolicyAuthorizer::ReloadLoop() {
  while (!stop_.WaitForNotificationWithTimeout(options_.reload_interval)) {
    absl::StatusOr<bool> reloaded = ReloadIfChanged();
    if (reloaded.ok()) {
      if (*reloaded) {
        Log(LogLevel::kInfo, "policy_reloaded")
            .Str("path", options_.path)
            .Int("callers", static_cast<int64_t>(current()->rules().size()));
      }
      continue;
    }
    std::string failure(reloaded.status().message());
    absl::MutexLock reload_lock(&reload_mu_);
    if (failure == last_failure_) continue;
    last_failure_ = failure;
    Log(LogLevel::kError, "policy_reload_failed")
        .Str("path", options_.path)
        .Str("error", failure)
        .Str("note", "the previous policy stays in force");
  }
}

}  // namespace signet::server
