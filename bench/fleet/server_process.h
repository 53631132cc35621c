// One signet-server child process of a benchmark, on a free loopback port: started with the given
// flags, its port read from its "server_started" log line, killed (SIGKILL) on destruction.
//
// Example:
//   ServerProcess server;
//   if (!server.Start({"--data_dir=" + dir, "--listen=127.0.0.1:0", "--http_listen="},
//                     dir + "/server.log")) return 1;
//   auto channel = grpc::CreateChannel(server.target(), grpc::InsecureChannelCredentials());
//   ProcessRssMiB(server.pid());
#ifndef SIGNET_BENCH_FLEET_SERVER_PROCESS_H_
#define SIGNET_BENCH_FLEET_SERVER_PROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

namespace signet::bench {

class ServerProcess {
 public:
  ServerProcess() = default;
  ~ServerProcess() { Kill(); }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Runs the signet-server binary of this build with `args`, its output appended to `log_path`,
  // and waits (up to 30 s) until it listens. False, with its log on stderr, if it did not.
  bool Start(const std::vector<std::string>& args, const std::string& log_path);

  // SIGKILL and reap; nothing if it is not running.
  void Kill();

  pid_t pid() const { return pid_; }
  int port() const { return port_; }
  // "127.0.0.1:<port>".
  std::string target() const;

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace signet::bench

#endif  // SIGNET_BENCH_FLEET_SERVER_PROCESS_H_
