// A TCP proxy on a loopback port for partition tests: it forwards every connection to a target
// port, and Freeze() makes it stop forwarding bytes in both directions while every socket stays
// open, as a network that silently drops traffic would (no RST, no FIN: nothing either end can
// notice except silence). Thaw() resumes forwarding, including what the kernel buffered.
//
// Example:
//   signet::testing::TcpProxy proxy(server->port());
//   channel.target = absl::StrCat("127.0.0.1:", proxy.port());
//   ...
//   proxy.Freeze();   // from here on nothing crosses, until Thaw()
//   proxy.Thaw();
#ifndef SIGNET_TESTS_INTEGRATION_TCP_PROXY_H_
#define SIGNET_TESTS_INTEGRATION_TCP_PROXY_H_

#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace signet::testing {

// Thread-safe.
class TcpProxy {
 public:
  // Listens on 127.0.0.1 (a free port) and forwards to 127.0.0.1:target_port. Fails the test
  // (ADD_FAILURE) and leaves port() 0 when it cannot listen.
  explicit TcpProxy(int target_port);
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  int port() const { return port_; }

  // Once Freeze returns, no byte crosses the proxy (new connections are accepted and connected
  // upstream, but stay frozen too) until Thaw.
  void Freeze();
  void Thaw();

 private:
  struct Pair {
    int client;
    int upstream;
  };

  void Run();
  void Wake();
  // Moves what is readable on `from` to `to`; false when `from` closed or failed.
  static bool Forward(int from, int to);

  const int target_port_;
  int listen_fd_ = -1;
  int port_ = 0;
  int wake_[2] = {-1, -1};
  // Held while bytes are moved, so that Freeze() waits for a move in progress.
  absl::Mutex mu_;
  bool frozen_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<Pair> pairs_;  // Only the proxy thread touches it.
  std::thread thread_;
};

}  // namespace signet::testing

#endif  // SIGNET_TESTS_INTEGRATION_TCP_PROXY_H_
