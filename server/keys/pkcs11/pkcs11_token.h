// One PKCS#11 token (an HSM, a cloud KMS's PKCS#11 library, SoftHSM2) holding signet's signing
// keys as non-extractable objects: key pairs and HMAC secrets generated inside the token, found
// by their CKA_ID, used to sign, destroyed when spent. No private or secret key value ever leaves
// the token; this class never asks for one.
//
// Example:
//   Pkcs11Token::Options options;
//   options.module_path = "/usr/lib/softhsm/libsofthsm2.so";
//   options.token_label = "signet";
//   options.pin = pin_read_from_file;  // never a flag value, never logged
//   absl::StatusOr<std::unique_ptr<Pkcs11Token>> token = Pkcs11Token::Open(options);
//   absl::StatusOr<std::string> public_key = (*token)->Generate(Algorithm::kEdDSA, "kid-1");
//   absl::StatusOr<std::string> sig = (*token)->Sign(Algorithm::kEdDSA, "kid-1", "header.payload");
//
// Sessions come from a pool of at most `max_sessions`, opened on demand and logged in once. When
// the token drops a session or the login (a network HSM restarting, a token removed and put
// back), the operation reconnects once: the slot is found again by label, a session opened and
// the user logged in, and the operation retried. Errors: Unavailable while the token cannot be
// reached or used (the caller's RPC answers UNAVAILABLE), NotFound for a key id the token does not
// hold, PermissionDenied for a wrong PIN, InvalidArgument for bad options. Messages name the
// PKCS#11 return value (CKR_...), never the PIN.
#ifndef SIGNET_SERVER_KEYS_PKCS11_PKCS11_TOKEN_H_
#define SIGNET_SERVER_KEYS_PKCS11_PKCS11_TOKEN_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "signet/algorithm.h"

namespace signet::server {

class Pkcs11Token {
 public:
  struct Options {
    // The PKCS#11 library (dlopen'ed).
    std::string module_path;
    // The token's label (CKA_LABEL of the token, blank padding ignored).
    std::string token_label;
    // The user PIN. Wiped from this struct's copy held by the token when it is destroyed.
    std::string pin;
    // Sessions open at once (one per concurrent operation; the rest wait).
    size_t max_sessions = 8;
    // How long an operation waits for a free session before Unavailable.
    absl::Duration session_wait = absl::Seconds(2);
  };

  // Loads the module, finds the token, opens a session and logs in.
  static absl::StatusOr<std::unique_ptr<Pkcs11Token>> Open(Options options);
  ~Pkcs11Token();
  Pkcs11Token(const Pkcs11Token&) = delete;
  Pkcs11Token& operator=(const Pkcs11Token&) = delete;

  // Generates a key inside the token with CKA_ID = `id` and CKA_LABEL = `label`: private and
  // sensitive, never extractable; for EdDSA and ES256 a key pair (the public half is returned:
  // Ed25519 32 bytes, P-256 x||y 64 bytes), for HS256 a 32-byte generic secret (returns "").
  // AlreadyExists when the token holds an object with that id.
  absl::StatusOr<std::string> Generate(Algorithm alg, std::string_view id, std::string_view label);

  // The raw JWS signature of `data` by key `id`: Ed25519 (CKM_EDDSA), ES256 (SHA-256 in process,
  // then CKM_ECDSA: r||s), HS256 (CKM_SHA256_HMAC).
  absl::StatusOr<std::string> Sign(Algorithm alg, std::string_view id, std::string_view data);

  // HS256 only: whether `mac` is the token's HMAC of `data` under secret `id` (the secret never
  // leaves the token, so MACs are checked there). False for a wrong MAC; an error when the token
  // cannot answer.
  absl::StatusOr<bool> VerifyHmac(std::string_view id, std::string_view data, std::string_view mac);

  // Gives every object with CKA_ID = `from` the id `to` (a key pair's id is its kid, which is
  // the thumbprint of a public key the token makes). NotFound when there is none.
  absl::Status Rename(std::string_view from, std::string_view to);

  // Destroys every object with CKA_ID = `id` (no error when there is none).
  absl::Status Destroy(std::string_view id);

  // The ids and labels of the private and secret key objects in the token.
  struct KeyObject {
    std::string id;
    std::string label;
  };
  absl::StatusOr<std::vector<KeyObject>> ListKeys();

  // Asks for CKA_VALUE of key `id`'s private or secret object: OK only if the token gave it out
  // (which a correctly generated key never allows). For tests that show the key cannot leave.
  absl::Status TryExtract(std::string_view id);

  // Whether the token answers now: a logged-in session is asked for its state (reconnecting once
  // when the token dropped it). Unavailable, with the reason, when it does not. For readiness.
  absl::Status Check();

  // Reconnections so far (sessions or logins the token dropped).
  int64_t reconnects() const;

 private:
  struct Impl;
  explicit Pkcs11Token(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace signet::server

#endif  // SIGNET_SERVER_KEYS_PKCS11_PKCS11_TOKEN_H_
