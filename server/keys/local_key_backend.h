// The default key backend: keys generated in process, their private halves sealed under the KEK
// (Envelope, with the kid as associated data) into the key row itself. A spent key's private half
// goes with its row, so there is nothing to forget or collect.
//
// Example:
//   LocalKeyBackend backend(&envelope);
//   absl::StatusOr<KeyRecord> row = backend.MakeKey(Algorithm::kES256, now);
#ifndef SIGNET_SERVER_KEYS_LOCAL_KEY_BACKEND_H_
#define SIGNET_SERVER_KEYS_LOCAL_KEY_BACKEND_H_

#include "server/keys/key_backend.h"
#include "server/store/envelope.h"

namespace signet::server {

class LocalKeyBackend final : public KeyBackend {
 public:
  // `envelope` must outlive the backend.
  explicit LocalKeyBackend(const Envelope* envelope) : envelope_(*envelope) {}

  std::string_view name() const override { return "local"; }
  absl::StatusOr<KeyRecord> MakeKey(Algorithm alg, absl::Time now) const override;
  absl::StatusOr<std::unique_ptr<SigningKey>> OpenKey(const KeyRecord& record) const override;
  bool holds_keys_apart() const override { return false; }
  absl::Status Check() const override { return absl::OkStatus(); }
  absl::Status Forget(const KeyRecord&) const override { return absl::OkStatus(); }
  absl::StatusOr<int> CollectOrphans(const std::vector<KeyRecord>&, absl::Time) const override {
    return 0;
  }

 private:
  const Envelope& envelope_;
};

}  // namespace signet::server

#endif  // SIGNET_SERVER_KEYS_LOCAL_KEY_BACKEND_H_
