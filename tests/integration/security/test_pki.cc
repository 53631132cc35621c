#include "tests/integration/security/test_pki.h"

#include <atomic>
#include <cstdio>
#include <functional>

#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "openssl/bio.h"
#include "openssl/bn.h"
#include "openssl/evp.h"
#include "openssl/pem.h"
#include "openssl/x509.h"
#include "openssl/x509v3.h"

namespace signet::testing {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using BioPtr = std::unique_ptr<BIO, BioFree>;

std::atomic<long> next_serial{1000};

PkeyPtr NewKey() {
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  EXPECT_NE(key, nullptr);
  return key;
}

std::string BioText(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string CertPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  return BioText(bio.get());
}

std::string KeyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  return BioText(bio.get());
}

void AddExt(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  ASSERT_NE(ext, nullptr) << "bad extension " << value;
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// A certificate for `key`, named `cn`, issued by `issuer` (itself when null); the caller adds
// extensions and signs.
X509Ptr NewCert(EVP_PKEY* key, const std::string& cn, X509* issuer, std::string* serial_hex) {
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  long serial = next_serial.fetch_add(1);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  char hex[32];
  std::snprintf(hex, sizeof(hex), "%lX", serial);
  *serial_hex = hex;
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("signet tests"), -1, -1, 0);
  if (!cn.empty()) {
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  }
  X509_set_issuer_name(cert.get(), issuer != nullptr ? X509_get_subject_name(issuer) : name);
  return cert;
}

// Adds a subjectAltName extension holding `names` as they are (OpenSSL's config syntax would
// split on commas and reject some values).
void AddSans(X509* cert, const CertNames& names) {
  GENERAL_NAMES* sans = sk_GENERAL_NAME_new_null();
  auto add = [&](int type, const std::string& value) {
    ASN1_IA5STRING* text = ASN1_IA5STRING_new();
    ASN1_STRING_set(text, value.data(), static_cast<int>(value.size()));
    GENERAL_NAME* gn = GENERAL_NAME_new();
    GENERAL_NAME_set0_value(gn, type, text);
    sk_GENERAL_NAME_push(sans, gn);
  };
  for (const std::string& d : names.dns) add(GEN_DNS, d);
  for (const std::string& u : names.uris) add(GEN_URI, u);
  EXPECT_EQ(X509_add1_ext_i2d(cert, NID_subject_alt_name, sans, 0, X509V3_ADD_DEFAULT), 1);
  GENERAL_NAMES_free(sans);
}

}  // namespace

struct TestCa::Impl {
  PkeyPtr key;
  X509Ptr cert;
};

TestCa TestCa::Create(const std::string& common_name) {
  TestCa ca;
  ca.impl_ = std::make_shared<Impl>();
  ca.impl_->key = NewKey();
  std::string serial;
  ca.impl_->cert = NewCert(ca.impl_->key.get(), common_name, nullptr, &serial);
  X509* cert = ca.impl_->cert.get();
  AddExt(cert, cert, NID_basic_constraints, "critical,CA:TRUE");
  AddExt(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  AddExt(cert, cert, NID_subject_key_identifier, "hash");
  EXPECT_GT(X509_sign(cert, ca.impl_->key.get(), EVP_sha256()), 0);
  ca.cert_pem_ = CertPem(cert);
  return ca;
}

TestCert TestCa::IssueLeaf(const std::string& common_name,
                           const std::function<void(X509*)>& add_sans) const {
  TestCert out;
  PkeyPtr key = NewKey();
  X509Ptr cert = NewCert(key.get(), common_name, impl_->cert.get(), &out.serial_hex);
  X509* issuer = impl_->cert.get();
  AddExt(cert.get(), issuer, NID_basic_constraints, "critical,CA:FALSE");
  AddExt(cert.get(), issuer, NID_key_usage, "critical,digitalSignature,keyAgreement");
  AddExt(cert.get(), issuer, NID_ext_key_usage, "serverAuth,clientAuth");
  AddExt(cert.get(), issuer, NID_authority_key_identifier, "keyid");
  add_sans(cert.get());
  EXPECT_GT(X509_sign(cert.get(), impl_->key.get(), EVP_sha256()), 0);
  out.cert_pem = CertPem(cert.get());
  out.key_pem = KeyPem(key.get());
  return out;
}

TestCert TestCa::Issue(const std::string& common_name, const std::vector<std::string>& sans) const {
  return IssueLeaf(common_name, [&](X509* cert) {
    if (!sans.empty())
      AddExt(cert, impl_->cert.get(), NID_subject_alt_name, absl::StrJoin(sans, ","));
  });
}

TestCert TestCa::IssueNamed(const CertNames& names) const {
  return IssueLeaf(names.common_name, [&](X509* cert) {
    if (!names.dns.empty() || !names.uris.empty()) AddSans(cert, names);
  });
}

std::shared_ptr<grpc::Channel> MutualTlsChannel(const TestCa& ca, const TestCert& client,
                                                int port) {
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ca.cert_pem();
  ssl.pem_private_key = client.key_pem;
  ssl.pem_cert_chain = client.cert_pem;
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride("localhost");
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port), grpc::SslCredentials(ssl),
                                   args);
}

}  // namespace signet::testing
