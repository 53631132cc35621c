// Token codec benchmarks: signing and full verification of a realistic token for each algorithm,
// against the raw signature checks of the same bytes in OpenSSL 3 and libsodium. After the runs it
// prints the ratios of DESIGN.md section 9:
//   ratio EdDSA verify: codec/raw_fastest = 0.95 (target >= 0.9)
// where the ratio is (time of the fastest raw check) / (time of TokenVerifier::Verify), so 1.0
// means the codec costs nothing beyond the signature check.
//
// Run: ./build/bench/codec_bench --benchmark_min_time=0.5 --benchmark_repetitions=5
// Ratios use the lowest CPU time of each benchmark across repetitions.
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "signet/algorithm.h"
#include "signet/base64url.h"
#include "signet/key_set.h"
#include "signet/revocation_set.h"
#include "signet/token_verifier.h"
#include "signet/validation_policy.h"
#include "token/openssl/openssl_ptr.h"
#include "token/signing/signing_key.h"
#include "token/signing/token_signer.h"

namespace {

using signet::Algorithm;

const absl::Time kIssuedAt = absl::FromUnixSeconds(1700000000);
const absl::Time kNow = kIssuedAt + absl::Minutes(1);
constexpr std::string_view kAudience = "orders";

using signet::EvpMacCtxPtr;
using signet::EvpMacPtr;
using signet::EvpMdCtxPtr;
using signet::EvpMdPtr;
using signet::EvpPkeyPtr;

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "codec_bench: %s\n", what.c_str());
  std::exit(1);
}

// One realistic token per algorithm, with everything a verifier needs built once.
struct Fixture {
  Algorithm alg;
  std::unique_ptr<signet::server::SigningKey> key;
  signet::server::TokenClaims claims;
  signet::KeySet keys;
  std::optional<signet::TokenVerifier> verifier;
  signet::RevocationSet revocations;
  std::string token;
  std::string signing_input;  // "header.payload"
  std::string signature;      // raw JWS signature bytes
};

Fixture MakeFixture(Algorithm alg) {
  Fixture f;
  f.alg = alg;
  absl::StatusOr<std::unique_ptr<signet::server::SigningKey>> key =
      signet::server::SigningKey::Generate(alg);
  if (!key.ok()) Die("key generation failed: " + std::string(key.status().message()));
  f.key = *std::move(key);

  f.claims.issuer = "signet";
  f.claims.subject = "user-1234567";
  f.claims.backend = "django.contrib.auth.backends.ModelBackend";
  f.claims.audiences = {std::string(kAudience)};
  f.claims.issued_at = kIssuedAt;
  f.claims.expires_at = kIssuedAt + absl::Hours(1);
  f.claims.token_id = signet::server::NewTokenId();
  f.claims.caller_claims_json = R"({"role":"admin","tenant":"acme"})";

  f.keys = signet::KeySet::Builder().Add(f.key->verify_key()).Build();
  signet::ValidationPolicy policy;
  policy.issuer = "signet";
  absl::StatusOr<signet::TokenVerifier> verifier = signet::TokenVerifier::Create(policy);
  if (!verifier.ok()) Die("verifier: " + std::string(verifier.status().message()));
  f.verifier.emplace(*std::move(verifier));
  // A few unrelated revocations, so the revocation checks do a real lookup.
  for (int i = 0; i < 100; ++i) {
    f.revocations = f.revocations.WithToken(signet::server::NewTokenId(), kNow + absl::Hours(1));
  }

  absl::StatusOr<std::string> token = signet::server::SignToken(*f.key, f.claims);
  if (!token.ok()) Die("signing failed: " + std::string(token.status().message()));
  f.token = *token;
  const size_t last_dot = f.token.rfind('.');
  f.signing_input = f.token.substr(0, last_dot);
  if (!signet::Base64UrlDecode(std::string_view(f.token).substr(last_dot + 1), &f.signature)) {
    Die("signature segment does not decode");
  }
  signet::VerifyResult r = f.verifier->Verify(f.token, f.keys, &f.revocations, kNow,
                                              signet::Audience::Expect(kAudience));
  if (!r.valid()) Die("the benchmark token does not verify: " + std::string(ReasonName(r.reason)));
  return f;
}

// ---- Codec -------------------------------------------------------------------------------------

void BM_CodecSign(benchmark::State& state, const Fixture* f) {
  for (auto _ : state) {
    absl::StatusOr<std::string> token = signet::server::SignToken(*f->key, f->claims);
    benchmark::DoNotOptimize(token);
  }
}

