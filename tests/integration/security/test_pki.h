// A throw-away PKI for TLS tests: a CA made at test time, and certificates it signs for servers
// and clients (SPIFFE URI, DNS and IP SANs), as PEM text.
//
// Example:
//   TestCa ca = TestCa::Create("test-ca");
//   TestCert server = ca.Issue("localhost", {"DNS:localhost", "IP:127.0.0.1"});
//   TestCert client = ca.Issue("login", {"URI:spiffe://test/ns/auth/sa/login"});
#ifndef SIGNET_TESTS_INTEGRATION_SECURITY_TEST_PKI_H_
#define SIGNET_TESTS_INTEGRATION_SECURITY_TEST_PKI_H_

#include <memory>
#include <string>
#include <vector>

namespace signet::testing {

struct TestCert {
  std::string cert_pem;
  std::string key_pem;  // PKCS#8 PEM
  std::string serial_hex;
};

class TestCa {
 public:
  // A self-signed P-256 CA named `common_name`, valid from an hour ago for a day.
  static TestCa Create(const std::string& common_name);

  // A leaf certificate signed by this CA, for both server and client use. `sans` in OpenSSL's
  // config syntax ("URI:...", "DNS:...", "IP:..."); empty: no SAN extension (CN only).
  TestCert Issue(const std::string& common_name, const std::vector<std::string>& sans) const;

  const std::string& cert_pem() const { return cert_pem_; }

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
  std::string cert_pem_;
};

}  // namespace signet::testing

#endif  // SIGNET_TESTS_INTEGRATION_SECURITY_TEST_PKI_H_
