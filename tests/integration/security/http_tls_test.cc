// The HTTP listener over TLS (--http_tls), in process with certificates made at test time: JWKS
// and discovery over https verified against the CA, the certificate renewed on disk and served
// without a restart (and a half-written one never served), plaintext refused, the probe listener
// still plain, and slow or numerous TLS clients bounded like plain ones: a client that never
// finishes its handshake is cut at --http_request_timeout and cannot starve the others.
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "server/signet_server.h"
#include "signet/clock.h"
#include "tests/integration/loopback_socket.h"
#include "tests/integration/security/test_pki.h"
#include "tests/integration/test_support.h"

namespace signet {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

using testing::ClosedByPeer;
using testing::ConnectLoopback;

struct HttpsAnswer {
  std::string error;  // Non-empty when no answer came: connect, handshake or verification.
  int status = 0;
  std::string body;
  std::string peer_serial_hex;  // The serial number of the certificate the server presented.
};

// GET `path` over TLS from 127.0.0.1:`port`, trusting only `ca_pem` and requiring the name
// "localhost" (OpenSSL's own verification, as curl or a JWKS client does it).
HttpsAnswer HttpsGet(int port, const std::string& ca_pem, const std::string& path) {
  HttpsAnswer out;
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()),
                                                        SSL_CTX_free);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(ca_pem.data(), static_cast<int>(ca_pem.size())), BIO_free);
  X509* ca = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
  X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx.get()), ca);
  X509_free(ca);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  const int fd = ConnectLoopback(port);
  if (fd < 0) {
    out.error = "connect failed";
    return out;
  }
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), SSL_free);
  SSL_set_fd(ssl.get(), fd);
  SSL_set_tlsext_host_name(ssl.get(), "localhost");
  SSL_set1_host(ssl.get(), "localhost");
  timeval five{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &five, sizeof(five));
  if (SSL_connect(ssl.get()) != 1) {
    out.error = absl::StrCat("handshake failed: ", ERR_error_string(ERR_get_error(), nullptr),
                             " (verify ", SSL_get_verify_result(ssl.get()), ")");
    ERR_clear_error();
    ::close(fd);
    return out;
  }
  if (X509* peer = SSL_get1_peer_certificate(ssl.get())) {
    // As the test CA writes it: hexadecimal, no leading zeros.
    out.peer_serial_hex = absl::StrFormat("%X", ASN1_INTEGER_get(X509_get_serialNumber(peer)));
    X509_free(peer);
  }
  const std::string request =
      absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
  SSL_write(ssl.get(), request.data(), static_cast<int>(request.size()));
  std::string raw;
  char buf[4096];
  for (int n; (n = SSL_read(ssl.get(), buf, sizeof(buf))) > 0;) raw.append(buf, n);
  ERR_clear_error();
  ::close(fd);
  if (!absl::StartsWith(raw, "HTTP/1.1 ") || raw.size() < 12) {
    out.error = "no HTTP answer";
    return out;
  }
  out.status = std::stoi(raw.substr(9, 3));
  const size_t body = raw.find("\r\n\r\n");
  if (body != std::string::npos) out.body = raw.substr(body + 4);
  return out;
}

class HttpTlsTest : public ::testing::Test {
 protected:
  HttpTlsTest() : ca_(testing::TestCa::Create("signet http test CA")) {}

  void WriteCertificate(const testing::TestCert& cert) {
    testing::WriteFile(Path("server.pem"), cert.cert_pem, 0644);
    testing::WriteFile(Path("server.key"), cert.key_pem, 0600);
  }

  server::ServerConfig HttpsConfig() {
    server::ServerConfig config = testing::TestConfig(Path("data"));
    config.tls_cert_file = Path("server.pem");
    config.tls_key_file = Path("server.key");
    config.tls_reload_interval = absl::Seconds(1);
    config.http_listen = "127.0.0.1:0";
    config.http_tls = true;
    return config;
  }

  void Start(server::ServerConfig config) {
    server::SignetServer::Options options;
    options.config = std::move(config);
    options.clock = &clock_;
    options.run_maintenance = false;
    server_ = testing::StartServer(std::move(options));
    ASSERT_NE(server_, nullptr);
  }

  std::string Path(const std::string& name) const { return dir_.path() + "/" + name; }

  testing::TempDir dir_;
  testing::TestCa ca_;
  FakeClock clock_{absl::FromUnixSeconds(1800000000)};
  std::unique_ptr<server::SignetServer> server_;
};

