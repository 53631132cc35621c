// JWK and JWK Set import (ParseJwk / ParseJwks). Whatever parses must export and re-import to
// the same key, and a parsed key must survive Verify on junk.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "signet/jwk.h"
#include "tests/fuzz/fuzz_keys.h"

namespace {

using signet::fuzz::Require;

void CheckKey(const signet::VerifyKey& key) {
  Require(!key.kid().empty(), "an imported key has a kid");
  Require(key.algorithm() != signet::Algorithm::kHS256, "no symmetric key is imported");
  const std::string public_bytes = key.PublicBytes();
  Require(public_bytes.size() == (key.algorithm() == signet::Algorithm::kEdDSA ? 32u : 64u),
          "public key size matches the algorithm");
  Require(signet::JwkThumbprint(key.algorithm(), public_bytes).ok(), "the key has a thumbprint");

  absl::StatusOr<std::string> exported = signet::ToJwk(key);
  Require(exported.ok(), "an imported key exports");
  absl::StatusOr<std::shared_ptr<const signet::VerifyKey>> again = signet::ParseJwk(*exported);
  Require(again.ok(), "an exported key re-imports");
  Require((*again)->kid() == key.kid() && (*again)->algorithm() == key.algorithm() &&
              (*again)->PublicBytes() == public_bytes,
          "export then import is the identity");

  const std::string junk_signature(64, '\x01');
  Require(!key.Verify("eyJhbGciOiJFZERTQSJ9.e30", junk_signature), "junk does not verify");
  Require(!key.Verify("", ""), "an empty signature does not verify");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view json(reinterpret_cast<const char*>(data), size);

  absl::StatusOr<std::shared_ptr<const signet::VerifyKey>> one = signet::ParseJwk(json);
  if (one.ok()) CheckKey(**one);

  absl::StatusOr<std::vector<std::shared_ptr<const signet::VerifyKey>>> set =
      signet::ParseJwks(json);
  if (set.ok()) {
    absl::flat_hash_set<std::string> kids;
    for (const auto& key : *set) {
      Require(kids.insert(key->kid()).second, "kids in a parsed set are unique");
      CheckKey(*key);
    }
    const std::string exported = signet::ToJwks(*set);
    absl::StatusOr<std::vector<std::shared_ptr<const signet::VerifyKey>>> again =
        signet::ParseJwks(exported);
    Require(again.ok() && again->size() == set->size(), "a parsed set re-imports whole");
  }
  return 0;
}
