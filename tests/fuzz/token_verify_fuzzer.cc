// Token parse + verify against a fixed key set (EdDSA, ES256, HS256, one revoked key), a fixed
// revocation set and a fixed `now`. Beyond "no crash, no leak", it checks that the verifier
// never accepts what the keys did not sign, and that its answers are consistent.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "rapidjson/document.h"
#include "signet/base64url.h"
#include "signet/reason.h"
#include "signet/token_verifier.h"
#include "tests/fuzz/fuzz_keys.h"

namespace {

using signet::Reason;
using signet::fuzz::Require;

// Reasons decided before (or at) the signature check: no claims are exposed with these.
bool BeforeSignature(Reason r) {
  return r == Reason::kMalformed || r == Reason::kUnsupportedAlgorithm ||
         r == Reason::kUnknownKey || r == Reason::kAlgorithmMismatch || r == Reason::kBadSignature;
}

// A token whose signature verified: it must be exactly what one of the fixed keys signed.
void CheckSigned(std::string_view token, const signet::SignedClaims& claims) {
  const signet::fuzz::FuzzKeys& k = signet::fuzz::Keys();
  // The signing input must be one the fixed keys signed, and the token must be exactly what the
  // key holder produced (no second encoding of the same bytes).
  const size_t last_dot = token.rfind('.');
  Require(last_dot != std::string_view::npos, "a verified token has a dot");
  const std::string signing_input(token.substr(0, last_dot));
  Require(k.signed_inputs.contains(signing_input),
          "the verifier accepted a signature over bytes the keys never signed");
  const signet::server::SigningKey* key = signet::fuzz::KeyByKid(claims.key_id());
  Require(key != nullptr, "a verified token names a fixed key");
  std::string signature;
  Require(signet::Base64UrlDecode(token.substr(last_dot + 1), &signature),
          "a verified signature segment is canonical base64url");
  Require(signet::Base64UrlEncode(signature) == token.substr(last_dot + 1),
          "the signature segment has exactly one encoding");
  if (key->algorithm() != signet::Algorithm::kES256) {
    // EdDSA and HMAC are deterministic: the only valid signature is the one the key makes.
    absl::StatusOr<std::string> expected = key->Sign(signing_input);
    Require(expected.ok() && *expected == signature, "a second valid signature was accepted");
  }
  absl::StatusOr<signet::TokenHeader> header = signet::PeekHeader(token);
  Require(header.ok() && header->kid == claims.key_id(), "PeekHeader agrees with Verify");
}

void CheckResult(std::string_view token, const signet::VerifyResult& r) {
  const signet::fuzz::FuzzKeys& k = signet::fuzz::Keys();
  // A verified token exists exactly when every check passed.
  Require(r.valid() == r.token.has_value(), "a result carries the token iff it is valid");
  if (!r.valid()) return;
  CheckSigned(token, *r.token);
  Require(!r.token->subject().empty(), "a valid token has a subject");
  Require(r.token->expires_at() + absl::Seconds(30) > k.now, "a valid token has not expired");
  Require(r.token->issuer() == "signet", "a valid token has the expected issuer");
  const std::string caller = r.token->CallerClaimsJson();
  rapidjson::Document doc;
  doc.Parse(caller.c_str(), caller.size());
  Require(!doc.HasParseError() && doc.IsObject(), "caller claims are a JSON object");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const signet::fuzz::FuzzKeys& k = signet::fuzz::Keys();
  const std::string_view token(reinterpret_cast<const char*>(data), size);

  const signet::VerifyResult plain =
      k.verifier.Verify(token, k.key_set, &k.revocations, k.now, signet::Audience::Any());
  CheckResult(token, plain);
  const signet::VerifyResult with_aud = k.verifier.Verify(token, k.key_set, &k.revocations, k.now,
                                                          signet::Audience::Expect("orders"));
  CheckResult(token, with_aud);
  const signet::VerifyResult unrevoked =
      k.verifier.Verify(token, k.key_set, nullptr, k.now, signet::Audience::Any());
  CheckResult(token, unrevoked);
  // Claims are read only after the signature verified, whatever the later checks say.
  Reason read = Reason::kValid;
  const std::optional<signet::SignedClaims> claims = k.verifier.ReadSigned(token, k.key_set, &read);
  Require(claims.has_value() == !BeforeSignature(plain.reason),
          "ReadSigned and Verify disagree on the checks up to the signature");
  if (claims.has_value()) {
    CheckSigned(token, *claims);
  } else {
    Require(read == plain.reason, "ReadSigned and Verify give different reasons");
  }

  // The audience and the revocations are checked after the signature: they cannot change an
  // earlier answer, and a token is never more valid with revocations than without.
  if (BeforeSignature(plain.reason) || BeforeSignature(with_aud.reason)) {
    Require(plain.reason == with_aud.reason && plain.reason == unrevoked.reason,
            "the audience or revocations changed a pre-signature answer");
  }
  if (plain.valid()) Require(unrevoked.valid(), "revocations made a token valid");

  // PeekHeader reads the same header: where Verify got past the header, PeekHeader must too.
  absl::StatusOr<signet::TokenHeader> header = signet::PeekHeader(token);
  if (plain.reason != Reason::kMalformed && plain.reason != Reason::kUnsupportedAlgorithm) {
    Require(header.ok(), "PeekHeader refused a header Verify accepted");
  }
  if (plain.reason == Reason::kUnsupportedAlgorithm) {
    Require(!header.ok(), "PeekHeader accepted an unsupported algorithm");
  }
  return 0;
}