void BM_CodecVerify(benchmark::State& state, const Fixture* f) {
  for (auto _ : state) {
    signet::VerifyResult r = f->verifier->Verify(f->token, f->keys, &f->revocations, kNow,
                                                 signet::Audience::Expect(kAudience));
    benchmark::DoNotOptimize(r);
  }
}

// The codec's key-level check alone (no token parsing): splits codec time into crypto and JWT.
void BM_CodecKeyVerify(benchmark::State& state, const Fixture* f) {
  for (auto _ : state) {
    bool ok = f->key->verify_key()->Verify(f->signing_input, f->signature);
    benchmark::DoNotOptimize(ok);
  }
}

// ---- Raw: Ed25519 ------------------------------------------------------------------------------

void BM_RawEd25519OpenSsl(benchmark::State& state, const Fixture* f) {
  const std::string pub = f->key->verify_key()->PublicBytes();
  EvpPkeyPtr pkey(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, Bytes(pub), pub.size()));
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  auto verify = [&] {
    EVP_MD_CTX_reset(ctx.get());
    return EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) == 1 &&
           EVP_DigestVerify(ctx.get(), Bytes(f->signature), f->signature.size(),
                            Bytes(f->signing_input), f->signing_input.size()) == 1;
  };
  if (pkey == nullptr || !verify()) return state.SkipWithError("OpenSSL Ed25519 does not verify");
  for (auto _ : state) benchmark::DoNotOptimize(verify());
}

void BM_RawEd25519Sodium(benchmark::State& state, const Fixture* f) {
  const std::string pub = f->key->verify_key()->PublicBytes();
  auto verify = [&] {
    return crypto_sign_verify_detached(Bytes(f->signature), Bytes(f->signing_input),
                                       f->signing_input.size(), Bytes(pub)) == 0;
  };
  if (!verify()) return state.SkipWithError("libsodium Ed25519 does not verify");
  for (auto _ : state) benchmark::DoNotOptimize(verify());
}

// The raw signing call, for the issuing floor (bench/run_all.sh, section floor).
void BM_RawEd25519SodiumSign(benchmark::State& state, const Fixture* f) {
  unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_keypair(pk, sk);
  unsigned char sig[crypto_sign_BYTES];
  for (auto _ : state) {
    crypto_sign_detached(sig, nullptr, Bytes(f->signing_input), f->signing_input.size(), sk);
    benchmark::DoNotOptimize(sig);
    benchmark::ClobberMemory();
  }
}

// ---- Raw: ECDSA P-256 --------------------------------------------------------------------------

EvpPkeyPtr P256PublicKey(std::string_view xy) {
  std::string point = "\x04" + std::string(xy);
  signet::ParamBldPtr bld(OSSL_PARAM_BLD_new());
  OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
  OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size());
  signet::ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  signet::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* pkey = nullptr;
  if (EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return nullptr;
  }
  return EvpPkeyPtr(pkey);
}

std::string RawToDer(std::string_view raw) {
  ECDSA_SIG* sig = ECDSA_SIG_new();
  ECDSA_SIG_set0(sig, BN_bin2bn(Bytes(raw), 32, nullptr), BN_bin2bn(Bytes(raw) + 32, 32, nullptr));
  unsigned char* der = nullptr;
  int len = i2d_ECDSA_SIG(sig, &der);
  std::string out(reinterpret_cast<const char*>(der), len > 0 ? len : 0);
  OPENSSL_free(der);
  ECDSA_SIG_free(sig);
  return out;
}

void BM_RawP256OpenSsl(benchmark::State& state, const Fixture* f) {
  EvpPkeyPtr pkey = P256PublicKey(f->key->verify_key()->PublicBytes());
  const std::string der = RawToDer(f->signature);
  // Fetched once: EVP_sha256() would make every init look the implementation up again.
  EvpMdPtr sha256(EVP_MD_fetch(nullptr, "SHA256", nullptr));
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  auto verify = [&] {
    EVP_MD_CTX_reset(ctx.get());
    return EVP_DigestVerifyInit(ctx.get(), nullptr, sha256.get(), nullptr, pkey.get()) == 1 &&
           EVP_DigestVerify(ctx.get(), Bytes(der), der.size(), Bytes(f->signing_input),
                            f->signing_input.size()) == 1;
  };
  if (pkey == nullptr || !verify()) return state.SkipWithError("OpenSSL P-256 does not verify");
  for (auto _ : state) benchmark::DoNotOptimize(verify());
}

