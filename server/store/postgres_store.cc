#include "server/store/postgres_store.h"

#include <fcntl.h>
#include <libpq-fe.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/store/internal/pg_notify_payload.h"
#include "server/store/internal/pg_schema.h"
#include "server/store/internal/pg_session.h"
#include "server/store/internal/store_rules.h"

namespace signet::server {
namespace {

using internal::CheckKeyChanges;
using internal::CheckRevocation;
using internal::ConnectionError;
using internal::ConnectPostgres;
using internal::ConnectSettings;
using internal::kKeysPayload;
using internal::LatestSchemaVersion;
using internal::MigrateSchema;
using internal::Params;
using internal::ParseStoreChange;
using internal::PgConnPtr;
using internal::PgResultPtr;
using internal::ReadKeys;
using internal::ReadSubjectRevocations;
using internal::ReadTokenRevocations;
using internal::Session;
using internal::SubjectRevocationPayload;
using internal::TimeColumn;
using internal::TokenRevocationPayload;
using internal::ToStoredMicros;
using internal::WriteKey;

// Advisory lock keys ("SIGNET" followed by a number). Advisory locks are scoped to one database.
constexpr int64_t kMigrationLockKey = 0x5349474E45540001;
constexpr int64_t kKeysLockKey = 0x5349474E45540002;

// A DSN file holds one line; anything larger is not a DSN.
constexpr size_t kMaxDsnFileBytes = 64 * 1024;

int PollMillis(absl::Duration d) {
  const int64_t ms = absl::ToInt64Milliseconds(absl::Ceil(d, absl::Milliseconds(1)));
  return static_cast<int>(std::clamp<int64_t>(ms, 0, std::numeric_limits<int>::max()));
}

// ---------------------------------------------------------------------------------------------

class PostgresStore final : public Store {
 public:
  PostgresStore(ConnectSettings settings, PostgresStoreOptions options, PgConnPtr conn,
                int wake_read_fd, int wake_write_fd)
      : settings_(std::move(settings)),
        options_(std::move(options)),
        conn_(std::move(conn)),
        wake_read_fd_(wake_read_fd),
        wake_write_fd_(wake_write_fd) {}

  ~PostgresStore() override {
    stopping_.store(true);
    const char byte = 1;
    // Wakes the listener thread at once; the poll timeout is the fallback.
    (void)!write(wake_write_fd_, &byte, 1);
    if (listener_thread_.joinable()) listener_thread_.join();
    close(wake_read_fd_);
    close(wake_write_fd_);
  }

  absl::Status Migrate() {
    absl::MutexLock lock(&mu_);
    Session session(conn_.get());
    absl::Status status =
        session.Command("taking the migration lock", "SELECT pg_advisory_lock($1)",
                        Params().Int64(kMigrationLockKey));
    if (!status.ok()) return status;
    status = MigrateSchema(session);
    if (!session.lost()) {
      absl::Status unlocked =
          session.Command("releasing the migration lock", "SELECT pg_advisory_unlock($1)",
                          Params().Int64(kMigrationLockKey));
      if (status.ok()) status = unlocked;
    }
    return status;
  }

