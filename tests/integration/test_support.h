// Shared helpers for integration tests: temp folders, an in-process server, a subprocess server.
#ifndef SIGNET_TESTS_INTEGRATION_TEST_SUPPORT_H_
#define SIGNET_TESTS_INTEGRATION_TEST_SUPPORT_H_

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "server/signet_server.h"
#include "signet/v1/token_service.grpc.pb.h"

namespace signet::testing {

// A fresh folder under the test temp dir, removed (recursively) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Writes `content` to `path` with `mode`.
void WriteFile(const std::string& path, const std::string& content, int mode = 0600);
std::string ReadFile(const std::string& path);

// A config for tests: loopback port 0, data in `data_dir`, HTTP off.
server::ServerConfig TestConfig(const std::string& data_dir);

// Starts an in-process server. On failure it fails the test (ADD_FAILURE, with the status) and
// returns null.
std::unique_ptr<server::SignetServer> StartServer(server::SignetServer::Options options);

std::unique_ptr<signet::v1::TokenService::Stub> NewStub(int port);

// IssueToken for `subject` with the server's defaults; the call failing fails the test (the
// response is then empty).
signet::v1::IssueTokenResponse IssueFor(signet::v1::TokenService::Stub* stub,
                                        const std::string& subject);
// RevokeToken of `token`: the call's status.
grpc::Status RevokeTokenOf(signet::v1::TokenService::Stub* stub, const std::string& token);
// ListKeys; the call failing fails the test.
signet::v1::ListKeysResponse ListKeysOf(signet::v1::TokenService::Stub* stub,
                                        bool include_revoked = true);
// ValidateToken accepting any audience; the call failing fails the test.
signet::v1::ValidateTokenResponse ValidateAnyAudience(signet::v1::TokenService::Stub* stub,
                                                      const std::string& token);
std::shared_ptr<grpc::Channel> NewChannel(int port);

// signet-server run as a child process. Stderr goes to a file; the port is read from its
// "server_started" log line.
class ServerProcess {
 public:
  // Starts build/server/signet-server with `args` (plus --listen=127.0.0.1:0 unless given) and
  // waits up to 30 s for it to serve. Fails the test (ADD_FAILURE) and returns port 0 on error.
  // `run_as`: a uid (and gid) the child switches to before exec (the caller must be root).
  static std::unique_ptr<ServerProcess> Start(const std::vector<std::string>& args,
                                              const std::string& log_path,
                                              std::optional<uid_t> run_as = std::nullopt);
  ~ServerProcess();

  int port() const { return port_; }
  // The HTTP port (JWKS, /metrics) from the same log line; 0 when HTTP is off.
  int http_port() const { return http_port_; }
  pid_t pid() const { return pid_; }
  // SIGKILL, then reap.
  void Kill9();
  // SIGTERM, then wait up to `timeout` for exit; returns the exit status (or -1).
  int Terminate(absl::Duration timeout);
  std::string Log() const;

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  int http_port_ = 0;
  std::string log_path_;
};

// Runs a command and returns its exit status (for start-up failure tests): `out` gets stderr.
int RunServerOnce(const std::vector<std::string>& args, std::string* out,
                  absl::Duration timeout = absl::Seconds(20));

std::string ServerBinary();

}  // namespace signet::testing

#endif  // SIGNET_TESTS_INTEGRATION_TEST_SUPPORT_H_
