// Debian's nginx run as a child process for tests and benchmarks: its own prefix, pid file, logs
// and temp folders in a folder of the caller's, `daemon off`, on a free loopback port, in front of
// signet's /v1/authz (auth_request) and an upstream.
#ifndef SIGNET_TESTS_INTEGRATION_GATEWAY_NGINX_PROCESS_H_
#define SIGNET_TESTS_INTEGRATION_GATEWAY_NGINX_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>

namespace signet::testing {

class NginxProcess {
 public:
  // The nginx binary, or empty when nginx (with the auth_request module) is not installed; then
  // `why` says so.
  static std::string Binary(std::string* why);

  // nginx.conf for a proxy on `port` in front of the upstream on 127.0.0.1:`upstream_port`: every
  // location asks signet (127.0.0.1:`signet_http_port`, /v1/authz) first and sends the identity
  // headers it answers upstream; with `signet_http_port` 0 nothing is asked (nginx alone).
  static std::string Config(const std::string& prefix, int port, int signet_http_port,
                            int upstream_port);

  // Writes the config into `prefix` and starts nginx; waits up to 10 s until it accepts
  // connections. Null (with `error` set) when it does not start.
  static std::unique_ptr<NginxProcess> Start(const std::string& binary, const std::string& prefix,
                                             int signet_http_port, int upstream_port,
                                             std::string* error);
  ~NginxProcess();  // SIGQUIT (graceful), then SIGKILL after 5 s; reaps.

  int port() const { return port_; }
  std::string ErrorLog() const;

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::string prefix_;
};

// A free loopback TCP port (bound and released; a race with other processes is possible).
int FreeLoopbackPort();

}  // namespace signet::testing

#endif  // SIGNET_TESTS_INTEGRATION_GATEWAY_NGINX_PROCESS_H_
