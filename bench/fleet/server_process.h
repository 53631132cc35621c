// One signet-server child process of a benchmark, on free loopback ports: started with the given
// flags, its ports read from its "server_started" log line, killed (SIGKILL) on destruction, and
// killed too when the benchmark's thread that started it ends (however the benchmark ends).
//
// Example:
//   ServerProcess server;
//   if (!server.Start({"--data_dir=" + dir, "--listen=127.0.0.1:0", "--http_listen="},
//                     dir + "/server.log")) return 1;
//   auto channel = grpc::CreateChannel(server.target(), grpc::InsecureChannelCredentials());
//   ProcessRssMiB(server.pid());
//   server.Stop(std::chrono::seconds(10));  // SIGTERM, then SIGKILL if it has not exited.
#ifndef SIGNET_BENCH_FLEET_SERVER_PROCESS_H_
#define SIGNET_BENCH_FLEET_SERVER_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace signet::bench {

// The signet-server binary of this build.
std::string DefaultServerBinary();

class ServerProcess {
 public:
  using Clock = std::chrono::steady_clock;

  // How Start() waits for the server to listen.
  struct Wait {
    std::chrono::milliseconds poll{20};  // Reads of its log this far apart.
    std::chrono::seconds limit{30};      // From the fork.
  };

  explicit ServerProcess(std::string binary = DefaultServerBinary());
  ~ServerProcess() { Kill(); }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Runs the binary with `args`, its output appended to `log_path` (which must hold no earlier
  // server_started line), and waits until it listens. False, with its log on stderr, if it did not.
  bool Start(const std::vector<std::string>& args, const std::string& log_path);
  bool Start(const std::vector<std::string>& args, const std::string& log_path, Wait wait);

  // SIGKILL and reap; nothing if it is not running.
  void Kill();
  // SIGTERM, and SIGKILL if it has not exited within `grace`; nothing if it is not running.
  void Stop(std::chrono::milliseconds grace);
  // False once it has exited (reaped here).
  bool Running();

  pid_t pid() const { return pid_; }
  int port() const { return port_; }
  // The HTTP listener's port (0 when it has none).
  int http_port() const { return http_port_; }
  // "127.0.0.1:<port>".
  std::string target() const;
  // When the last Start() forked.
  Clock::time_point started_at() const { return started_at_; }

 private:
  const std::string binary_;
  pid_t pid_ = -1;
  int port_ = 0;
  int http_port_ = 0;
  Clock::time_point started_at_;
};

}  // namespace signet::bench

#endif  // SIGNET_BENCH_FLEET_SERVER_PROCESS_H_
