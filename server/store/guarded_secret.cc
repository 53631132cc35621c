#include "server/store/guarded_secret.h"

#include <sodium.h>

#include <cstring>

namespace signet::server {

absl::StatusOr<GuardedSecret> GuardedSecret::Copy(std::string_view bytes) {
  // sodium_init is idempotent and thread-safe; sodium_malloc needs it for the page size.
  static const bool ready = sodium_init() >= 0;
  if (!ready) return absl::InternalError("libsodium failed to initialise");
  void* memory = sodium_malloc(bytes.empty() ? 1 : bytes.size());
  if (memory == nullptr) {
    return absl::ResourceExhaustedError("cannot allocate guarded memory for a secret");
  }
  if (!bytes.empty()) std::memcpy(memory, bytes.data(), bytes.size());
  // sodium_free zeroes the bytes before it unmaps them.
  return GuardedSecret(std::shared_ptr<void>(memory, sodium_free), bytes.size());
}

}  // namespace signet::server
