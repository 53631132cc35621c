#include "tests/integration/tcp_proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "gtest/gtest.h"

namespace signet::testing {
namespace {

sockaddr_in Loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  return addr;
}

void NoDelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

}  // namespace

TcpProxy::TcpProxy(int target_port) : target_port_(target_port) {
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr = Loopback(0);
  socklen_t len = sizeof(addr);
  if (listen_fd_ < 0 || bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(listen_fd_, 64) != 0 ||
      getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
      pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) {
    ADD_FAILURE() << "TcpProxy cannot listen: " << std::strerror(errno);
    return;
  }
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread(&TcpProxy::Run, this);
}

TcpProxy::~TcpProxy() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  Wake();
  if (thread_.joinable()) thread_.join();
  for (const Pair& p : pairs_) {
    close(p.client);
    close(p.upstream);
  }
  for (int fd : {listen_fd_, wake_[0], wake_[1]}) {
    if (fd >= 0) close(fd);
  }
}

void TcpProxy::Freeze() {
  absl::MutexLock lock(&mu_);  // Waits for a move in progress.
  frozen_ = true;
}

void TcpProxy::Thaw() {
  {
    absl::MutexLock lock(&mu_);
    frozen_ = false;
  }
  Wake();
}

void TcpProxy::Wake() {
  char byte = 0;
  if (wake_[1] >= 0) (void)!write(wake_[1], &byte, 1);
}

bool TcpProxy::Forward(int from, int to) {
  char buf[64 * 1024];
  ssize_t n = read(from, buf, sizeof(buf));
  if (n <= 0) return n < 0 && errno == EINTR;
  for (ssize_t sent = 0; sent < n;) {
    ssize_t w = send(to, buf + sent, static_cast<size_t>(n - sent), MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    sent += w;
  }
  return true;
}

void TcpProxy::Run() {
  while (true) {
    bool frozen;
    {
      absl::MutexLock lock(&mu_);
      if (stop_) return;
      frozen = frozen_;
    }
    // Frozen, the sockets are not polled at all: their bytes wait in the kernel.
    std::vector<pollfd> fds = {{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    if (!frozen) {
      for (const Pair& p : pairs_) {
        fds.push_back({p.client, POLLIN, 0});
        fds.push_back({p.upstream, POLLIN, 0});
      }
    }
    if (poll(fds.data(), fds.size(), 100) < 0 && errno != EINTR) return;
    char drain[64];
    while (read(wake_[0], drain, sizeof(drain)) > 0) {
    }

    absl::MutexLock lock(&mu_);
    if (stop_) return;
    if (fds[0].revents & POLLIN) {
      int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client >= 0) {
        int upstream = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in target = Loopback(target_port_);
        if (upstream >= 0 &&
            connect(upstream, reinterpret_cast<sockaddr*>(&target), sizeof(target)) == 0) {
          NoDelay(client);
          NoDelay(upstream);
          pairs_.push_back({client, upstream});
        } else {
          close(client);
          if (upstream >= 0) close(upstream);
        }
      }
    }
    if (frozen_ || frozen) continue;  // Frozen while polling: move nothing.
    // fds[2 + 2i] and fds[3 + 2i] are pairs_[i] as it was before any accept above.
    std::vector<Pair> kept;
    const size_t polled = (fds.size() - 2) / 2;
    for (size_t i = 0; i < pairs_.size(); ++i) {
      const Pair& p = pairs_[i];
      bool open = true;
      if (i < polled) {
        const short ready_client = fds[2 + 2 * i].revents;
        const short ready_upstream = fds[3 + 2 * i].revents;
        if (ready_client & (POLLIN | POLLHUP | POLLERR)) open = Forward(p.client, p.upstream);
        if (open && (ready_upstream & (POLLIN | POLLHUP | POLLERR))) {
          open = Forward(p.upstream, p.client);
        }
      }
      if (open) {
        kept.push_back(p);
      } else {
        close(p.client);
        close(p.upstream);
      }
    }
    pairs_ = std::move(kept);
  }
}

}  // namespace signet::testing