TEST_F(HttpTlsTest, ServesJwksAndDiscoveryOverHttpsWithTheGrpcCertificate) {
  const testing::TestCert cert = ca_.Issue("signet.test", {"DNS:localhost", "IP:127.0.0.1"});
  WriteCertificate(cert);
  Start(HttpsConfig());
  ASSERT_NE(server_, nullptr);

  HttpsAnswer jwks = HttpsGet(server_->http_port(), ca_.cert_pem(), "/.well-known/jwks.json");
  ASSERT_EQ(jwks.error, "");
  EXPECT_EQ(jwks.status, 200);
  EXPECT_EQ(jwks.peer_serial_hex, cert.serial_hex);
  rapidjson::Document doc;
  doc.Parse(jwks.body.c_str());
  ASSERT_TRUE(doc.IsObject() && doc.HasMember("keys") && doc["keys"].IsArray()) << jwks.body;
  EXPECT_GE(doc["keys"].Size(), 1u);

  // With no --public_url, jwks_uri is the https address as bound.
  HttpsAnswer discovery =
      HttpsGet(server_->http_port(), ca_.cert_pem(), "/.well-known/openid-configuration");
  ASSERT_EQ(discovery.error, "");
  EXPECT_THAT(discovery.body, HasSubstr(absl::StrCat(
                                  "\"jwks_uri\":\"https://127.0.0.1:", server_->http_port(), "/")));

  // A client trusting another CA refuses the server (the certificate is verified, not just used).
  testing::TestCa other = testing::TestCa::Create("another CA");
  HttpsAnswer refused = HttpsGet(server_->http_port(), other.cert_pem(), "/.well-known/jwks.json");
  EXPECT_THAT(refused.error, StartsWith("handshake failed"));
}

TEST_F(HttpTlsTest, PlaintextGetsNoAnswer) {
  WriteCertificate(ca_.Issue("signet.test", {"DNS:localhost"}));
  server::ServerConfig config = HttpsConfig();
  config.http_request_timeout = absl::Milliseconds(500);
  Start(config);
  ASSERT_NE(server_, nullptr);

  const int fd = ConnectLoopback(server_->http_port());
  ASSERT_GE(fd, 0);
  const std::string request = "GET /.well-known/jwks.json HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_GT(::send(fd, request.data(), request.size(), MSG_NOSIGNAL), 0);
  std::string received;
  EXPECT_TRUE(ClosedByPeer(fd, absl::Seconds(5), &received));
  ::close(fd);
  EXPECT_THAT(received, Not(HasSubstr("HTTP/1.1 200")));
  EXPECT_THAT(received, Not(HasSubstr("\"keys\"")));
}

TEST_F(HttpTlsTest, RenewedCertificateIsServedWithoutRestart) {
  const testing::TestCert first = ca_.Issue("signet.test", {"DNS:localhost"});
  WriteCertificate(first);
  Start(HttpsConfig());
  ASSERT_NE(server_, nullptr);
  ASSERT_EQ(HttpsGet(server_->http_port(), ca_.cert_pem(), "/healthz").peer_serial_hex,
            first.serial_hex);

  // A half-written certificate (as seen mid-update) is never served: the first one stays.
  testing::WriteFile(Path("server.pem"), first.cert_pem.substr(0, first.cert_pem.size() / 2), 0644);
  absl::SleepFor(absl::Milliseconds(1500));
  for (int i = 0; i < 3; ++i) {
    HttpsAnswer during = HttpsGet(server_->http_port(), ca_.cert_pem(), "/healthz");
    ASSERT_EQ(during.error, "");
    EXPECT_EQ(during.peer_serial_hex, first.serial_hex);
    absl::SleepFor(absl::Milliseconds(500));
  }

  // The renewed pair on disk is served to new connections within the reload interval.
  const testing::TestCert renewed = ca_.Issue("signet.test", {"DNS:localhost"});
  WriteCertificate(renewed);
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  HttpsAnswer after;
  do {
    absl::SleepFor(absl::Milliseconds(200));
    after = HttpsGet(server_->http_port(), ca_.cert_pem(), "/healthz");
  } while (after.peer_serial_hex != renewed.serial_hex && absl::Now() < deadline);
  EXPECT_EQ(after.error, "");
  EXPECT_EQ(after.status, 200);
  EXPECT_EQ(after.peer_serial_hex, renewed.serial_hex);
}

