// Envelope encryption of private keys at rest: AES-256-GCM under a key-encryption key (KEK), with
// the kid as associated data so a sealed key cannot be moved to another kid's row.
//
// Example:
//   absl::StatusOr<signet::server::Envelope> env = signet::server::Envelope::Create(kek_32_bytes);
//   absl::StatusOr<std::string> sealed = env->Seal(private_bytes, kid);
//   absl::StatusOr<std::string> opened = env->Open(*sealed, kid);  // == private_bytes
#ifndef SIGNET_SERVER_STORE_ENVELOPE_H_
#define SIGNET_SERVER_STORE_ENVELOPE_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "server/store/guarded_secret.h"

namespace signet::server {

// Immutable and thread-safe.
class Envelope {
 public:
  // `kek` must be exactly 32 bytes (InvalidArgument otherwise).
  static absl::StatusOr<Envelope> Create(std::string_view kek);

  // version byte || 12-byte random nonce || ciphertext || 16-byte tag.
  absl::StatusOr<std::string> Seal(std::string_view plaintext, std::string_view associated) const;
  // PermissionDenied ("wrong key-encryption key or tampered key record") when the tag fails;
  // DataLoss for a truncated or unknown-version envelope. Messages never include key bytes.
  absl::StatusOr<std::string> Open(std::string_view sealed, std::string_view associated) const;

  // 32 bytes derived from the KEK with HKDF-SHA256 (RFC 5869, no salt) and `label` as info: a
  // key for another purpose (e.g. authenticating key records) that reveals nothing about the KEK
  // or about keys derived under other labels. The caller wipes it (OPENSSL_cleanse) when done.
  absl::StatusOr<std::string> DeriveKey(std::string_view label) const;

  // A short public fingerprint of the KEK (first 8 bytes of SHA-256, hex) for logs: tells which
  // KEK is in use without revealing it.
  const std::string& fingerprint() const { return fingerprint_; }

 private:
  Envelope(GuardedSecret kek, std::string fingerprint)
      : kek_(std::move(kek)), fingerprint_(std::move(fingerprint)) {}
  // Out of core dumps, wiped when the last copy of the Envelope goes.
  GuardedSecret kek_;
  std::string fingerprint_;
};

// Reads a KEK file: exactly 32 raw bytes, or 64 hex characters, or 44 characters of standard
// base64 (each optionally followed by one newline, as a Kubernetes Secret may hold it). Refuses a
// file readable or writable by group or others (PermissionDenied, saying to chmod 0600).
absl::StatusOr<std::string> ReadKekFile(const std::string& path);

// Local mode: reads `path` when it exists, else creates it with 32 random bytes, mode 0600:
// written and fsync'd under a temporary name in the same folder, then linked into place (never
// replacing a file) and the folder fsync'd, so a crash leaves no KEK file or a whole one. A crash
// between the two may leave an unused `<path>.tmp-<hex>` file (mode 0600), which can be deleted.
// *created tells which happened, so the caller can log it.
absl::StatusOr<std::string> LoadOrCreateKekFile(const std::string& path, bool* created);

}  // namespace signet::server

#endif  // SIGNET_SERVER_STORE_ENVELOPE_H_
