// A Validator double for interceptor tests: answers from a table, records what it was asked.
#ifndef SIGNET_TESTS_INTEGRATION_INTERCEPTOR_FAKE_VALIDATOR_H_
#define SIGNET_TESTS_INTEGRATION_INTERCEPTOR_FAKE_VALIDATOR_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "signet/validator.h"

namespace signet::testing {

// Thread-safe. Unknown tokens are kMalformed.
class FakeValidator final : public Validator {
 public:
  // `token` is valid for `subject` (backend "test-backend", token_id "jti-" + subject).
  void AddValid(const std::string& token, const std::string& subject) {
    Validation v;
    v.reason = Reason::kValid;
    v.identity.subject = subject;
    v.identity.backend = "test-backend";
    v.identity.token_id = "jti-" + subject;
    absl::MutexLock lock(&mu_);
    answers_[token] = v;
  }
  void AddInvalid(const std::string& token, Reason reason) {
    Validation v;
    v.reason = reason;
    absl::MutexLock lock(&mu_);
    answers_[token] = v;
  }
  // Every Validate fails with `status` (the validator cannot judge) while it is not OK.
  void SetError(absl::Status status) {
    absl::MutexLock lock(&mu_);
    error_ = std::move(status);
  }

  absl::StatusOr<Validation> Validate(std::string_view token, Audience audience) override {
    absl::MutexLock lock(&mu_);
    asked_.push_back({std::string(token), audience.any() ? "(any)" : std::string(audience.name())});
    if (!error_.ok()) return error_;
    auto it = answers_.find(std::string(token));
    if (it == answers_.end()) return Validation{};
    return it->second;
  }

  struct Question {
    std::string token;
    std::string audience;
  };
  std::vector<Question> asked() const {
    absl::MutexLock lock(&mu_);
    return asked_;
  }

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Validation> answers_ ABSL_GUARDED_BY(mu_);
  absl::Status error_ ABSL_GUARDED_BY(mu_);
  std::vector<Question> asked_ ABSL_GUARDED_BY(mu_);
};

}  // namespace signet::testing

#endif  // SIGNET_TESTS_INTEGRATION_INTERCEPTOR_FAKE_VALIDATOR_H_