  absl::StatusOr<StoreSnapshot> Load() override {
    return Run<StoreSnapshot>(
        /*idempotent=*/true, [](Session& session) -> absl::StatusOr<StoreSnapshot> {
          // One snapshot of all three tables.
          absl::Status status = session.Begin("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
          if (!status.ok()) return status;
          StoreSnapshot snapshot;
          absl::StatusOr<std::vector<KeyRecord>> keys = ReadKeys(session);
          if (!keys.ok()) return keys.status();
          snapshot.keys = *std::move(keys);
          absl::StatusOr<std::vector<TokenRevocationRecord>> tokens = ReadTokenRevocations(session);
          if (!tokens.ok()) return tokens.status();
          snapshot.token_revocations = *std::move(tokens);
          absl::StatusOr<std::vector<SubjectRevocationRecord>> subjects =
              ReadSubjectRevocations(session);
          if (!subjects.ok()) return subjects.status();
          snapshot.subject_revocations = *std::move(subjects);
          status = session.Commit();
          if (!status.ok()) return status;
          return snapshot;
        });
  }

  absl::StatusOr<std::vector<KeyRecord>> LoadKeys() override {
    return Run<std::vector<KeyRecord>>(/*idempotent=*/true,
                                       [](Session& session) { return ReadKeys(session); });
  }

  absl::StatusOr<std::vector<KeyRecord>> UpdateKeys(const KeyDecision& decide) override {
    const std::string& channel = options_.channel;
    // Not idempotent once COMMIT is sent; before that, a lost connection rolled the transaction
    // back and `decide` (pure) may run again on a fresh one.
    return Run<std::vector<KeyRecord>>(
        /*idempotent=*/false,
        [&decide, &channel](Session& session) -> absl::StatusOr<std::vector<KeyRecord>> {
          absl::Status status = session.Begin();
          if (!status.ok()) return status;
          // Excludes every other UpdateKeys on this database until COMMIT or ROLLBACK.
          status = session.Command("taking the key lock", "SELECT pg_advisory_xact_lock($1)",
                                   Params().Int64(kKeysLockKey));
          if (!status.ok()) return status;
          absl::StatusOr<std::vector<KeyRecord>> current = ReadKeys(session);
          if (!current.ok()) return current.status();
          absl::StatusOr<KeyChanges> changes = decide(*current);
          if (!changes.ok()) return changes.status();
          if (changes->upserts.empty() && changes->deletes.empty()) {
            status = session.Commit();
            if (!status.ok()) return status;
            return current;
          }
          status = CheckKeyChanges(*changes);
          if (!status.ok()) return status;
          for (const std::string& kid : changes->deletes) {
            status = session.Command("deleting a key", "DELETE FROM keys WHERE kid = $1",
                                     Params().Text(kid));
            if (!status.ok()) return status;
          }
          // The one-ACTIVE index is checked row by row: demote before promoting.
          std::vector<const KeyRecord*> upserts;
          for (const KeyRecord& key : changes->upserts) upserts.push_back(&key);
          std::stable_partition(upserts.begin(), upserts.end(), [](const KeyRecord* key) {
            return key->state != KeyState::kActive;
          });
          for (const KeyRecord* key : upserts) {
            status = WriteKey(session, *key);
            if (!status.ok()) return status;
          }
          status = session.Command("notifying the replicas", "SELECT pg_notify($1, $2)",
                                   Params().Text(channel).Text(kKeysPayload));
          if (!status.ok()) return status;
          absl::StatusOr<std::vector<KeyRecord>> after = ReadKeys(session);
          if (!after.ok()) return after.status();
          status = session.Commit();
          if (!status.ok()) return status;
          return after;
        });
  }

  absl::Status AddTokenRevocation(const TokenRevocationRecord& record) override {
    if (absl::Status status = CheckRevocation(record); !status.ok()) return status;
    return UpsertAndNotify(
        "revoking a token",
        "INSERT INTO token_revocations (token_id, expires_at) VALUES ($1, $2) "
        "ON CONFLICT (token_id) DO UPDATE SET expires_at = "
        "GREATEST(token_revocations.expires_at, EXCLUDED.expires_at) "
        "RETURNING expires_at",
        Params().Text(record.token_id).Int64(ToStoredMicros(record.expires_at)),
        [&record](PGresult* stored) -> absl::StatusOr<std::string> {
          absl::StatusOr<absl::Time> expires_at = TimeColumn(stored, 0, 0);
          if (!expires_at.ok()) return expires_at.status();
          return TokenRevocationPayload(TokenRevocationRecord{record.token_id, *expires_at});
        });
  }

  absl::Status AddSubjectRevocation(const SubjectRevocationRecord& record) override {
    if (absl::Status status = CheckRevocation(record); !status.ok()) return status;
    return UpsertAndNotify(
        "revoking a subject",
        "INSERT INTO subject_revocations (subject, not_before, expires_at) "
        "VALUES ($1, $2, $3) ON CONFLICT (subject) DO UPDATE SET "
        "not_before = GREATEST(subject_revocations.not_before, EXCLUDED.not_before), "
        "expires_at = GREATEST(subject_revocations.expires_at, EXCLUDED.expires_at) "
        "RETURNING not_before, expires_at",
        Params()
            .Text(record.subject)
            .Int64(ToStoredMicros(record.not_before))
            .Int64(ToStoredMicros(record.expires_at)),
        [&record](PGresult* stored) -> absl::StatusOr<std::string> {
          absl::StatusOr<absl::Time> not_before = TimeColumn(stored, 0, 0);
          if (!not_before.ok()) return not_before.status();
          absl::StatusOr<absl::Time> expires_at = TimeColumn(stored, 0, 1);
          if (!expires_at.ok()) return expires_at.status();
          return SubjectRevocationPayload(
              SubjectRevocationRecord{record.subject, *not_before, *expires_at});
        });
  }

  int schema_version() const override { return LatestSchemaVersion(); }

  absl::Status PruneRevocations(absl::Time now) override {
    // Every replica prunes by the same rule on its own: no notification.
    return Run<bool>(
               /*idempotent=*/true,
               [now](Session& session) -> absl::StatusOr<bool> {
                 absl::Status status = session.Begin();
                 if (!status.ok()) return status;
                 status = session.Command("pruning token revocations",
                                          "DELETE FROM token_revocations WHERE expires_at <= $1",
                                          Params().Int64(ToStoredMicros(now)));
                 if (!status.ok()) return status;
                 status = session.Command("pruning subject revocations",
                                          "DELETE FROM subject_revocations WHERE expires_at <= $1",
                                          Params().Int64(ToStoredMicros(now)));
                 if (!status.ok()) return status;
                 status = session.Commit();
                 if (!status.ok()) return status;
                 return true;
               })
        .status();
  }

  bool shared() const override { return true; }

  void SetChangeListener(std::function<void(const StoreChange&)> listener) override {
    // Deliver() calls the listener under this lock: once it is taken, no call of the previous
    // listener is in progress, and none starts after it is replaced.
    absl::MutexLock lock(&listener_mu_);
    listener_ = std::move(listener);
    // Nothing to deliver to (such as a listener cleared before it was ever set): no connection.
    if (listener_thread_.joinable() || !listener_) return;
    // LISTEN before returning, so that every change committed after this call is heard. When this
    // first attempt fails, the thread retries and reports kUnknown once it is connected.
    absl::StatusOr<PgConnPtr> conn = ConnectAndListen();
    listener_thread_ =
        std::thread([this, initial = conn.ok() ? *std::move(conn) : nullptr]() mutable {
          ListenLoop(std::move(initial));
        });
  }

 private:
  // One revocation upsert and its NOTIFY in one transaction. Receivers get the row as stored
  // (`payload` builds it from the RETURNING row), so they may replace rather than merge.
  absl::Status UpsertAndNotify(
      const char* what, const char* sql, const Params& params,
      const std::function<absl::StatusOr<std::string>(PGresult*)>& payload) {
    const std::string& channel = options_.channel;
    return Run<bool>(/*idempotent=*/true,
                     [&](Session& session) -> absl::StatusOr<bool> {
                       absl::Status status = session.Begin();
                       if (!status.ok()) return status;
                       absl::StatusOr<PgResultPtr> stored = session.Exec(what, sql, params);
                       if (!stored.ok()) return stored.status();
                       absl::StatusOr<std::string> message = payload(stored->get());
                       if (!message.ok()) return message.status();
                       status =
                           session.Command("notifying the replicas", "SELECT pg_notify($1, $2)",
                                           Params().Text(channel).Text(*message));
                       if (!status.ok()) return status;
                       status = session.Commit();
                       if (!status.ok()) return status;
                       return true;
                     })
        .status();
  }

  // Runs `body` on the connection: reconnects first when the connection was lost, and retries
  // once on a fresh connection when it is lost during `body`, unless `body` is not idempotent
  // and had sent COMMIT (the outcome is then unknown). Rolls back what `body` left open.
  template <typename T, typename Body>
  absl::StatusOr<T> Run(bool idempotent, const Body& body) {
    absl::MutexLock lock(&mu_);
    for (int attempt = 0;; ++attempt) {
      absl::Status status = EnsureConnectedLocked();
      if (!status.ok()) return status;
      Session session(conn_.get());
      absl::StatusOr<T> result = body(session);
      if (result.ok()) return result;
      if (!session.lost()) {
        session.Rollback();
        return result;
      }
      broken_ = true;
      if (!idempotent && session.commit_sent()) {
        return absl::UnavailableError(absl::StrCat(result.status().message(),
                                                   " (whether the change was committed is "
                                                   "unknown)"));
      }
      if (attempt > 0) return result;
    }
  }

  absl::Status EnsureConnectedLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (broken_ || PQstatus(conn_.get()) != CONNECTION_OK) {
      if (options_.clock->Now() < retry_connect_after_) {
        return absl::UnavailableError(absl::StrCat(
            "PostgreSQL is unreachable (the last connection attempt failed less than ",
            absl::FormatDuration(options_.reconnect_fail_fast), " ago): ", last_connect_error_));
      }
      PQreset(conn_.get());
      if (PQstatus(conn_.get()) != CONNECTION_OK) {
        broken_ = true;
        last_connect_error_ = ConnectionError(conn_.get());
        // From the end of the attempt, which may itself have taken connect_timeout.
        retry_connect_after_ = options_.clock->Now() + options_.reconnect_fail_fast;
        return absl::UnavailableError(
            absl::StrCat("cannot reconnect to PostgreSQL: ", last_connect_error_));
      }
      broken_ = false;
      retry_connect_after_ = absl::InfinitePast();
    }
    if (PQtransactionStatus(conn_.get()) != PQTRANS_IDLE) {
      // Never expected; a transaction left open by a failed call would see stale data.
      Session session(conn_.get());
      absl::Status status = session.Command("ROLLBACK", "ROLLBACK");
      if (!status.ok()) {
        broken_ = session.lost();
        return status;
      }
    }
    return absl::OkStatus();
  }

