// A SoftHSM2 token of its own for a test: a configuration and token folder under a temporary
// folder, the token initialised with softhsm2-util, SOFTHSM2_CONF pointing at it for this process
// (and for child processes started after). SoftHSM2 reads SOFTHSM2_CONF when the module is
// initialised, so a test's Pkcs11Token objects must all be gone before the next test makes a
// token of its own.
//
// Example:
//   absl::StatusOr<SoftHsmToken> hsm = SoftHsmToken::Create(dir.path(), "signet-test");
//   Pkcs11Token::Options options = hsm->Options();  // module, label and PIN filled in
#ifndef SIGNET_TESTS_SUPPORT_SOFTHSM_TOKEN_H_
#define SIGNET_TESTS_SUPPORT_SOFTHSM_TOKEN_H_

#include <string>

#include "absl/status/statusor.h"

namespace signet::testing {

struct SoftHsmToken {
  // Initialises a token labelled `label` with user PIN `pin` under `dir` and sets SOFTHSM2_CONF.
  // FailedPrecondition when SoftHSM2 is not installed.
  static absl::StatusOr<SoftHsmToken> Create(const std::string& dir, const std::string& label,
                                             const std::string& pin = "123456");

  // The same in a new folder under /tmp (its path in `folder`), for tests without a folder of
  // their own; RemoveFolder() deletes it.
  static absl::StatusOr<SoftHsmToken> CreateTemporary(const std::string& label);
  void RemoveFolder() const;

  std::string folder;       // CreateTemporary only.
  std::string module_path;  // libsofthsm2.so
  std::string config_path;  // the SOFTHSM2_CONF file
  std::string token_dir;    // where SoftHSM2 keeps the token's objects
  std::string label;
  std::string pin;
};

}  // namespace signet::testing

#endif  // SIGNET_TESTS_SUPPORT_SOFTHSM_TOKEN_H_
