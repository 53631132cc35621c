// Helpers for the high-availability tests: a database of one's own on the test PostgreSQL server, a
// private PostgreSQL instance that a test may stop and start, and a fleet of signet-server
// replicas sharing one database and one KEK.
//
// Example:
//   std::optional<std::string> admin = TestPostgresDsn();
//   if (!admin) GTEST_SKIP() << kNoPostgresMessage;
//   TestDatabase db(*admin);                   // tests/support/postgres_admin.h
//   Fleet fleet(db.dsn(), 3);                  // replicas 0, 1, 2 on loopback ports
//   auto token = fleet.Stub(0)->IssueToken(...);
#ifndef SIGNET_TESTS_INTEGRATION_HA_POSTGRES_FLEET_H_
#define SIGNET_TESTS_INTEGRATION_HA_POSTGRES_FLEET_H_

#include <libpq-fe.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "signet/v1/token_service.grpc.pb.h"
#include "tests/integration/test_support.h"
#include "tests/support/postgres_admin.h"

namespace signet::testing {

// A private PostgreSQL instance in a folder of its own (scripts/postgres-test-instance.sh), which a
// test may stop and start without disturbing other tests. Stopped and removed on destruction.
class PostgresInstance {
 public:
  // Starts it; nullptr (after ADD_FAILURE) when it does not start.
  static std::unique_ptr<PostgresInstance> Start();
  ~PostgresInstance();

  // The DSN of its signet_test database (a Unix socket in its folder).
  const std::string& dsn() const { return dsn_; }
  // Fast shutdown (connections are closed) and start again on the same socket and port.
  bool Stop();
  bool Restart();

 private:
  PostgresInstance() = default;
  bool Run(const std::string& command);

  std::unique_ptr<TempDir> dir_;
  std::string dsn_;
};

// `size` signet-server replicas on one PostgreSQL database, sharing one KEK file (mode 0600) and a
// DSN file, each also given `extra_args` (e.g. a key backend). Replica i logs to
// DIR/replica-i.log. Replicas are killed (SIGKILL) on destruction.
class Fleet {
 public:
  Fleet(std::string dsn, int size, std::vector<std::string> extra_args = {});
  ~Fleet();

  int size() const { return static_cast<int>(replicas_.size()); }
  // False when a replica failed to start (the test has already failed then).
  bool started() const;
  signet::v1::TokenService::Stub* Stub(int replica) { return stubs_[replica].get(); }
  int port(int replica) const { return replicas_[replica]->port(); }
  std::string Log(int replica) const { return replicas_[replica]->Log(); }

  // kill -9, then start again (on a new port); returns whether it serves again.
  void Kill9(int replica);
  bool Restart(int replica);

 private:
  std::unique_ptr<ServerProcess> StartReplica(int replica);

  std::string dsn_;
  std::vector<std::string> extra_args_;
  TempDir dir_;
  std::vector<std::unique_ptr<ServerProcess>> replicas_;
  std::vector<std::unique_ptr<signet::v1::TokenService::Stub>> stubs_;
};

// Polls `done` every 10 ms until it holds or `max` has passed; returns its last value.
bool WaitUntil(const std::function<bool()>& done, absl::Duration max);

// A client context with a deadline, so that no test call can hang.
std::unique_ptr<grpc::ClientContext> CallContext(absl::Duration deadline = absl::Seconds(10));

// IssueToken for `subject`; fails the test and returns an empty response on error.
signet::v1::IssueTokenResponse Issue(signet::v1::TokenService::Stub* stub,
                                     const std::string& subject);

// The ValidateToken answer, or nullopt when the call itself failed.
std::optional<signet::v1::ValidateTokenResponse> Validate(signet::v1::TokenService::Stub* stub,
                                                          const std::string& token);

// The reason ValidateToken gives, or -1 when the call itself failed.
int ReasonOn(signet::v1::TokenService::Stub* stub, const std::string& token);

// "kid=STATE" for every key (revoked ones included), in the server's order; {"ERROR: ..."} when
// the call fails.
std::vector<std::string> KeyStates(signet::v1::TokenService::Stub* stub);

// grpc.health.v1.Health/Check for the whole server: 1 is SERVING; -1 when the call fails.
int HealthStatus(int port);

}  // namespace signet::testing

#endif  // SIGNET_TESTS_INTEGRATION_HA_POSTGRES_FLEET_H_