  absl::StatusOr<PgConnPtr> ConnectAndListen() {
    absl::StatusOr<PgConnPtr> conn = ConnectPostgres(settings_);
    if (!conn.ok()) return conn.status();
    // LISTEN takes an identifier, not a parameter: libpq quotes it.
    char* quoted =
        PQescapeIdentifier(conn->get(), options_.channel.data(), options_.channel.size());
    if (quoted == nullptr) {
      return absl::InternalError(
          absl::StrCat("cannot quote the channel name: ", ConnectionError(conn->get())));
    }
    const std::string sql = absl::StrCat("LISTEN ", quoted);
    PQfreemem(quoted);
    Session session(conn->get());
    absl::Status status = session.Command("LISTEN", sql.c_str());
    if (!status.ok()) return status;
    // PQconsumeInput must not block when more arrives than poll() announced.
    if (PQsetnonblocking(conn->get(), 1) != 0) {
      return absl::UnavailableError(absl::StrCat(
          "cannot make the listener connection non-blocking: ", ConnectionError(conn->get())));
    }
    return conn;
  }

  // Calls the listener under listener_mu_, so that SetChangeListener waits for it to return.
  void Deliver(const StoreChange& change) {
    absl::MutexLock lock(&listener_mu_);
    if (listener_) listener_(change);
  }

