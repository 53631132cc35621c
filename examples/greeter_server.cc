// greeter_server: the example service protected by signet's interceptor, validating tokens locally
// (keys and revocations kept current by WatchKeys).
//
//   greeter_server --signet_target=127.0.0.1:50051 --listen=127.0.0.1:50061 --audience=greeter
#include <csignal>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "examples/greeter_service.h"
#include "signet/channel.h"
#include "signet/local_validator.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50061", "Address the greeter serves on.");
ABSL_FLAG(std::string, signet_target, "127.0.0.1:50051", "signet-server's gRPC address.");
ABSL_FLAG(std::string, issuer, "signet", "The iss of signet's tokens (signet-server --issuer).");
ABSL_FLAG(std::string, audience, "greeter",
          "Tokens must carry this audience (empty only with --any_audience).");
ABSL_FLAG(bool, any_audience, false,
          "Accept tokens minted for any audience (needs --audience=\"\"); never the default, "
          "since it lets a token for another service in.");

namespace {

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("The example greeter service, protected by signet's interceptor.");
  absl::ParseCommandLine(argc, argv);

  signet::ChannelOptions channel_options;
  channel_options.target = absl::GetFlag(FLAGS_signet_target);
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = signet::MakeChannel(channel_options);
  if (!channel.ok()) {
    std::cerr << "greeter_server: " << channel.status() << "\n";
    return 2;
  }
  signet::LocalValidator::Options validator_options;
  validator_options.channel = *channel;
  validator_options.issuer = absl::GetFlag(FLAGS_issuer);
  absl::StatusOr<std::unique_ptr<signet::LocalValidator>> validator =
      signet::LocalValidator::Create(std::move(validator_options));
  if (!validator.ok()) {
    std::cerr << "greeter_server: cannot load signet's keys from " << channel_options.target << ": "
              << validator.status() << "\n";
    return 2;
  }

  signet::examples::GreeterService service;
  signet::examples::GreeterServerOptions options;
  options.listen = absl::GetFlag(FLAGS_listen);
  options.audience = absl::GetFlag(FLAGS_audience);
  options.any_audience = absl::GetFlag(FLAGS_any_audience);
  options.validator = std::shared_ptr<signet::Validator>(std::move(*validator));
  absl::StatusOr<signet::examples::RunningGreeter> running =
      signet::examples::StartGreeterServer(&service, options);
  if (!running.ok()) {
    std::cerr << "greeter_server: " << running.status() << "\n";
    return 2;
  }
  std::cout << "greeter_server listening on port " << running->port << std::endl;

  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  running->server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  return 0;
}
