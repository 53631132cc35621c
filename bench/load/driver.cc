#include "bench/load/driver.h"

#include <cstdio>
#include <cstdlib>

#include "absl/strings/match.h"
#include "grpcpp/create_channel.h"

namespace signet::bench {

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "signet-bench: %s\n", what.c_str());
  std::exit(1);
}

bool IsLoopbackTarget(const std::string& target) {
  if (absl::StartsWith(target, "unix:") || absl::StartsWith(target, "unix-abstract:")) return true;
  std::string host = target;
  if (absl::StartsWith(host, "ipv4:")) host = host.substr(5);
  if (absl::StartsWith(host, "[")) {
    const size_t end = host.find(']');
    host = end == std::string::npos ? host : host.substr(1, end - 1);
  } else if (const size_t colon = host.rfind(':'); colon != std::string::npos) {
    host = host.substr(0, colon);
  }
  return host == "localhost" || host == "::1" || absl::StartsWith(host, "127.");
}

std::vector<std::shared_ptr<grpc::Channel>> MakeChannels(const std::string& target, int count) {
  if (!IsLoopbackTarget(target)) {
    Die("refusing to send load to " + target + ": loopback targets only (127.x, ::1, unix:)");
  }
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < count; ++i) {
    grpc::ChannelArguments args;
    // Each channel gets its own subchannels (so its own TCP connection): channels with identical
    // arguments would otherwise share one.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("signet_bench.channel", i);
    args.SetMaxReceiveMessageSize(16 * 1024 * 1024);
    auto channel = grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
    if (!channel->WaitForConnected(
            gpr_time_add(gpr_now(GPR_CLOCK_REALTIME), gpr_time_from_seconds(10, GPR_TIMESPAN)))) {
      Die("cannot connect to " + target);
    }
    channels.push_back(std::move(channel));
  }
  return channels;
}

}  // namespace signet::bench
