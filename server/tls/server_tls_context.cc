#include "server/tls/server_tls_context.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/log.h"
#include "token/openssl/openssl_ptr.h"

namespace signet::server {
namespace {

using BioPtr = OpenSslPtr<BIO, BIO_free>;
using X509Ptr = OpenSslPtr<X509, X509_free>;
using SslCtxPtr = OpenSslPtr<SSL_CTX, SSL_CTX_free>;

// The two files as read at one moment. The key's bytes are wiped when this goes.
struct Files {
  std::string cert;
  std::string key;
  ~Files() {
    if (!key.empty()) OPENSSL_cleanse(key.data(), key.size());
  }
};

absl::Status ReadFile(const std::string& path, const char* flag, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read ", flag, " ", path, ": ", std::strerror(errno)));
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  *out = std::move(buffer).str();
  return absl::OkStatus();
}

// SHA-256 of both contents, each length-prefixed so that no two pairs collide by concatenation.
std::string Fingerprint(const Files& files) {
  EvpMdCtxPtr md(EVP_MD_CTX_new());
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  const uint64_t lengths[2] = {files.cert.size(), files.key.size()};
  if (md == nullptr || EVP_DigestInit_ex(md.get(), EVP_sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(md.get(), lengths, sizeof(lengths)) != 1 ||
      EVP_DigestUpdate(md.get(), files.cert.data(), files.cert.size()) != 1 ||
      EVP_DigestUpdate(md.get(), files.key.data(), files.key.size()) != 1 ||
      EVP_DigestFinal_ex(md.get(), digest, &size) != 1) {
    ERR_clear_error();
    return "";  // Never equal to a real fingerprint: the files are then loaded again.
  }
  return std::string(reinterpret_cast<const char*>(digest), size);
}

BioPtr MemoryBio(const std::string& text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

// A server context holding the certificate chain and key: TLS 1.2 or later, no renegotiation.
absl::StatusOr<SslCtxPtr> MakeContext(const Files& files, const std::string& cert_path,
                                      const std::string& key_path) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (ctx == nullptr) {
    ERR_clear_error();
    return absl::InternalError("cannot make a TLS context");
  }
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);

  BioPtr certs = MemoryBio(files.cert);
  X509Ptr leaf(PEM_read_bio_X509_AUX(certs.get(), nullptr, nullptr, nullptr));
  if (leaf == nullptr || SSL_CTX_use_certificate(ctx.get(), leaf.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat("--tls_cert_file ", cert_path, " holds no usable PEM certificate"));
  }
  // The rest of the file is the chain up to (not necessarily including) the root.
  while (X509* next = PEM_read_bio_X509(certs.get(), nullptr, nullptr, nullptr)) {
    if (SSL_CTX_add0_chain_cert(ctx.get(), next) != 1) {
      X509_free(next);
      ERR_clear_error();
      return absl::InvalidArgumentError(
          absl::StrCat("--tls_cert_file ", cert_path, ": a chain certificate is unusable"));
    }
  }
  ERR_clear_error();  // The loop ends on "no start line".

  BioPtr key_bio = MemoryBio(files.key);
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (key == nullptr || SSL_CTX_use_PrivateKey(ctx.get(), key.get()) != 1 ||
      SSL_CTX_check_private_key(ctx.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrCat(
        "--tls_key_file ", key_path, " holds no PEM private key matching --tls_cert_file"));
  }
  return ctx;
}

std::shared_ptr<SSL_CTX> Share(SslCtxPtr ctx) {
  return std::shared_ptr<SSL_CTX>(ctx.release(), SSL_CTX_free);
}

}  // namespace

ServerTlsContext::ServerTlsContext(std::string cert_path, std::string key_path,
                                   absl::Duration reload_interval)
    : cert_path_(std::move(cert_path)),
      key_path_(std::move(key_path)),
      reload_interval_(reload_interval) {}

absl::StatusOr<std::unique_ptr<ServerTlsContext>> ServerTlsContext::Load(
    std::string cert_path, std::string key_path, absl::Duration reload_interval) {
  Files files;
  if (absl::Status s = ReadFile(cert_path, "--tls_cert_file", &files.cert); !s.ok()) return s;
  if (absl::Status s = ReadFile(key_path, "--tls_key_file", &files.key); !s.ok()) return s;
  absl::StatusOr<SslCtxPtr> ctx = MakeContext(files, cert_path, key_path);
  if (!ctx.ok()) return ctx.status();
  std::unique_ptr<ServerTlsContext> tls(
      new ServerTlsContext(std::move(cert_path), std::move(key_path), reload_interval));
  absl::MutexLock lock(&tls->mu_);
  tls->ctx_ = Share(*std::move(ctx));
  tls->fingerprint_ = Fingerprint(files);
  tls->next_check_ = absl::Now() + reload_interval;
  return tls;
}

std::shared_ptr<SSL_CTX> ServerTlsContext::Current() {
  absl::MutexLock lock(&mu_);
  const absl::Time now = absl::Now();
  if (now < next_check_) return ctx_;
  next_check_ = now + reload_interval_;
  Files files;
  absl::Status read = ReadFile(cert_path_, "--tls_cert_file", &files.cert);
  if (read.ok()) read = ReadFile(key_path_, "--tls_key_file", &files.key);
  if (!read.ok()) {
    // Logged at each look while it lasts; the previous context stays.
    Log(LogLevel::kWarning, "http_tls_reload_failed").Str("error", std::string(read.message()));
    return ctx_;
  }
  std::string fingerprint = Fingerprint(files);
  if (fingerprint == fingerprint_) return ctx_;
  fingerprint_ = std::move(fingerprint);
  absl::StatusOr<SslCtxPtr> ctx = MakeContext(files, cert_path_, key_path_);
  if (!ctx.ok()) {
    Log(LogLevel::kWarning, "http_tls_reload_failed")
        .Str("error", std::string(ctx.status().message()))
        .Str("kept", "the previous certificate");
    return ctx_;
  }
  ctx_ = Share(*std::move(ctx));
  ++reloads_;
  Log(LogLevel::kInfo, "http_tls_reloaded").Str("cert_file", cert_path_).Int("reloads", reloads_);
  return ctx_;
}

}  // namespace signet::server
