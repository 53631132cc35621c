// Secret bytes kept out of core dumps and swap, wiped when freed: the KEK and the keys derived
// from it live in libsodium's guarded allocations (sodium_malloc: own pages between guard pages,
// mlock'd where the limit allows, madvise(MADV_DONTDUMP)), which sodium_free zeroes.
//
// Example:
//   absl::StatusOr<GuardedSecret> kek = GuardedSecret::Copy(kek_bytes);
//   Use(kek->view());  // copies share the one guarded allocation
#ifndef SIGNET_SERVER_STORE_GUARDED_SECRET_H_
#define SIGNET_SERVER_STORE_GUARDED_SECRET_H_

#include <memory>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"

namespace signet::server {

// Immutable and thread-safe; copies share the bytes, freed with the last copy.
class GuardedSecret {
 public:
  // ResourceExhausted when the guarded allocation fails.
  static absl::StatusOr<GuardedSecret> Copy(std::string_view bytes);

  std::string_view view() const { return {static_cast<const char*>(memory_.get()), size_}; }

 private:
  GuardedSecret(std::shared_ptr<void> memory, size_t size)
      : memory_(std::move(memory)), size_(size) {}
  std::shared_ptr<void> memory_;
  size_t size_;
};

}  // namespace signet::server

#endif  // SIGNET_SERVER_STORE_GUARDED_SECRET_H_