void BM_RawP256OpenSslSign(benchmark::State& state, const Fixture* f) {
  signet::EvpPkeyCtxPtr gen(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* raw = nullptr;
  if (gen == nullptr || EVP_PKEY_keygen_init(gen.get()) != 1 ||
      EVP_PKEY_CTX_set_group_name(gen.get(), "prime256v1") != 1 ||
      EVP_PKEY_keygen(gen.get(), &raw) != 1) {
    return state.SkipWithError("OpenSSL P-256 key generation failed");
  }
  EvpPkeyPtr pkey(raw);
  EvpMdPtr sha256(EVP_MD_fetch(nullptr, "SHA256", nullptr));
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  unsigned char der[80];
  for (auto _ : state) {
    size_t len = sizeof der;
    EVP_MD_CTX_reset(ctx.get());
    if (EVP_DigestSignInit(ctx.get(), nullptr, sha256.get(), nullptr, pkey.get()) != 1 ||
        EVP_DigestSign(ctx.get(), der, &len, Bytes(f->signing_input), f->signing_input.size()) !=
            1) {
      return state.SkipWithError("OpenSSL P-256 signing failed");
    }
    benchmark::DoNotOptimize(der);
  }
}

// ---- Raw: HMAC-SHA256 --------------------------------------------------------------------------

// An EVP_MAC HMAC-SHA256 context keyed with the fixture's secret, or null.
EvpMacCtxPtr KeyedEvpMac(const Fixture* f) {
  const std::string secret = f->key->PrivateBytes();
  EvpMacPtr mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  EvpMacCtxPtr ctx(EVP_MAC_CTX_new(mac.get()));
  char digest_name[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
                         OSSL_PARAM_construct_end()};
  if (ctx == nullptr || EVP_MAC_init(ctx.get(), Bytes(secret), secret.size(), params) != 1) {
    return nullptr;
  }
  return ctx;
}

// Runs `compute` (which writes the MAC to `out`) once to check it against the token's MAC, then
// as the benchmark's loop.
template <typename Compute>
void RunMacBenchmark(benchmark::State& state, const Fixture* f, const unsigned char* out,
                     const Compute& compute, const char* what) {
  if (!compute() || std::string_view(reinterpret_cast<const char*>(out), 32) != f->signature) {
    return state.SkipWithError(what);
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(compute());
    benchmark::ClobberMemory();
  }
}

void BM_RawHmacOpenSslEvpMac(benchmark::State& state, const Fixture* f) {
  EvpMacCtxPtr ctx = KeyedEvpMac(f);
  if (ctx == nullptr) return state.SkipWithError("EVP_MAC_init failed");
  unsigned char out[EVP_MAX_MD_SIZE];
  auto compute = [&] {
    size_t len = 0;
    // Re-initialised with no key: the keyed state set up above is reused.
    return EVP_MAC_init(ctx.get(), nullptr, 0, nullptr) == 1 &&
           EVP_MAC_update(ctx.get(), Bytes(f->signing_input), f->signing_input.size()) == 1 &&
           EVP_MAC_final(ctx.get(), out, &len, sizeof(out)) == 1 && len == 32;
  };
  RunMacBenchmark(state, f, out, compute, "EVP_MAC HMAC differs from the token's MAC");
}

// The thread-safe way to share one keyed EVP_MAC_CTX: a copy per call (what the codec does).
void BM_RawHmacOpenSslEvpMacDup(benchmark::State& state, const Fixture* f) {
  EvpMacCtxPtr keyed = KeyedEvpMac(f);
  if (keyed == nullptr) return state.SkipWithError("EVP_MAC_init failed");
  unsigned char out[EVP_MAX_MD_SIZE];
  auto compute = [&] {
    EvpMacCtxPtr ctx(EVP_MAC_CTX_dup(keyed.get()));
    size_t len = 0;
    return ctx != nullptr &&
           EVP_MAC_update(ctx.get(), Bytes(f->signing_input), f->signing_input.size()) == 1 &&
           EVP_MAC_final(ctx.get(), out, &len, sizeof(out)) == 1 && len == 32;
  };
  RunMacBenchmark(state, f, out, compute, "EVP_MAC HMAC differs from the token's MAC");
}

// HMAC from two keyed SHA-256 states (key XOR ipad, key XOR opad) made once and copied per call
// into reused contexts with EVP_MD_CTX_copy_ex: the fastest EVP way measured here (the codec used
// it until it moved to EVP_MAC).
void BM_RawHmacOpenSslMdCtxCopy(benchmark::State& state, const Fixture* f) {
  const std::string secret = f->key->PrivateBytes();
  EvpMdPtr sha256(EVP_MD_fetch(nullptr, "SHA256", nullptr));
  unsigned char ipad[64], opad[64];
  for (size_t i = 0; i < 64; ++i) {
    const unsigned char k = i < secret.size() ? static_cast<unsigned char>(secret[i]) : 0;
    ipad[i] = k ^ 0x36;
    opad[i] = k ^ 0x5c;
  }
  EvpMdCtxPtr keyed_inner(EVP_MD_CTX_new()), keyed_outer(EVP_MD_CTX_new());
  EvpMdCtxPtr inner(EVP_MD_CTX_new()), outer(EVP_MD_CTX_new());
  if (secret.size() > 64 || EVP_DigestInit_ex2(keyed_inner.get(), sha256.get(), nullptr) != 1 ||
      EVP_DigestUpdate(keyed_inner.get(), ipad, 64) != 1 ||
      EVP_DigestInit_ex2(keyed_outer.get(), sha256.get(), nullptr) != 1 ||
      EVP_DigestUpdate(keyed_outer.get(), opad, 64) != 1) {
    return state.SkipWithError("SHA-256 set-up failed");
  }
  unsigned char out[32];
  auto compute = [&] {
    unsigned char inner_hash[32];
    unsigned int len = 0;
    return EVP_MD_CTX_copy_ex(inner.get(), keyed_inner.get()) == 1 &&
           EVP_DigestUpdate(inner.get(), f->signing_input.data(), f->signing_input.size()) == 1 &&
           EVP_DigestFinal_ex(inner.get(), inner_hash, &len) == 1 &&
           EVP_MD_CTX_copy_ex(outer.get(), keyed_outer.get()) == 1 &&
           EVP_DigestUpdate(outer.get(), inner_hash, sizeof(inner_hash)) == 1 &&
           EVP_DigestFinal_ex(outer.get(), out, &len) == 1 && len == 32;
  };
  RunMacBenchmark(state, f, out, compute, "EVP_MD_CTX HMAC differs from the token's MAC");
}

void BM_RawHmacSodium(benchmark::State& state, const Fixture* f) {
  const std::string secret = f->key->PrivateBytes();
  crypto_auth_hmacsha256_state keyed;
  crypto_auth_hmacsha256_init(&keyed, Bytes(secret), secret.size());
  unsigned char out[crypto_auth_hmacsha256_BYTES];
  auto compute = [&] {
    crypto_auth_hmacsha256_state s = keyed;
    crypto_auth_hmacsha256_update(&s, Bytes(f->signing_input), f->signing_input.size());
    crypto_auth_hmacsha256_final(&s, out);
  };
  compute();
  if (std::string_view(reinterpret_cast<const char*>(out), sizeof(out)) != f->signature) {
    return state.SkipWithError("libsodium HMAC differs from the token's MAC");
  }
  for (auto _ : state) {
    compute();
    benchmark::DoNotOptimize(out);
    benchmark::ClobberMemory();
  }
}

// ---- Reporting ---------------------------------------------------------------------------------

// Prints like the console reporter and keeps the lowest CPU time per benchmark, in nanoseconds.
class CollectingReporter : public benchmark::ConsoleReporter {
 public:
  CollectingReporter() : ConsoleReporter(isatty(fileno(stdout)) ? OO_ColorTabular : OO_Tabular) {}

  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      if (run.run_type != Run::RT_Iteration || run.error_occurred) continue;
      const double ns =
          run.GetAdjustedCPUTime() * 1e9 / benchmark::GetTimeUnitMultiplier(run.time_unit);
      auto [it, inserted] = best_ns_.emplace(run.benchmark_name(), ns);
      if (!inserted) it->second = std::min(it->second, ns);
    }
  }

  void PrintSummary() const {
    std::printf("\nlowest CPU time per benchmark:\n");
    for (const auto& [name, ns] : best_ns_) std::printf("  %-40s %10.0f ns\n", name.c_str(), ns);
  }

  // The fastest benchmark whose name starts with `prefix` and its time; nullopt if none ran.
  std::optional<std::pair<std::string, double>> Best(std::string_view prefix) const {
    std::optional<std::pair<std::string, double>> best;
    for (const auto& [name, ns] : best_ns_) {
      if (name.compare(0, prefix.size(), prefix) != 0) continue;
      if (!best || ns < best->second) best = {name, ns};
    }
    return best;
  }

 private:
  std::map<std::string, double> best_ns_;
};

