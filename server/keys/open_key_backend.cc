#include "server/keys/open_key_backend.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <thread>

#include "absl/strings/str_cat.h"
#include "server/keys/pkcs11/pin_file.h"
#include "server/keys/pkcs11/pkcs11_key_backend.h"
#include "server/keys/pkcs11/pkcs11_token.h"
#include "server/log.h"

namespace signet::server {

size_t Pkcs11SessionCount(const ServerConfig& config) {
  if (config.pkcs11_sessions > 0) return config.pkcs11_sessions;
  return std::max<size_t>(8, 4 * static_cast<size_t>(std::thread::hardware_concurrency()));
}

absl::StatusOr<std::shared_ptr<const KeyBackend>> OpenKeyBackend(const ServerConfig& config,
                                                                 const Envelope* envelope) {
  if (config.key_backend != "pkcs11") return std::shared_ptr<const KeyBackend>();
  absl::StatusOr<std::string> pin = ReadPinFile(config.pkcs11_pin_file);
  if (!pin.ok()) return pin.status();
  Pkcs11Token::Options options;
  options.module_path = config.pkcs11_module;
  options.token_label = config.pkcs11_token_label;
  options.pin = *std::move(pin);
  OPENSSL_cleanse(pin->data(), pin->capacity());  // What the move left in a short string.
  options.max_sessions = Pkcs11SessionCount(config);
  absl::StatusOr<std::unique_ptr<Pkcs11Token>> token = Pkcs11Token::Open(std::move(options));
  if (!token.ok()) {
    return absl::Status(token.status().code(),
                        absl::StrCat("key backend pkcs11: ", token.status().message()));
  }
  Log(LogLevel::kInfo, "key_backend_opened")
      .Str("backend", "pkcs11")
      .Str("module", config.pkcs11_module)
      .Str("token_label", config.pkcs11_token_label)
      .Int("sessions", static_cast<int64_t>(Pkcs11SessionCount(config)));
  return std::shared_ptr<const KeyBackend>(std::make_shared<Pkcs11KeyBackend>(
      std::shared_ptr<Pkcs11Token>(*std::move(token)), envelope));
}

}  // namespace signet::server
