#include "server/keys/pkcs11/pin_file.h"

#include <openssl/crypto.h>

#include "absl/strings/str_cat.h"
#include "server/store/secret_file.h"

namespace signet::server {
namespace {

// PKCS#11 PINs are short; a longer file is the wrong file (the newline may follow).
constexpr size_t kMaxPinBytes = 255;

}  // namespace

absl::StatusOr<std::string> ReadPinFile(const std::string& path) {
  absl::StatusOr<std::string> pin = ReadSecretFile(path, kMaxPinBytes + 2, "PIN file");
  if (!pin.ok()) return pin.status();
  size_t end = pin->size();
  if (end > 0 && (*pin)[end - 1] == '\n') --end;
  if (end > 0 && (*pin)[end - 1] == '\r') --end;
  OPENSSL_cleanse(pin->data() + end, pin->size() - end);
  pin->resize(end);
  if (pin->empty())
    return absl::InvalidArgumentError(absl::StrCat("the PIN file ", path, " is empty"));
  if (pin->size() > kMaxPinBytes) {
    OPENSSL_cleanse(pin->data(), pin->size());
    return absl::InvalidArgumentError(
        absl::StrCat("the PIN file ", path, " holds more than ", kMaxPinBytes, " bytes"));
  }
  return pin;
}

}  // namespace signet::server
