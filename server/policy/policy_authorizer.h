// The Authorizer of TLS mode: callers identified by their client certificate (ChooseIdentity),
// roles and issuer limits from the policy file, which is re-read while the server runs.
//
// Example:
//   PolicyAuthorizer::Options options;
//   options.path = "/etc/signet/policy.json";
//   absl::StatusOr<std::unique_ptr<PolicyAuthorizer>> authz = PolicyAuthorizer::Create(options);
//   Caller caller = (*authz)->Identify(context);
//   absl::Status s = (*authz)->Authorize(caller, Rpc::kIssueToken);
#ifndef SIGNET_SERVER_POLICY_POLICY_AUTHORIZER_H_
#define SIGNET_SERVER_POLICY_POLICY_AUTHORIZER_H_

#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "server/policy/authorizer.h"
#include "server/policy/policy.h"

namespace signet::server {

// Thread-safe. A reload that fails (unreadable file, broken JSON, a bad rule) keeps the policy in
// force and logs an error once per distinct failure.
class PolicyAuthorizer final : public Authorizer {
 public:
  struct Options {
    std::string path;
    // How often the file is re-read; zero: never (tests call ReloadIfChanged()).
    absl::Duration reload_interval = absl::Seconds(2);
  };
  // The file must load now: a broken policy at start is a start-up error.
  static absl::StatusOr<std::unique_ptr<PolicyAuthorizer>> Create(Options options);
  ~PolicyAuthorizer() override;

  Caller Identify(const grpc::CallbackServerContext& context) const override;
  absl::Status Authorize(const Caller& caller, Rpc rpc) const override;
  absl::Status AuthorizeIssue(const Caller& caller, const IssueRequestView& request) const override;

  // Re-reads the file: true when a changed, valid policy took effect; false when the content is
  // unchanged; the error when the new content is refused (the old policy stays).
  absl::StatusOr<bool> ReloadIfChanged();

  std::shared_ptr<const Policy> current() const;

 private:
  PolicyAuthorizer(Options options, std::string content, Policy policy);
  void ReloadLoop();

  const Options options_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const Policy> policy_ ABSL_GUARDED_BY(mu_);
  // Only the reloading thread (or a test) touches these.
  absl::Mutex reload_mu_;
  std::string content_ ABSL_GUARDED_BY(reload_mu_);
  std::string last_failure_ ABSL_GUARDED_BY(reload_mu_);
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace signet::server

#endif  // SIGNET_SERVER_POLICY_POLICY_AUTHORIZER_H_