TEST_F(HttpTlsTest, StalledHandshakesAreCutAndCannotStarveOthers) {
  WriteCertificate(ca_.Issue("signet.test", {"DNS:localhost"}));
  server::ServerConfig config = HttpsConfig();
  config.http_max_connections = 3;
  config.http_request_timeout = absl::Seconds(5);
  Start(config);
  ASSERT_NE(server_, nullptr);
  const int port = server_->http_port();

  // Two connections that never send a ClientHello take two of the three workers.
  const absl::Time start = absl::Now();
  std::vector<int> stalled;
  for (int i = 0; i < 2; ++i) stalled.push_back(ConnectLoopback(port));
  absl::SleepFor(absl::Milliseconds(100));
  // The third worker still serves an honest client at once.
  HttpsAnswer honest = HttpsGet(port, ca_.cert_pem(), "/healthz");
  EXPECT_EQ(honest.error, "");
  EXPECT_EQ(honest.status, 200);
  // Each stalled connection is closed once the request timeout has passed, not held longer.
  for (int fd : stalled) {
    ASSERT_GE(fd, 0);
    std::string received;
    EXPECT_TRUE(ClosedByPeer(fd, absl::Seconds(15), &received));
    EXPECT_EQ(received, "");
    ::close(fd);
  }
  EXPECT_GE(absl::Now() - start, absl::Seconds(4.5));
  EXPECT_LT(absl::Now() - start, absl::Seconds(12));

  // Beyond --http_max_connections, a TLS connection is closed at once, long before the request
  // timeout (and with no plaintext 503 a TLS client could not read anyway). First three
  // connections that hold the three workers: a worker of the part above may be released a moment
  // after its client saw the close (on a busy machine), and a connection that found no free
  // worker then was refused; it is replaced until three stay open.
  std::vector<int> held;
  const absl::Time give_up = absl::Now() + absl::Seconds(3);
  while (absl::Now() < give_up) {
    while (held.size() < 3) held.push_back(ConnectLoopback(port));
    absl::SleepFor(absl::Milliseconds(300));
    std::string unused;
    auto refused = [&](int fd) {
      if (!ClosedByPeer(fd, absl::ZeroDuration(), &unused)) return false;
      ::close(fd);
      return true;
    };
    held.erase(std::remove_if(held.begin(), held.end(), refused), held.end());
    if (held.size() == 3) break;
  }
  ASSERT_EQ(held.size(), 3u) << "three connections never held the three workers";
  const int extra = ConnectLoopback(port);
  ASSERT_GE(extra, 0);
  std::string received;
  // Well before the 5 s a served connection would be held.
  EXPECT_TRUE(ClosedByPeer(extra, absl::Seconds(3), &received)) << "served, not refused";
  EXPECT_EQ(received, "");
  ::close(extra);
  for (int fd : held) ::close(fd);
  // ... and counted where Prometheus scrapes, over https too.
  absl::SleepFor(absl::Milliseconds(200));
  HttpsAnswer metrics = HttpsGet(port, ca_.cert_pem(), "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_THAT(metrics.body, HasSubstr("\nsignet_http_refused_connections_total "));
  EXPECT_THAT(metrics.body, Not(HasSubstr("\nsignet_http_refused_connections_total 0\n")));
}

TEST_F(HttpTlsTest, ProbeListenerStaysPlainHttp) {
  WriteCertificate(ca_.Issue("signet.test", {"DNS:localhost"}));
  server::ServerConfig config = HttpsConfig();
  config.probe_listen = "127.0.0.1:0";
  Start(config);
  ASSERT_NE(server_, nullptr);
  const int fd = ConnectLoopback(server_->probe_port());
  ASSERT_GE(fd, 0);
  const std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  ASSERT_GT(::send(fd, request.data(), request.size(), MSG_NOSIGNAL), 0);
  std::string received;
  EXPECT_TRUE(ClosedByPeer(fd, absl::Seconds(5), &received));
  ::close(fd);
  EXPECT_THAT(received, StartsWith("HTTP/1.1 200"));
}

TEST_F(HttpTlsTest, NeedsTheCertificateFilesAndAnHttpListener) {
  server::ServerConfig config = testing::TestConfig(Path("data"));
  config.http_listen = "127.0.0.1:0";
  config.http_tls = true;
  absl::Status no_cert = config.Validate();
  EXPECT_EQ(no_cert.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(no_cert.message(), HasSubstr("--tls_cert_file and --tls_key_file"));

  config.tls_cert_file = Path("server.pem");
  config.tls_key_file = Path("server.key");
  config.http_listen = "";
  absl::Status no_listener = config.Validate();
  EXPECT_EQ(no_listener.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(no_listener.message(), HasSubstr("--http_tls needs --http_listen"));

  // A key that does not match the certificate is refused at start, naming the file.
  WriteCertificate(ca_.Issue("signet.test", {"DNS:localhost"}));
  const testing::TestCert other = ca_.Issue("other", {"DNS:localhost"});
  testing::WriteFile(Path("server.key"), other.key_pem, 0600);
  server::SignetServer::Options options;
  options.config = HttpsConfig();
  options.clock = &clock_;
  options.run_maintenance = false;
  absl::Status mismatch = server::SignetServer::Start(std::move(options)).status();
  EXPECT_EQ(mismatch.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(mismatch.message(), HasSubstr("server.key"));
  EXPECT_THAT(mismatch.message(), Not(HasSubstr("PRIVATE KEY")));
}

}  // namespace
}  // namespace signet
