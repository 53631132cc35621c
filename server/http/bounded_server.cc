#include "server/http/bounded_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "server/tls/server_tls_context.h"

namespace signet::server {
namespace {

// Set while BoundedTaskQueue runs a connection it has no worker for: the connection is refused.
thread_local bool t_refusing = false;

// Requests one connection may carry before the server closes it.
constexpr int kMaxRequestsPerConnection = 100;

// Bytes of one request (line, headers, body) the parser may read: httplib limits the length of
// each header line but not their number, and nothing served here needs more than a few hundred.
constexpr size_t kMaxRequestBytes = 32 * 1024;

constexpr char kBusyResponse[] =
    "HTTP/1.1 503 Service Unavailable\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Length: 5\r\n"
    "Cache-Control: no-store\r\n"
    "Retry-After: 1\r\n"
    "Connection: close\r\n"
    "\r\n"
    "busy\n";

// httplib's accept loop hands each accepted connection to enqueue(). This queue has one worker
// per allowed connection and never queues: a connection that finds no idle worker is run at once
// on the accept thread in refusing mode (a 503 written without blocking, then closed).
class BoundedTaskQueue final : public httplib::TaskQueue {
 public:
  explicit BoundedTaskQueue(int workers) : workers_(workers) {
    for (int i = 0; i < workers; ++i) threads_.emplace_back([this] { Work(); });
  }

  void enqueue(std::function<void()> fn) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (busy_ + static_cast<int>(jobs_.size()) < workers_) {
        jobs_.push_back(std::move(fn));
        cv_.notify_one();
        return;
      }
    }
    t_refusing = true;
    fn();
    t_refusing = false;
  }

  void shutdown() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      shutdown_ = true;
    }
    cv_.notify_all();
    for (std::thread& t : threads_) t.join();
  }

 private:
  void Work() {
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return shutdown_ || !jobs_.empty(); });
        if (jobs_.empty()) return;  // Shut down, nothing left.
        fn = std::move(jobs_.front());
        jobs_.pop_front();
        ++busy_;
      }
      fn();
      std::lock_guard<std::mutex> lock(mu_);
      --busy_;
    }
  }

  const int workers_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  int busy_ = 0;
  bool shutdown_ = false;
  std::vector<std::thread> threads_;
};

// Waits until `sock` is ready for `events` or `deadline` passes. False on the deadline, an error
// or a hang-up without data.
bool WaitFor(socket_t sock, short events, absl::Time deadline) {
  for (;;) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return false;
    pollfd p{sock, events, 0};
    const int ms = static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(left) + 1, 60000));
    const int n = ::poll(&p, 1, ms);
    if (n > 0) return (p.revents & events) != 0;
    if (n < 0 && errno != EINTR) return false;
  }
}

// The numeric address and port of `sock`'s peer (getpeername) or own end (getsockname).
void Endpoint(socket_t sock, bool peer, std::string* ip, int* port) {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  char text[INET6_ADDRSTRLEN] = {0};
  *port = 0;
  const int rc = peer ? ::getpeername(sock, reinterpret_cast<sockaddr*>(&addr), &len)
                      : ::getsockname(sock, reinterpret_cast<sockaddr*>(&addr), &len);
  if (rc == 0 && addr.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&addr);
    inet_ntop(AF_INET, &a->sin_addr, text, sizeof(text));
    *port = ntohs(a->sin_port);
  } else if (rc == 0 && addr.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&addr);
    inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof(text));
    *port = ntohs(a->sin6_port);
  }
  *ip = text;
}

// A connection whose every read and write waits at most until the current request's deadline,
// so the deadline bounds the request as a whole, not each read. Buffered like httplib's own
// stream (its parser reads a byte at a time). With `ssl` (the socket then non-blocking), bytes
// go through TLS; the handshake too must end by the first deadline.
class DeadlineStream final : public httplib::Stream {
 public:
  DeadlineStream(socket_t sock, SSL* ssl) : sock_(sock), ssl_(ssl) {}

  // Every read and write from now on ends by `deadline`; the parser may take kMaxRequestBytes.
  void StartRequest(absl::Time deadline) {
    deadline_ = deadline;
    budget_ = kMaxRequestBytes;
  }
  void set_deadline(absl::Time deadline) { deadline_ = deadline; }
  bool has_buffered() const { return off_ < size_ || (ssl_ != nullptr && SSL_pending(ssl_) > 0); }

  // The TLS handshake (nothing to do without TLS); false when it fails or the deadline passes.
  bool Handshake() {
    if (ssl_ == nullptr) return true;
    for (;;) {
      const int rc = SSL_accept(ssl_);
      if (rc == 1) return true;
      if (!WaitForTls(rc)) return false;
    }
  }

  bool is_readable() const override { return has_buffered() || WaitFor(sock_, POLLIN, deadline_); }
  bool is_writable() const override { return WaitFor(sock_, POLLOUT, deadline_); }

