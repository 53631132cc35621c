// An immutable set of verification keys by kid, each with whether it is revoked.
//
// Example:
//   signet::KeySet keys = signet::KeySet::Builder()
//                             .Add(active_key)
//                             .Add(old_key, signet::KeySet::Status::kRevoked)
//                             .Build();
//   const signet::KeySet::Entry* e = keys.Find("kid-1");
#ifndef SIGNET_KEY_SET_H_
#define SIGNET_KEY_SET_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "signet/verify_key.h"

namespace signet {

// Immutable once built; thread-safe to read.
class KeySet {
 public:
  enum class Status {
    kUsable,   // PENDING, ACTIVE or RETIRED: tokens it signed may be valid.
    kRevoked,  // Tokens it signed fail with Reason::kKeyRevoked (after the signature check).
  };
  struct Entry {
    std::shared_ptr<const VerifyKey> key;
    Status status = Status::kUsable;
  };

  class Builder {
   public:
    // A later Add with the same kid replaces the earlier one.
    Builder& Add(std::shared_ptr<const VerifyKey> key, Status status = Status::kUsable);
    KeySet Build();

   private:
    absl::flat_hash_map<std::string, Entry> entries_;
  };

  KeySet() = default;

  // nullptr when no key has this kid.
  const Entry* Find(std::string_view kid) const;
  size_t size() const { return entries_.size(); }
  // Every entry, in no particular order.
  std::vector<const Entry*> Entries() const;

 private:
  explicit KeySet(absl::flat_hash_map<std::string, Entry> entries) : entries_(std::move(entries)) {}
  absl::flat_hash_map<std::string, Entry> entries_;
};

}  // namespace signet

#endif  // SIGNET_KEY_SET_H_
