// Writes the generated part of the seed corpora: tokens signed by the fuzzers' fixed keys (and a
// few near misses) into <root>/token_verify, and the keys as JWKs and a JWK Set into <root>/jwk.
// The files are checked in; run this again only when fuzz_keys.cc changes:
//   build-fuzz/tests/fuzz/make_fuzz_seeds tests/fuzz/corpus
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "signet/base64url.h"
#include "signet/jwk.h"
#include "tests/fuzz/fuzz_keys.h"

namespace {

void Write(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  if (!out) std::fprintf(stderr, "cannot write %s\n", path.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus root>\n", argv[0]);
    return 2;
  }
  const std::string root = argv[1];
  const signet::fuzz::FuzzKeys& k = signet::fuzz::Keys();

  std::vector<std::string> tokens = signet::fuzz::SeedTokens();
  const std::string first = tokens.front();
  const std::string header_end = first.substr(first.find('.'));
  // Near misses: alg none, a refused header member, padding, an extra segment.
  tokens.push_back(signet::Base64UrlEncode(R"({"alg":"none","kid":"x"})") + header_end);
  tokens.push_back(
      signet::Base64UrlEncode(R"({"alg":"EdDSA","kid":"x","jku":"https://evil.example/jwks"})") +
      header_end);
  tokens.push_back(first + "=");
  tokens.push_back(first + ".e30");
  int n = 0;
  for (const std::string& token : tokens) {
    Write(root + "/token_verify/seed-" + std::to_string(n++), token);
  }

  std::vector<std::shared_ptr<const signet::VerifyKey>> keys = {k.ed->verify_key(),
                                                                k.es->verify_key()};
  n = 0;
  for (const auto& key : keys) {
    absl::StatusOr<std::string> jwk = signet::ToJwk(*key);
    if (jwk.ok()) Write(root + "/jwk/seed-" + std::to_string(n++), *jwk);
  }
  Write(root + "/jwk/seed-set", signet::ToJwks(keys));
  std::printf("wrote %zu token seeds and %d JWKs\n", tokens.size(), n);
  return 0;
}
