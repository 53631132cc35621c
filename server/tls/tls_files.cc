#include "server/tls/tls_files.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "openssl/bio.h"
#include "openssl/err.h"
#include "openssl/evp.h"
#include "openssl/pem.h"
#include "openssl/x509.h"
#include "token/openssl/openssl_ptr.h"

namespace signet::server {
namespace {

using BioPtr = OpenSslPtr<BIO, BIO_free>;
using X509Ptr = OpenSslPtr<X509, X509_free>;

absl::StatusOr<BioPtr> OpenFile(const std::string& path, const char* what) {
  BioPtr bio(BIO_new_file(path.c_str(), "r"));
  if (bio == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read ", what, " ", path, ": ", std::strerror(errno)));
  }
  return bio;
}

// The first certificate of a PEM file.
absl::StatusOr<X509Ptr> FirstCertificate(const std::string& path, const char* what) {
  absl::StatusOr<BioPtr> bio = OpenFile(path, what);
  if (!bio.ok()) return bio.status();
  X509Ptr cert(PEM_read_bio_X509(bio->get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  if (cert == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(what, " ", path, " holds no PEM certificate"));
  }
  return cert;
}

}  // namespace

absl::Status CheckTlsFiles(const std::string& cert_path, const std::string& key_path,
                           const std::string& client_ca_path) {
  absl::StatusOr<X509Ptr> cert = FirstCertificate(cert_path, "--tls_cert_file");
  if (!cert.ok()) return cert.status();

  struct stat st;
  if (stat(key_path.c_str(), &st) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read --tls_key_file ", key_path, ": ", std::strerror(errno)));
  }
  if ((st.st_mode & (S_IROTH | S_IWOTH)) != 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "--tls_key_file %s is readable or writable by others (mode %04o): run chmod 0600 %s "
        "(or 0640 for a group the server runs in)",
        key_path, st.st_mode & 07777, key_path));
  }
  absl::StatusOr<BioPtr> bio = OpenFile(key_path, "--tls_key_file");
  if (!bio.ok()) return bio.status();
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio->get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tls_key_file ", key_path, " holds no unencrypted PEM private key"));
  }
  if (X509_check_private_key(cert->get(), key.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat("--tls_key_file ", key_path,
                     " does not match the first certificate of --tls_cert_file ", cert_path));
  }
  if (!client_ca_path.empty()) {
    absl::StatusOr<X509Ptr> ca = FirstCertificate(client_ca_path, "--client_ca_file");
    if (!ca.ok()) return ca.status();
  }
  return absl::OkStatus();
}

}  // namespace signet::server
