#include "server/keys/key_backend.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "signet/jwk.h"

namespace signet::server {
namespace {

thread_local bool backend_unavailable = false;

}  // namespace

void MarkBackendUnavailableOnThisThread() { backend_unavailable = true; }

bool TakeBackendUnavailableOnThisThread() {
  const bool was = backend_unavailable;
  backend_unavailable = false;
  return was;
}

absl::StatusOr<std::shared_ptr<const VerifyKey>> KeyBackend::OpenVerifyKey(
    const KeyRecord& record) const {
  if (record.algorithm == Algorithm::kHS256) {
    return absl::FailedPreconditionError(
        absl::StrCat("HS256 key ", record.kid, " verifies only with its secret"));
  }
  return ParseJwk(record.public_jwk);
}

absl::Status CheckPublicKey(const KeyRecord& record, const VerifyKey* derived) {
  if (record.algorithm == Algorithm::kHS256) {
    if (!record.public_jwk.empty()) {
      return absl::InvalidArgumentError("an HS256 key row carries a public JWK");
    }
    return absl::OkStatus();
  }
  absl::StatusOr<std::shared_ptr<const VerifyKey>> parsed = ParseJwk(record.public_jwk);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("its public JWK does not parse: ", parsed.status().message()));
  }
  if ((*parsed)->kid() != record.kid || (*parsed)->algorithm() != record.algorithm) {
    return absl::InvalidArgumentError("its public JWK names another kid or algorithm");
  }
  const std::string public_bytes = (*parsed)->PublicBytes();
  absl::StatusOr<std::string> thumbprint = JwkThumbprint(record.algorithm, public_bytes);
  if (!thumbprint.ok() || *thumbprint != record.kid) {
    return absl::InvalidArgumentError("its kid is not the RFC 7638 thumbprint of its public key");
  }
  if (derived != nullptr && derived->PublicBytes() != public_bytes) {
    return absl::InvalidArgumentError("its private key does not match its public key");
  }
  return absl::OkStatus();
}

}  // namespace signet::server