  ssize_t read(char* ptr, size_t size) override {
    if (off_ >= size_) {
      off_ = size_ = 0;
      const ssize_t n = Receive();
      if (n <= 0) return n;
      size_ = static_cast<size_t>(n);
    }
    const size_t n = std::min({size, size_ - off_, budget_});
    if (n == 0) return -1;  // Over budget: the request is refused as unreadable.
    budget_ -= n;
    std::copy_n(buffer_.data() + off_, n, ptr);
    off_ += n;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (ssl_ != nullptr) {
      for (;;) {
        const int n = SSL_write(ssl_, ptr, static_cast<int>(std::min<size_t>(size, 1 << 30)));
        if (n > 0) return n;
        if (!WaitForTls(n)) return -1;
      }
    }
    for (;;) {
      if (!WaitFor(sock_, POLLOUT, deadline_)) return -1;
      const ssize_t n = ::send(sock_, ptr, size, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) continue;
      return n;
    }
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    Endpoint(sock_, /*peer=*/true, &ip, &port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    Endpoint(sock_, /*peer=*/false, &ip, &port);
  }
  socket_t socket() const override { return sock_; }

 private:
  // Fills buffer_ from the connection: bytes, 0 at its end, -1 on an error or the deadline.
  ssize_t Receive() {
    if (ssl_ != nullptr) {
      for (;;) {
        const int n = SSL_read(ssl_, buffer_.data(), static_cast<int>(buffer_.size()));
        if (n > 0) return n;
        if (SSL_get_error(ssl_, n) == SSL_ERROR_ZERO_RETURN) return 0;
        if (!WaitForTls(n)) return -1;
      }
    }
    for (;;) {
      if (!WaitFor(sock_, POLLIN, deadline_)) return -1;
      const ssize_t n = ::recv(sock_, buffer_.data(), buffer_.size(), MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) continue;
      return n;
    }
  }

  // After a TLS call returned `rc`: waits for what it needs (true) or gives up on an error or
  // the deadline (false).
  bool WaitForTls(int rc) {
    switch (SSL_get_error(ssl_, rc)) {
      case SSL_ERROR_WANT_READ:
        return WaitFor(sock_, POLLIN, deadline_);
      case SSL_ERROR_WANT_WRITE:
        return WaitFor(sock_, POLLOUT, deadline_);
      default:
        ERR_clear_error();
        return false;
    }
  }

  const socket_t sock_;
  SSL* const ssl_;
  absl::Time deadline_ = absl::InfinitePast();
  std::array<char, 16384> buffer_;  // One TLS record.
  size_t off_ = 0;
  size_t size_ = 0;
  size_t budget_ = kMaxRequestBytes;
};

}  // namespace

BoundedServer::BoundedServer(Limits limits, ServerTlsContext* tls) : limits_(limits), tls_(tls) {
  const int workers = std::max(1, limits_.max_connections);
  new_task_queue = [workers] { return new BoundedTaskQueue(workers); };
}

void BoundedServer::Stop() {
  stop();
  absl::MutexLock lock(&mu_);
  // httplib's is_running() stays true until every worker has returned, so connections check
  // this instead: one picked up from now on is closed unserved.
  stopping_ = true;
  for (socket_t sock : open_) ::shutdown(sock, SHUT_RDWR);
}

// Overrides httplib's per-connection loop (a private virtual of httplib::Server), which reads
// with a per-read timeout only.
bool BoundedServer::process_and_close_socket(socket_t sock) {
  if (t_refusing) {
    refused_.fetch_add(1, std::memory_order_relaxed);
    // Best effort and never blocking: the accept thread is running this. A TLS client gets no
    // answer it could read before a handshake, only the close.
    if (tls_ == nullptr) {
      (void)::send(sock, kBusyResponse, sizeof(kBusyResponse) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
    }
  } else {
    bool serve = false;
    {
      absl::MutexLock lock(&mu_);
      serve = !stopping_;
      if (serve) open_.insert(sock);
    }
    if (serve) {
      Serve(sock);
      absl::MutexLock lock(&mu_);
      open_.erase(sock);
    }
  }
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  return true;
}

void BoundedServer::Serve(socket_t sock) {
  using SslPtr = std::unique_ptr<SSL, decltype(&SSL_free)>;
  SslPtr ssl(nullptr, SSL_free);
  if (tls_ != nullptr) {
    std::shared_ptr<SSL_CTX> ctx = tls_->Current();  // SSL_new takes its own reference.
    ssl.reset(SSL_new(ctx.get()));
    const int flags = ::fcntl(sock, F_GETFL, 0);
    if (ssl == nullptr || flags < 0 || ::fcntl(sock, F_SETFL, flags | O_NONBLOCK) != 0 ||
        SSL_set_fd(ssl.get(), sock) != 1) {
      ERR_clear_error();
      return;
    }
  }
  // httplib writes an answer's headers and its body separately: with Nagle's algorithm the body
  // would wait for the client's delayed ACK of the headers (40 ms on Linux) on kept-alive
  // connections.
  const int one = 1;
  (void)::setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  DeadlineStream stream(sock, ssl.get());
  // The TLS handshake and the first request share one deadline.
  stream.StartRequest(absl::Now() + limits_.request_timeout);
  if (!stream.Handshake()) return;
  for (int served = 0; served < kMaxRequestsPerConnection; ++served) {
    const absl::Time start = absl::Now();
    // An idle kept-alive connection gets one timeout for its next request to begin.
    if (served > 0) {
      if (!stream.has_buffered()) {
        stream.set_deadline(start + limits_.request_timeout);
        if (!stream.is_readable()) return;
      }
      stream.StartRequest(absl::Now() + limits_.request_timeout);
    }
    bool closed = false;
    const bool last = served + 1 == kMaxRequestsPerConnection;
    if (!process_request(stream, last, closed, nullptr) || closed) break;
  }
  // One close_notify, never waiting for the client's.
  if (ssl != nullptr) (void)SSL_shutdown(ssl.get());
  ERR_clear_error();
}

}  // namespace signet::server
