// The example login service: nap_token's TokenView in C++. It checks a user's password against a
// table of salted argon2id hashes, then asks signet to issue a token for the user, and serves that
// over HTTP: POST /login with username and password (form or JSON) answers
// {"token": "...", "token_id": "...", "expires_at": "..."}.
//
// Example:
//   absl::StatusOr<signet::examples::PasswordTable> users =
//       signet::examples::PasswordTable::Parse("alice:$argon2id$v=19$m=65536,t=2,p=1$...\n");
//   signet::examples::LoginHandler handler(signet_client, *std::move(users), {});
//   absl::StatusOr<std::unique_ptr<signet::examples::LoginHttpServer>> http =
//       signet::examples::LoginHttpServer::Start(&handler, "127.0.0.1", 8081);
//   if (!http.ok()) return http.status();
//   ...
//   (*http)->Stop();
#ifndef SIGNET_EXAMPLES_LOGIN_SERVICE_H_
#define SIGNET_EXAMPLES_LOGIN_SERVICE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "signet/client.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace signet::examples {

// Users and their password hashes (libsodium crypto_pwhash_str: argon2id, salted, with its cost
// inside). Immutable and thread-safe.
class PasswordTable {
 public:
  // One user per line, "name:hash"; blank lines and lines starting with '#' are skipped.
  // InvalidArgument for a line without a name or with a hash that is not a crypto_pwhash string.
  static absl::StatusOr<PasswordTable> Parse(std::string_view text);

  // A crypto_pwhash string for `password`. `opslimit`/`memlimit` set the cost (libsodium's
  // crypto_pwhash_OPSLIMIT_* and MEMLIMIT_* constants); tests pass the minimums.
  static absl::StatusOr<std::string> Hash(std::string_view password, uint64_t opslimit,
                                          size_t memlimit);

  // True when `user` exists and `password` is theirs. An unknown user costs as much as a wrong
  // password, so timing does not tell which users exist.
  bool Check(std::string_view user, std::string_view password) const;

  size_t size() const { return hashes_.size(); }

 private:
  absl::flat_hash_map<std::string, std::string> hashes_;
  std::string decoy_hash_;  // Checked for unknown users.
};

struct LoginOptions {
  // Audiences of the issued tokens.
  std::vector<std::string> audiences = {"greeter"};
  // Zero: signet's default TTL.
  absl::Duration ttl = absl::Hours(1);
  // The "backend" claim: who vouched for the user (nap_token kept the auth backend too).
  std::string backend = "signet.examples.PasswordBackend";
};

// Checks a password, then issues a token whose subject is the user name. Thread-safe.
class LoginHandler {
 public:
  LoginHandler(std::shared_ptr<const Client> signet, PasswordTable users, LoginOptions options);

  // UNAUTHENTICATED "invalid username or password" (the same for an unknown user and a wrong
  // password); signet's own error (e.g. UNAVAILABLE) when it cannot issue.
  absl::StatusOr<v1::IssueTokenResponse> Login(std::string_view user,
                                               std::string_view password) const;

 private:
  const std::shared_ptr<const Client> signet_;
  const PasswordTable users_;
  const LoginOptions options_;
};

// POST /login over HTTP (cpp-httplib), served on its own thread until Stop() or destruction.
// Answers: 200 with the token as JSON; 400 without username/password; 401 for bad credentials;
// 503 when signet cannot issue. Plain HTTP is for the loopback demo only: put TLS in front.
class LoginHttpServer {
 public:
  // `handler` must outlive the server. Port 0 picks a free port (see port()).
  static absl::StatusOr<std::unique_ptr<LoginHttpServer>> Start(const LoginHandler* handler,
                                                                const std::string& host, int port);
  ~LoginHttpServer();

  int port() const { return port_; }
  // Stops serving and joins the thread. Idempotent; not to be called concurrently.
  void Stop();

 private:
  LoginHttpServer() = default;

  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace signet::examples

#endif  // SIGNET_EXAMPLES_LOGIN_SERVICE_H_
