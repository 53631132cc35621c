// login_server: nap_token's TokenView in C++. POST /login with a username and password; the
// answer is a signet token for the user.
//
//   login_server --signet_target=127.0.0.1:50051 --port=8081
//   curl -s -d username=alice -d password=wonderland http://127.0.0.1:8081/login
//
// Without --users_file it knows two demo users, alice (password "wonderland") and bob ("builder").
#include <atomic>
#include <chrono>
#include <csignal>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_split.h"
#include "examples/login_service.h"
#include "signet/channel.h"
#include "signet/client.h"

ABSL_FLAG(std::string, host, "127.0.0.1", "Address the HTTP endpoint binds.");
ABSL_FLAG(int, port, 8081, "HTTP port (0: any free port, printed on start).");
ABSL_FLAG(std::string, signet_target, "127.0.0.1:50051", "signet-server's gRPC address.");
ABSL_FLAG(std::string, users_file, "",
          "File of 'name:hash' lines (libsodium crypto_pwhash_str hashes). Empty: the demo users.");
ABSL_FLAG(std::string, audience, "greeter", "Comma-separated audiences of the issued tokens.");
ABSL_FLAG(int, ttl_seconds, 3600, "Lifetime of the issued tokens.");

namespace {

// Salted argon2id hashes (crypto_pwhash_str, interactive limits) of "wonderland" and "builder".
constexpr char kDemoUsers[] =
    "alice:$argon2id$v=19$m=65536,t=2,p=1$btTCY4jytO+cVflzR7Jm2Q$"
    "Q8INr0pO7gME/4hRFPpK6q3wcHUDzVrUbmormmJMIII\n"
    "bob:$argon2id$v=19$m=65536,t=2,p=1$K+lqb73VmC2wLKwJGzMB0w$"
    "hiwdTpHkp8mwa6wGLyRJbr+BtWk0hb/OgaLP0eIG8AM\n";

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("Example login service: checks a password, returns a signet token.");
  absl::ParseCommandLine(argc, argv);

  std::string users_text = kDemoUsers;
  if (std::string path = absl::GetFlag(FLAGS_users_file); !path.empty()) {
    std::ifstream in(path);
    if (!in) {
      std::cerr << "login_server: cannot read " << path << "\n";
      return 2;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    users_text = ss.str();
  }
  absl::StatusOr<signet::examples::PasswordTable> users =
      signet::examples::PasswordTable::Parse(users_text);
  if (!users.ok()) {
    std::cerr << "login_server: users: " << users.status() << "\n";
    return 2;
  }

  signet::ChannelOptions channel;
  channel.target = absl::GetFlag(FLAGS_signet_target);
  absl::StatusOr<std::unique_ptr<signet::Client>> client = signet::Client::Create(channel);
  if (!client.ok()) {
    std::cerr << "login_server: " << client.status() << "\n";
    return 2;
  }
  signet::examples::LoginOptions options;
  options.audiences = absl::StrSplit(absl::GetFlag(FLAGS_audience), ',', absl::SkipEmpty());
  options.ttl = absl::Seconds(absl::GetFlag(FLAGS_ttl_seconds));
  signet::examples::LoginHandler handler(std::shared_ptr<const signet::Client>(std::move(*client)),
                                         *std::move(users), options);

  absl::StatusOr<std::unique_ptr<signet::examples::LoginHttpServer>> http =
      signet::examples::LoginHttpServer::Start(&handler, absl::GetFlag(FLAGS_host),
                                               absl::GetFlag(FLAGS_port));
  if (!http.ok()) {
    std::cerr << "login_server: " << http.status() << "\n";
    return 2;
  }
  std::cout << "login_server listening on http://" << absl::GetFlag(FLAGS_host) << ":"
            << (*http)->port() << "/login" << std::endl;

  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  (*http)->Stop();
  return 0;
}
