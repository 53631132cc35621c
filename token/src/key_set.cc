#include "signet/key_set.h"

namespace signet {

KeySet::Builder& KeySet::Builder::Add(std::shared_ptr<const VerifyKey> key, Status status) {
  if (key == nullptr) return *this;
  std::string kid = key->kid();
  entries_[std::move(kid)] = Entry{std::move(key), status};
  return *this;
}

// Copies, so a builder can go on to make a later version of the set.
KeySet KeySet::Builder::Build() { return KeySet(entries_); }

const KeySet::Entry* KeySet::Find(std::string_view kid) const {
  // absl's string hash is transparent: no std::string is made for the lookup.
  auto it = entries_.find(absl::string_view(kid.data(), kid.size()));
  return it == entries_.end() ? nullptr : &it->second;
}

std::vector<const KeySet::Entry*> KeySet::Entries() const {
  std::vector<const Entry*> out;
  out.reserve(entries_.size());
  for (const auto& [kid, entry] : entries_) out.push_back(&entry);
  return out;
}

}  // namespace signet
