#include "tests/fuzz/fuzz_keys.h"

#include <sodium.h>

#include <cstdio>
#include <cstdlib>

#include "signet/base64url.h"
#include "signet/jwk.h"
#include "token/signing/token_signer.h"

namespace signet::fuzz {
namespace {

constexpr int64_t kIssuedAt = 1700000000;

// RFC 8037 A.1.
constexpr std::string_view kEdSeedB64 = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
constexpr std::string_view kEdKid = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k";
// A fixed P-256 scalar and its public point.
constexpr std::string_view kEsXB64 = "EXszPsR7DuIlSH9sf66T_PS0TX8kzcTexH8EyCNYQKU";
constexpr std::string_view kEsYB64 = "sezRqn1z7k7LxFs_mW76NZekEhZLpwMaQXupBP-if9M";
constexpr std::string_view kEsDB64 = "jpsQnnGQmL-YBIffH1136cLNe1Tq4V4FPq3aQGbqV30";
constexpr std::string_view kHsSecret = "signet-fuzz-fixed-hmac-secret-32";

std::string Decode(std::string_view b64) {
  std::string out;
  Require(Base64UrlDecode(b64, &out), "decoding a fixed key");
  return out;
}

std::unique_ptr<server::SigningKey> Load(Algorithm alg, std::string_view kid,
                                         std::string_view bytes) {
  absl::StatusOr<std::unique_ptr<server::SigningKey>> key =
      server::SigningKey::FromPrivateBytes(alg, kid, bytes);
  if (!key.ok()) std::fprintf(stderr, "fixed key: %s\n", key.status().ToString().c_str());
  Require(key.ok(), "loading a fixed key");
  return *std::move(key);
}

// An Ed25519 key from a fixed seed whose kid is its thumbprint.
std::unique_ptr<server::SigningKey> EdFromSeed(unsigned char fill) {
  Require(sodium_init() >= 0, "sodium_init");
  unsigned char seed[crypto_sign_SEEDBYTES];
  for (unsigned char& b : seed) b = fill;
  unsigned char pk[crypto_sign_PUBLICKEYBYTES];
  unsigned char sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_seed_keypair(pk, sk, seed);
  absl::StatusOr<std::string> kid =
      JwkThumbprint(Algorithm::kEdDSA, std::string_view(reinterpret_cast<char*>(pk), sizeof(pk)));
  Require(kid.ok(), "thumbprint of the revoked key");
  return Load(Algorithm::kEdDSA, *kid,
              std::string_view(reinterpret_cast<char*>(seed), sizeof(seed)));
}

TokenVerifier MakeVerifier() {
  ValidationPolicy policy;
  policy.issuer = "signet";
  absl::StatusOr<TokenVerifier> verifier = TokenVerifier::Create(policy);
  Require(verifier.ok(), "TokenVerifier::Create");
  return *std::move(verifier);
}

server::TokenClaims BaseClaims() {
  server::TokenClaims c;
  c.issuer = "signet";
  c.subject = "user-7";
  c.backend = "django.contrib.auth.backends.ModelBackend";
  c.audiences = {"orders"};
  c.issued_at = absl::FromUnixSeconds(kIssuedAt);
  c.expires_at = c.issued_at + absl::Hours(1);
  c.token_id = "AAECAwQFBgcICQoLDA0ODw";
  c.caller_claims_json = R"({"role":"admin","n":[1,{"k":true}],"s":"\u00e9\u0000"})";
  return c;
}

// The claim sets every key signs: one valid, and one per later check that can fail.
std::vector<server::TokenClaims> ClaimVariants() {
  std::vector<server::TokenClaims> out;
  out.push_back(BaseClaims());
  server::TokenClaims c = BaseClaims();
  c.audiences = {"orders", "billing", "\xc3\xa9"};
  c.caller_claims_json.clear();
  out.push_back(c);
  c = BaseClaims();
  c.token_id = "revoked-jti";
  out.push_back(c);
  c = BaseClaims();
  c.subject = "revoked-user";
  out.push_back(c);
  c = BaseClaims();
  c.expires_at = c.issued_at + absl::Seconds(60);  // Expired at `now`.
  out.push_back(c);
  c = BaseClaims();
  c.issued_at = absl::FromUnixSeconds(kIssuedAt + 7200);  // Not yet valid at `now`.
  c.expires_at = c.issued_at + absl::Hours(1);
  out.push_back(c);
  c = BaseClaims();
  c.issuer = "someone-else";
  out.push_back(c);
  c = BaseClaims();
  c.audiences.clear();
  c.backend.clear();
  out.push_back(c);
  return out;
}

FuzzKeys* Build() {
  auto* k = new FuzzKeys{
      nullptr,  nullptr,         nullptr,        nullptr,
      KeySet(), RevocationSet(), MakeVerifier(), absl::FromUnixSeconds(kIssuedAt + 600),
      {}};
  k->ed = Load(Algorithm::kEdDSA, kEdKid, Decode(kEdSeedB64));
  absl::StatusOr<std::string> es_kid =
      JwkThumbprint(Algorithm::kES256, Decode(kEsXB64) + Decode(kEsYB64));
  Require(es_kid.ok(), "thumbprint of the ES256 key");
  k->es = Load(Algorithm::kES256, *es_kid, Decode(kEsDB64));
  k->hs = Load(Algorithm::kHS256, "hs-fuzz", kHsSecret);
  k->revoked = EdFromSeed(0x5a);
  k->key_set = KeySet::Builder()
                   .Add(k->ed->verify_key())
                   .Add(k->es->verify_key())
                   .Add(k->hs->verify_key())
                   .Add(k->revoked->verify_key(), KeySet::Status::kRevoked)
                   .Build();
  k->revocations = RevocationSet()
                       .WithToken("revoked-jti", k->now + absl::Hours(2))
                       .WithSubject("revoked-user", k->now, k->now + absl::Hours(25));
  return k;
}

}  // namespace

void Require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
    std::abort();
  }
}

const FuzzKeys& Keys() {
  static FuzzKeys* keys = [] {
    FuzzKeys* k = Build();
    for (const std::string& token : SeedTokensFor(*k)) {
      k->signed_inputs.insert(token.substr(0, token.rfind('.')));
    }
    return k;
  }();
  return *keys;
}

const server::SigningKey* KeyByKid(std::string_view kid) {
  const FuzzKeys& k = Keys();
  for (const server::SigningKey* key : {k.ed.get(), k.es.get(), k.hs.get(), k.revoked.get()}) {
    if (key->kid() == kid) return key;
  }
  return nullptr;
}

std::vector<std::string> SeedTokensFor(const FuzzKeys& k) {
  std::vector<std::string> out;
  for (const server::SigningKey* key : {k.ed.get(), k.es.get(), k.hs.get(), k.revoked.get()}) {
    for (const server::TokenClaims& claims : ClaimVariants()) {
      absl::StatusOr<std::string> token = server::SignToken(*key, claims);
      Require(token.ok(), "signing a seed token");
      out.push_back(*std::move(token));
    }
  }
  return out;
}

std::vector<std::string> SeedTokens() { return SeedTokensFor(Keys()); }

}  // namespace signet::fuzz
