// signet-server: the token service. See README.md and docs/ for its flags and operation.
#include <signal.h>

#include <cstdlib>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "server/core_dumps.h"
#include "server/flags.h"
#include "server/log.h"
#include "server/signet_server.h"

int main(int argc, char** argv) {
  // --help lists the flags defined in server/flags.cc (Abseil's default looks for flags defined
  // in the file that holds main(), which has none).
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view file) {
    return absl::EndsWith(file, "server/flags.cc");
  };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  absl::SetFlagsUsageConfig(usage);
  absl::SetProgramUsageMessage(
      "issues, validates and revokes tokens for a fleet of services.\n"
      "Embedded defaults: SQLite in ./signet-data, gRPC on 127.0.0.1:50051.");
  absl::ParseCommandLine(argc, argv);
  // Debian's Abseil is built with its debug checks on, and gRPC takes dozens of absl::Mutex locks
  // per call: the lock-order graph they update cost 10-15% of the server's CPU (callgrind, see
  // docs/PERFORMANCE.md). Deadlock detection is a debugging aid; tests keep it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  using signet::server::Log;
  using signet::server::LogLevel;

  // Termination signals are taken synchronously by one thread, so the drain runs outside any
  // signal handler.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  // Before any key is read: a crash must not write the KEK or private keys to a core file.
  if (absl::Status s = signet::server::DisableCoreDumps(); !s.ok()) {
    Log(LogLevel::kError, "start_failed").Str("error", s.ToString());
    return 1;
  }
  Log(LogLevel::kInfo, "core_dumps_disabled")
      .Str("note", "RLIMIT_CORE=0 and PR_SET_DUMPABLE=0: key material never reaches a core file");

  absl::StatusOr<signet::server::ServerConfig> config = signet::server::ConfigFromFlags();
  if (!config.ok()) {
    Log(LogLevel::kError, "bad_configuration").Str("error", config.status().ToString());
    return 2;
  }
  signet::server::SignetServer::Options options;
  options.config = *config;
  absl::StatusOr<std::unique_ptr<signet::server::SignetServer>> server =
      signet::server::SignetServer::Start(std::move(options));
  if (!server.ok()) {
    Log(LogLevel::kError, "start_failed").Str("error", server.status().ToString());
    return server.status().code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
  }
  int received = 0;
  sigwait(&signals, &received);
  Log(LogLevel::kInfo, "signal_received").Int("signal", received);
  (*server)->Shutdown(config->drain_timeout);
  return 0;
}