  // Waits for `timeout` or until the destructor wakes the thread.
  void Sleep(absl::Duration timeout) {
    pollfd wake = {wake_read_fd_, POLLIN, 0};
    (void)poll(&wake, 1, PollMillis(timeout));
  }

  void ListenLoop(PgConnPtr conn) {
    absl::Duration backoff = options_.reconnect_min_backoff;
    // The first connection was made by SetChangeListener before any change it must report; any
    // later one follows a gap in which notifications may have been lost.
    bool report_reconnect = conn == nullptr;
    while (!stopping_.load()) {
      if (conn == nullptr) {
        absl::StatusOr<PgConnPtr> fresh = ConnectAndListen();
        if (!fresh.ok()) {
          Sleep(backoff);
          backoff = std::min(backoff * 2, options_.reconnect_max_backoff);
          continue;
        }
        conn = *std::move(fresh);
        backoff = options_.reconnect_min_backoff;
        if (report_reconnect) Deliver(StoreChange{});
      }
      report_reconnect = true;

      pollfd fds[2] = {{PQsocket(conn.get()), POLLIN, 0}, {wake_read_fd_, POLLIN, 0}};
      const int ready = poll(fds, 2, PollMillis(options_.listener_poll_interval));
      if (stopping_.load()) break;
      if (ready < 0) {
        if (errno != EINTR) Sleep(options_.reconnect_min_backoff);
        continue;
      }
      if (fds[0].revents == 0) continue;
      if (PQconsumeInput(conn.get()) == 0) {
        conn.reset();
        continue;
      }
      while (PGnotify* notify = PQnotifies(conn.get())) {
        const StoreChange change = ParseStoreChange(notify->extra == nullptr ? "" : notify->extra);
        PQfreemem(notify);
        Deliver(change);
      }
      if (PQstatus(conn.get()) != CONNECTION_OK) conn.reset();
    }
  }

