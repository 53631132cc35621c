// Fixed keys, a fixed time and the seed tokens shared by the fuzz targets and the seed generator.
// Everything is deterministic except ES256 signatures (ECDSA draws a nonce), so a token the
// fuzzer finds valid can be traced back to a signing input that these keys really signed.
//
// Example:
//   const signet::fuzz::FuzzKeys& k = signet::fuzz::Keys();
//   signet::VerifyResult r =
//       k.verifier.Verify(token, k.key_set, &k.revocations, k.now, signet::Audience::Any());
#ifndef SIGNET_TESTS_FUZZ_FUZZ_KEYS_H_
#define SIGNET_TESTS_FUZZ_FUZZ_KEYS_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/time/time.h"
#include "signet/key_set.h"
#include "signet/revocation_set.h"
#include "signet/token_verifier.h"
#include "token/signing/signing_key.h"

namespace signet::fuzz {

struct FuzzKeys {
  // RFC 8037 A.1 (Ed25519), a fixed P-256 scalar and a fixed HMAC secret (kid "hs-fuzz").
  std::unique_ptr<server::SigningKey> ed;
  std::unique_ptr<server::SigningKey> es;
  std::unique_ptr<server::SigningKey> hs;
  // A fourth Ed25519 key (fixed seed) that the key set marks revoked.
  std::unique_ptr<server::SigningKey> revoked;
  KeySet key_set;
  // Revokes jti "revoked-jti" and subject "revoked-user" (tokens issued before `now`).
  RevocationSet revocations;
  TokenVerifier verifier;
  absl::Time now;
  // Every "header.payload" that SeedTokens() signs: a token whose signature verifies must have
  // one of these as its signing input, or the verifier accepted a forgery.
  absl::flat_hash_set<std::string> signed_inputs;
};

// Built once (aborts if the fixed keys do not load).
const FuzzKeys& Keys();

// The key with this kid among ed/es/hs/revoked, or null.
const server::SigningKey* KeyByKid(std::string_view kid);

// Valid and near-valid tokens of every key (signed with the keys above): the seed corpus of the
// token fuzzer.
std::vector<std::string> SeedTokens();
std::vector<std::string> SeedTokensFor(const FuzzKeys& keys);

// Aborts with `what` when `ok` is false: the fuzzer reports the input as a crash.
void Require(bool ok, const char* what);

}  // namespace signet::fuzz

#endif  // SIGNET_TESTS_FUZZ_FUZZ_KEYS_H_
