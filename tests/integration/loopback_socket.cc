#include "tests/integration/loopback_socket.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "absl/time/clock.h"

namespace signet::testing {

int ConnectLoopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool ClosedByPeer(int fd, absl::Duration wait, std::string* received) {
  const absl::Time deadline = absl::Now() + wait;
  char buf[512];
  do {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, wait > absl::ZeroDuration() ? 50 : 0) <= 0) continue;
    const ssize_t n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return true;
    if (n > 0 && received != nullptr) received->append(buf, static_cast<size_t>(n));
  } while (absl::Now() < deadline);
  return false;
}

}  // namespace signet::testing