  const ConnectSettings settings_;
  const PostgresStoreOptions options_;

  absl::Mutex mu_;
  // Reads and writes; calls are serialized on it.
  PgConnPtr conn_ ABSL_GUARDED_BY(mu_);
  // The connection was lost: reset it before the next use.
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  // After a failed reconnection: calls before this time fail at once with last_connect_error_.
  absl::Time retry_connect_after_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::string last_connect_error_ ABSL_GUARDED_BY(mu_);

  // Held while the listener runs (see Deliver).
  absl::Mutex listener_mu_;
  std::function<void(const StoreChange&)> listener_ ABSL_GUARDED_BY(listener_mu_);
  // Started by the first SetChangeListener; joined by the destructor.
  std::thread listener_thread_;
  std::atomic<bool> stopping_{false};
  // A pipe whose write end wakes the listener thread.
  const int wake_read_fd_;
  const int wake_write_fd_;
};

absl::Status ValidateOptions(const PostgresStoreOptions& options) {
  if (options.channel.empty() || options.channel.size() > 63) {
    return absl::InvalidArgumentError("the NOTIFY channel name must have 1 to 63 bytes");
  }
  if (options.channel.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError("the NOTIFY channel name contains a NUL byte");
  }
  if (options.connect_timeout < absl::Seconds(1)) {
    return absl::InvalidArgumentError("connect_timeout must be at least 1 s");
  }
  if (options.reconnect_min_backoff <= absl::ZeroDuration() ||
      options.reconnect_max_backoff < options.reconnect_min_backoff) {
    return absl::InvalidArgumentError(
        "reconnect backoff bounds must satisfy 0 < reconnect_min_backoff <= "
        "reconnect_max_backoff");
  }
  if (options.listener_poll_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("listener_poll_interval must be positive");
  }
  if (options.reconnect_fail_fast < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("reconnect_fail_fast must not be negative");
  }
  if (options.clock == nullptr) return absl::InvalidArgumentError("clock must not be null");
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> OpenPostgresStore(const std::string& dsn,
                                                         PostgresStoreOptions options) {
  absl::Status status = ValidateOptions(options);
  if (!status.ok()) return status;
  // libpq's parse errors quote pieces of the DSN, which may be a password: say only that it is
  // malformed.
  char* parse_error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(dsn.c_str(), &parse_error);
  if (parse_error != nullptr) PQfreemem(parse_error);
  if (parsed == nullptr) {
    return absl::InvalidArgumentError("the PostgreSQL DSN is malformed");
  }
  PQconninfoFree(parsed);

  ConnectSettings settings;
  settings.dsn = dsn;
  settings.connect_timeout_seconds = static_cast<int>(std::max<int64_t>(
      2, absl::ToInt64Seconds(absl::Ceil(options.connect_timeout, absl::Seconds(1)))));
  absl::StatusOr<PgConnPtr> conn = ConnectPostgres(settings);
  if (!conn.ok()) return conn.status();

  int wake[2];
  if (pipe2(wake, O_CLOEXEC | O_NONBLOCK) != 0) {
    return absl::ErrnoToStatus(errno, "cannot create the listener's wake-up pipe");
  }
  auto store = std::make_unique<PostgresStore>(std::move(settings), std::move(options),
                                               *std::move(conn), wake[0], wake[1]);
  status = store->Migrate();
  if (!status.ok()) return status;
  return store;
}

absl::StatusOr<std::string> ReadDsnFile(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rbe"), &std::fclose);
  if (file == nullptr) {
    return absl::ErrnoToStatus(errno, absl::StrCat("cannot open the DSN file ", path));
  }
  std::string dsn;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), file.get())) > 0) {
    dsn.append(buffer, n);
    if (dsn.size() > kMaxDsnFileBytes) {
      return absl::InvalidArgumentError(absl::StrCat("the DSN file ", path, " is too large"));
    }
  }
  if (std::ferror(file.get())) {
    return absl::ErrnoToStatus(errno, absl::StrCat("cannot read the DSN file ", path));
  }
  while (!dsn.empty() && (dsn.back() == '\n' || dsn.back() == '\r')) dsn.pop_back();
  if (dsn.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("the DSN file ", path, " is empty"));
  }
  return dsn;
}

}  // namespace signet::server
