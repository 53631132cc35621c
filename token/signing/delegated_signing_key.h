// A signing key whose private half is held elsewhere (a PKCS#11 token): signing is a call to the
// holder, and nothing here can give out private material (PrivateBytes is empty). ES256
// signatures are rewritten to the low-s form verifiers accept.
//
// Example:
//   auto key = DelegatedSigningKey::Create(verify_key, [token, id](std::string_view input) {
//     return token->Sign(Algorithm::kEdDSA, id, input);
//   });
//   absl::StatusOr<std::string> sig = key->Sign("header.payload");
#ifndef SIGNET_TOKEN_SIGNING_DELEGATED_SIGNING_KEY_H_
#define SIGNET_TOKEN_SIGNING_DELEGATED_SIGNING_KEY_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "token/signing/signing_key.h"

namespace signet::server {

class DelegatedSigningKey final : public SigningKey {
 public:
  // The raw JWS signature of its input, by the key `verify_key` verifies; may fail (a token that
  // cannot be reached answers Unavailable). Called from many threads at once.
  using RawSigner = std::function<absl::StatusOr<std::string>(std::string_view signing_input)>;

  static std::unique_ptr<SigningKey> Create(std::shared_ptr<const VerifyKey> verify_key,
                                            RawSigner sign);

  absl::StatusOr<std::string> Sign(std::string_view signing_input) const override;
  std::string PrivateBytes() const override { return {}; }

 private:
  DelegatedSigningKey(std::shared_ptr<const VerifyKey> verify_key, RawSigner sign)
      : SigningKey(std::move(verify_key)), sign_(std::move(sign)) {}

  const RawSigner sign_;
};

}  // namespace signet::server

#endif  // SIGNET_TOKEN_SIGNING_DELEGATED_SIGNING_KEY_H_