// `target` 0: the ratio is printed without a target.
void PrintRatio(const CollectingReporter& reporter, std::string_view alg, double target) {
  std::string codec_name = "verify/" + std::string(alg) + "/codec";
  std::string raw_prefix = "verify/" + std::string(alg) + "/raw_";
  auto codec = reporter.Best(codec_name);
  auto raw = reporter.Best(raw_prefix);
  if (!codec || !raw) {
    std::printf("ratio %s verify: not measured (filtered out or failed)\n",
                std::string(alg).c_str());
    return;
  }
  const double ratio = raw->second / codec->second;
  const std::string verdict = target > 0 ? absl::StrFormat("(target >= %.1f) %s", target,
                                                           ratio >= target ? "MET" : "MISSED")
                                         : "(no target)";
  std::printf(
      "ratio %s verify: codec/raw_fastest = %.2f %s  [codec %.0f ns, fastest raw %s %.0f ns]\n",
      std::string(alg).c_str(), ratio, verdict.c_str(), codec->second,
      raw->first.substr(raw_prefix.size()).c_str(), raw->second);
}

// Writes the HS256 fixture (token, secret, issuer, audience, time) as JSON for the comparison
// with a JavaScript library on the same bytes (bench/hs256_vs_fast_jwt.sh).
void WriteHs256Fixture(const Fixture& f, const char* path) {
  const std::string secret = signet::Base64UrlEncode(f.key->PrivateBytes());
  // Every value is base64url, a JWT or a fixed ASCII name: nothing to escape.
  const std::string json = absl::StrCat(
      R"({"token":")", f.token, R"(","secret_b64url":")", secret, R"(","issuer":"signet",)",
      R"("audience":")", std::string(kAudience), R"(","now_ms":)", absl::ToUnixMillis(kNow), "}\n");
  std::FILE* out = std::fopen(path, "w");
  if (out == nullptr || std::fwrite(json.data(), 1, json.size(), out) != json.size() ||
      std::fclose(out) != 0) {
    Die(std::string("cannot write the HS256 fixture to ") + path);
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  if (sodium_init() < 0) Die("libsodium failed to initialise");

  // Built once and kept alive for the whole run: the benchmarks hold pointers to them.
  static const Fixture eddsa = MakeFixture(Algorithm::kEdDSA);
  static const Fixture es256 = MakeFixture(Algorithm::kES256);
  static const Fixture hs256 = MakeFixture(Algorithm::kHS256);

  for (const Fixture* f : {&eddsa, &es256, &hs256}) {
    const std::string alg(signet::AlgorithmName(f->alg));
    benchmark::RegisterBenchmark(("sign/" + alg + "/codec").c_str(), BM_CodecSign, f);
    benchmark::RegisterBenchmark(("verify/" + alg + "/codec").c_str(), BM_CodecVerify, f);
    benchmark::RegisterBenchmark(("keyverify/" + alg + "/codec").c_str(), BM_CodecKeyVerify, f);
  }
  benchmark::RegisterBenchmark("verify/EdDSA/raw_openssl", BM_RawEd25519OpenSsl, &eddsa);
  benchmark::RegisterBenchmark("verify/EdDSA/raw_libsodium", BM_RawEd25519Sodium, &eddsa);
  benchmark::RegisterBenchmark("verify/ES256/raw_openssl", BM_RawP256OpenSsl, &es256);
  benchmark::RegisterBenchmark("sign/EdDSA/raw_libsodium", BM_RawEd25519SodiumSign, &eddsa);
  benchmark::RegisterBenchmark("sign/ES256/raw_openssl", BM_RawP256OpenSslSign, &es256);
  benchmark::RegisterBenchmark("verify/HS256/raw_openssl_evp_mac", BM_RawHmacOpenSslEvpMac, &hs256);
  benchmark::RegisterBenchmark("verify/HS256/raw_openssl_evp_mac_dup", BM_RawHmacOpenSslEvpMacDup,
                               &hs256);
  benchmark::RegisterBenchmark("verify/HS256/raw_openssl_md_ctx_copy", BM_RawHmacOpenSslMdCtxCopy,
                               &hs256);
  benchmark::RegisterBenchmark("verify/HS256/raw_libsodium", BM_RawHmacSodium, &hs256);

  if (const char* path = std::getenv("SIGNET_BENCH_HS256_FIXTURE")) WriteHs256Fixture(hs256, path);
  std::printf("token bytes: EdDSA %zu, ES256 %zu, HS256 %zu\n", eddsa.token.size(),
              es256.token.size(), hs256.token.size());
  std::fflush(stdout);
  CollectingReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.PrintSummary();
  std::printf("\n");
  PrintRatio(reporter, "EdDSA", 0.9);
  PrintRatio(reporter, "ES256", 0.9);
  // HS256's target is against a JavaScript library, measured by bench/hs256_vs_fast_jwt.sh.
  PrintRatio(reporter, "HS256", 0);
  benchmark::Shutdown();
  return 0;
}
