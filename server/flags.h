// signet-server's command-line flags (Abseil; --flagfile works) and their translation into a
// ServerConfig.
#ifndef SIGNET_SERVER_FLAGS_H_
#define SIGNET_SERVER_FLAGS_H_

#include "absl/status/statusor.h"
#include "server/config.h"

namespace signet::server {

// The ServerConfig the parsed flags describe. InvalidArgument for an unknown --algorithm.
absl::StatusOr<ServerConfig> ConfigFromFlags();

}  // namespace signet::server

#endif  // SIGNET_SERVER_FLAGS_H_
