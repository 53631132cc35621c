// A throw-away PKI for TLS tests: a CA made at test time, and certificates it signs for servers
// and clients (SPIFFE URI, DNS and IP SANs), as PEM text.
//
// Example:
//   TestCa ca = TestCa::Create("test-ca");
//   TestCert server = ca.Issue("localhost", {"DNS:localhost", "IP:127.0.0.1"});
//   TestCert client = ca.Issue("login", {"URI:spiffe://test/ns/auth/sa/login"});
//   // Names taken byte for byte, even ones a CA should refuse (a DNS SAN holding a URI):
//   TestCert odd = ca.IssueNamed({"x", {"spiffe://test/ns/ops/sa/admin"}, {}});  // CN, DNS, URI
#ifndef SIGNET_TESTS_INTEGRATION_SECURITY_TEST_PKI_H_
#define SIGNET_TESTS_INTEGRATION_SECURITY_TEST_PKI_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "grpcpp/grpcpp.h"

struct x509_st;  // OpenSSL's X509, kept out of this header

namespace signet::testing {

struct TestCert {
  std::string cert_pem;
  std::string key_pem;  // PKCS#8 PEM
  std::string serial_hex;
};

// The names of a leaf certificate, each written as given (no syntax check, no escaping).
struct CertNames {
  std::string common_name;        // subject CN; empty: none
  std::vector<std::string> dns;   // dNSName SANs
  std::vector<std::string> uris;  // uniformResourceIdentifier SANs
};

class TestCa {
 public:
  // A self-signed P-256 CA named `common_name`, valid from an hour ago for a day.
  static TestCa Create(const std::string& common_name);

  // A leaf certificate signed by this CA, for both server and client use. `sans` in OpenSSL's
  // config syntax ("URI:...", "DNS:...", "IP:..."); empty: no SAN extension (CN only).
  TestCert Issue(const std::string& common_name, const std::vector<std::string>& sans) const;

  // A leaf certificate with exactly these names (no SAN extension when there are no SANs).
  TestCert IssueNamed(const CertNames& names) const;

  const std::string& cert_pem() const { return cert_pem_; }

 private:
  // Signs a leaf named `common_name` after `add_sans` added its SAN extension (or none).
  TestCert IssueLeaf(const std::string& common_name,
                     const std::function<void(x509_st*)>& add_sans) const;

  struct Impl;
  std::shared_ptr<Impl> impl_;
  std::string cert_pem_;
};

// A channel to 127.0.0.1:`port` over mutual TLS: `client`'s certificate, `ca` trusted, the
// server's name taken as "localhost"; a subchannel of its own, so each caller gets a connection.
std::shared_ptr<grpc::Channel> MutualTlsChannel(const TestCa& ca, const TestCert& client, int port);

}  // namespace signet::testing

#endif  // SIGNET_TESTS_INTEGRATION_SECURITY_TEST_PKI_H_
