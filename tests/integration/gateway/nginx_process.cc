#include "tests/integration/gateway/nginx_process.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace signet::testing {
namespace {

constexpr char kNginx[] = "/usr/sbin/nginx";

bool Accepts(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

// The location that asks signet, and what the proxied location does with its answer. nginx's
// default (HTTP/1.0, a connection per subrequest) is kept: cpp-httplib servers (signet's HTTP
// listener, the test upstream) hold a worker thread per open keep-alive connection. nginx copies
// WWW-Authenticate from a 401 of the subrequest to the client by itself. Every identity header is
// set from signet's answer, so a client's own copy is replaced, or dropped when the value is empty.
constexpr char kAuthLocations[] = R"(
    location = /_signet_authz {
      internal;
      proxy_pass http://signet/v1/authz;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URI $request_uri;
      proxy_set_header X-Original-Method $request_method;
      proxy_set_header X-Forwarded-Host $host;
    }
)";
constexpr char kAuthDirectives[] = R"(
      auth_request /_signet_authz;
      auth_request_set $signet_subject $upstream_http_x_signet_subject;
      auth_request_set $signet_backend $upstream_http_x_signet_backend;
      auth_request_set $signet_token_id $upstream_http_x_signet_token_id;
      auth_request_set $signet_audience $upstream_http_x_signet_audience;
      proxy_set_header X-Signet-Subject $signet_subject;
      proxy_set_header X-Signet-Backend $signet_backend;
      proxy_set_header X-Signet-Token-Id $signet_token_id;
      proxy_set_header X-Signet-Audience $signet_audience;
)";

}  // namespace

int FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

std::string NginxProcess::Binary(std::string* why) {
  if (access(kNginx, X_OK) != 0) {
    *why = "nginx is not installed (apt-get install nginx, or bash scripts/install-deps.sh)";
    return "";
  }
  // nginx -V prints its configure arguments on stderr.
  std::array<char, 4096> buf;
  std::string out;
  FILE* p = popen(absl::StrCat(kNginx, " -V 2>&1").c_str(), "r");
  if (p != nullptr) {
    while (size_t n = fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
    pclose(p);
  }
  if (out.find("http_auth_request_module") == std::string::npos) {
    *why = "this nginx lacks the auth_request module (nginx -V)";
    return "";
  }
  return kNginx;
}

std::string NginxProcess::Config(const std::string& prefix, int port, int signet_http_port,
                                 int upstream_port) {
  const bool auth = signet_http_port != 0;
  std::string conf = absl::StrCat(
      "daemon off;\n", "worker_processes 1;\n", getuid() == 0 ? "user root;\n" : "",
      "pid $P/nginx.pid;\n", "error_log $P/error.log warn;\n",
      "events { worker_connections 1024; }\n", "http {\n", "  access_log off;\n",
      "  client_body_temp_path $P/client_body;\n", "  proxy_temp_path $P/proxy;\n",
      "  fastcgi_temp_path $P/fastcgi;\n", "  uwsgi_temp_path $P/uwsgi;\n",
      "  scgi_temp_path $P/scgi;\n",
      auth ? absl::StrCat("  upstream signet { server 127.0.0.1:", signet_http_port, "; }\n") : "",
      "  upstream app { server 127.0.0.1:", upstream_port, "; }\n", "  server {\n",
      "    listen 127.0.0.1:", port, ";\n", auth ? kAuthLocations : "", "    location / {\n",
      auth ? kAuthDirectives : "", "      proxy_pass http://app;\n", "    }\n", "  }\n", "}\n");
  return absl::StrReplaceAll(conf, {{"$P", prefix}});
}

std::unique_ptr<NginxProcess> NginxProcess::Start(const std::string& binary,
                                                  const std::string& prefix, int signet_http_port,
                                                  int upstream_port, std::string* error) {
  auto nginx = std::unique_ptr<NginxProcess>(new NginxProcess());
  nginx->prefix_ = prefix;
  nginx->port_ = FreeLoopbackPort();
  const std::string conf_path = prefix + "/nginx.conf";
  std::ofstream(conf_path) << Config(prefix, nginx->port_, signet_http_port, upstream_port);
  const std::string error_log = prefix + "/error.log";
  pid_t pid = fork();
  if (pid == 0) {
    execl(binary.c_str(), binary.c_str(), "-p", prefix.c_str(), "-c", conf_path.c_str(), "-e",
          error_log.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  nginx->pid_ = pid;
  for (int i = 0; i < 1000; ++i) {
    if (Accepts(nginx->port_)) return nginx;
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      nginx->pid_ = -1;
      *error = absl::StrCat("nginx exited at start (status ", status, "): ", nginx->ErrorLog());
      return nullptr;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  *error = absl::StrCat("nginx did not listen within 10 s: ", nginx->ErrorLog());
  return nullptr;
}

NginxProcess::~NginxProcess() {
  if (pid_ <= 0) return;
  kill(pid_, SIGQUIT);
  for (int i = 0; i < 500; ++i) {
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
}

std::string NginxProcess::ErrorLog() const {
  std::ifstream in(prefix_ + "/error.log");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace signet::testing
