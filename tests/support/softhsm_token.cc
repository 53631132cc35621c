#include "tests/support/softhsm_token.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "absl/strings/str_cat.h"

namespace signet::testing {
namespace {

constexpr const char* kModules[] = {"/usr/lib/softhsm/libsofthsm2.so",
                                    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"};

}  // namespace

absl::StatusOr<SoftHsmToken> SoftHsmToken::Create(const std::string& dir, const std::string& label,
                                                  const std::string& pin) {
  SoftHsmToken token;
  for (const char* path : kModules) {
    if (access(path, R_OK) == 0) {
      token.module_path = path;
      break;
    }
  }
  if (token.module_path.empty()) {
    return absl::FailedPreconditionError("SoftHSM2 is not installed (apt package softhsm2)");
  }
  token.config_path = dir + "/softhsm2.conf";
  token.token_dir = dir + "/tokens";
  token.label = label;
  token.pin = pin;
  if (mkdir(token.token_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::InternalError(absl::StrCat("cannot make ", token.token_dir));
  }
  {
    std::ofstream conf(token.config_path);
    conf << "directories.tokendir = " << token.token_dir << "\n"
         << "objectstore.backend = file\n"
         << "log.level = ERROR\n"
         << "slots.removable = false\n";
    if (!conf) return absl::InternalError(absl::StrCat("cannot write ", token.config_path));
  }
  setenv("SOFTHSM2_CONF", token.config_path.c_str(), 1);
  const std::string command =
      absl::StrCat("softhsm2-util --init-token --free --label '", label, "' --pin '", pin,
                   "' --so-pin so-", pin, " >/dev/null 2>&1");
  const int rc = std::system(command.c_str());
  if (rc != 0) {
    return absl::InternalError(absl::StrCat("softhsm2-util --init-token failed (", rc, ")"));
  }
  return token;
}

absl::StatusOr<SoftHsmToken> SoftHsmToken::CreateTemporary(const std::string& label) {
  char folder[] = "/tmp/signet-pkcs11-XXXXXX";
  if (mkdtemp(folder) == nullptr) return absl::InternalError("mkdtemp failed");
  absl::StatusOr<SoftHsmToken> token = Create(folder, label);
  if (token.ok()) token->folder = folder;
  return token;
}

void SoftHsmToken::RemoveFolder() const {
  if (!folder.empty()) std::system(absl::StrCat("rm -rf '", folder, "'").c_str());
}

}  // namespace signet::testing
