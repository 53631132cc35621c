// The PostgreSQL store: the durable state shared by several signet replicas. Changes reach the
// other replicas through LISTEN/NOTIFY on one channel.
//
// Example:
//   // The DSN comes from a mounted Kubernetes Secret.
//   absl::StatusOr<std::string> dsn =
//       signet::server::ReadDsnFile("/var/run/secrets/signet/postgres-dsn");
//   if (!dsn.ok()) return dsn.status();
//   absl::StatusOr<std::unique_ptr<signet::server::Store>> store =
//       signet::server::OpenPostgresStore(*dsn);  // applies schema migrations
//   if (!store.ok()) return store.status();
//   (*store)->SetChangeListener([&](const signet::server::StoreChange& change) {
//     ring.Apply(change);  // kUnknown: reload everything with (*store)->Load()
//   });
//   absl::StatusOr<signet::server::StoreSnapshot> snapshot = (*store)->Load();
//
// Set the listener before the first Load() so that no change falls between the two. UpdateKeys runs
// `decide` while holding the store's connection: `decide` must not call the store. Replacing the
// listener (or clearing it with nullptr, which stops delivery) waits for a call of the previous
// listener in progress to return, so an object may clear its listener in its destructor; a
// listener must therefore not call SetChangeListener itself.
//
// Notifications: every replica, this one included, hears every change (a process cannot tell its
// own NOTIFY from another's without extra state, and applying a change twice is harmless: key
// changes trigger a reload, revocations are upserts that keep the later times). A key change
// carries no record: receivers reload the keys. A revocation carries the record as stored after
// the upsert. After the listener connection is lost and restored, the listener is called once with
// StoreChange::Kind::kUnknown, because notifications sent meanwhile are gone.
//
// Errors: UNAVAILABLE when the server cannot be reached or the connection was lost (the next call
// reconnects; a call whose connection was lost before anything could have been committed is
// retried once on a fresh connection); ABORTED when a write would leave two ACTIVE keys of one
// algorithm or lost a serialization conflict; FAILED_PRECONDITION for a schema newer than this
// binary; INTERNAL for other SQL errors. Messages never contain the DSN or any of its passwords.
#ifndef SIGNET_SERVER_STORE_POSTGRES_STORE_H_
#define SIGNET_SERVER_STORE_POSTGRES_STORE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/store/store.h"
#include "signet/clock.h"

namespace signet::server {

struct PostgresStoreOptions {
  // The NOTIFY channel shared by the replicas of one fleet (at most 63 bytes).
  std::string channel = "signet_changes";
  // How long a connection attempt may take (libpq connect_timeout, whole seconds, at least 2)
  // unless the DSN sets its own connect_timeout. Also how long sent data may go unacknowledged
  // before a TCP connection counts as lost (libpq tcp_user_timeout), unless the DSN sets it.
  absl::Duration connect_timeout = absl::Seconds(10);
  // The listener waits this long before its first reconnection attempt after losing its
  // connection, doubling up to reconnect_max_backoff while attempts fail.
  absl::Duration reconnect_min_backoff = absl::Milliseconds(100);
  absl::Duration reconnect_max_backoff = absl::Seconds(30);
  // The listener thread wakes at least this often even when nothing arrives (the destructor also
  // wakes it at once).
  absl::Duration listener_poll_interval = absl::Seconds(1);
  // After a failed attempt to reconnect, calls answer UNAVAILABLE at once, without trying again,
  // for this long: during an outage where connection attempts hang (an unreachable host), only one
  // call in each window waits up to connect_timeout. Zero: every call tries to reconnect.
  absl::Duration reconnect_fail_fast = absl::ZeroDuration();
  // Reads the time for reconnect_fail_fast only. Must outlive the store; tests pass a FakeClock.
  const Clock* clock = &Clock::Real();
};

// Connects to `dsn` (a libpq connection string or URI), takes a session advisory lock so that
// replicas starting together do not race, and applies the schema migrations this binary knows.
// UNAVAILABLE when the server cannot be reached; FAILED_PRECONDITION when the database holds a
// newer schema; INVALID_ARGUMENT for bad options. The store is thread-safe; it holds one
// connection for reads and writes (calls are serialized on it) and, once SetChangeListener() is
// called, a second connection and a thread that LISTENs on `options.channel`.
absl::StatusOr<std::unique_ptr<Store>> OpenPostgresStore(const std::string& dsn,
                                                         PostgresStoreOptions options = {});

// Reads a DSN from a file (such as a mounted Kubernetes Secret) and strips trailing newlines and
// carriage returns. NOT_FOUND when the file is missing, INVALID_ARGUMENT when it is empty. Error
// messages name the path, never the content.
absl::StatusOr<std::string> ReadDsnFile(const std::string& path);

}  // namespace signet::server

#endif  // SIGNET_SERVER_STORE_POSTGRES_STORE_H_
