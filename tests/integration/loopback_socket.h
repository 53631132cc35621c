// Raw TCP connections to a server on loopback, for tests that play a client byte by byte: slow
// senders, stalled TLS handshakes, connections beyond a listener's cap.
//
// Example:
//   int fd = signet::testing::ConnectLoopback(port);   // -1 on failure
//   std::string said;
//   bool closed = signet::testing::ClosedByPeer(fd, absl::Seconds(3), &said);
#ifndef SIGNET_TESTS_INTEGRATION_LOOPBACK_SOCKET_H_
#define SIGNET_TESTS_INTEGRATION_LOOPBACK_SOCKET_H_

#include <string>

#include "absl/time/time.h"

namespace signet::testing {

// A connected TCP socket to 127.0.0.1:`port`, or -1.
int ConnectLoopback(int port);

// True once the peer closed `fd` (end of stream or reset) within `wait` (zero: looks once);
// whatever it sent before is appended to `received` when given.
bool ClosedByPeer(int fd, absl::Duration wait, std::string* received = nullptr);

}  // namespace signet::testing

#endif  // SIGNET_TESTS_INTEGRATION_LOOPBACK_SOCKET_H_
