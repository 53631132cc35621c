// The PostgreSQL store against a real server. Every test gets a database of its own, created from
// SIGNET_TEST_POSTGRES_DSN and dropped afterwards.
#include "server/store/postgres_store.h"

#include <libpq-fe.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "signet/clock.h"
#include "tests/support/postgres_admin.h"
#include "tests/unit/store/store_test.h"

namespace signet::server {

// gtest prints a change through this (found by ADL); records print through tests/unit/store.
void PrintTo(const StoreChange& c, std::ostream* os) {
  *os << "{kind=" << static_cast<int>(c.kind);
  if (c.token.has_value()) PrintTo(*c.token, os);
  if (c.subject.has_value()) PrintTo(*c.subject, os);
  *os << "}";
}

namespace {

using ::signet::server::testing::StoreKind;
using ::signet::server::testing::StoreTest;
using ::signet::testing::AdminSql;
using ::testing::ElementsAre;
using ::testing::FieldsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Optional;

// How long a notification may take to arrive before the test fails.
constexpr absl::Duration kDeliveryDeadline = absl::Seconds(5);

absl::Time T(int64_t seconds) { return absl::FromUnixSeconds(1700000000 + seconds); }

PostgresStoreOptions TestOptions() {
  PostgresStoreOptions options;
  options.connect_timeout = absl::Seconds(5);
  options.reconnect_min_backoff = absl::Milliseconds(20);
  options.reconnect_max_backoff = absl::Milliseconds(200);
  options.listener_poll_interval = absl::Milliseconds(200);
  return options;
}

KeyRecord Key(const std::string& kid, KeyState state, Algorithm algorithm = Algorithm::kEdDSA) {
  KeyRecord key;
  key.kid = kid;
  key.algorithm = algorithm;
  key.state = state;
  key.created_at = T(1);
  if (state == KeyState::kActive) key.activated_at = T(2);
  key.public_jwk =
      R"({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})";
  key.sealed_private = std::string("\x01\x00\xffsealed", 9);
  key.mac = std::string("\x00tag\xff", 5);
  return key;
}

Store::KeyDecision Write(std::vector<KeyRecord> upserts, std::vector<std::string> deletes = {}) {
  return [upserts, deletes](const std::vector<KeyRecord>&) -> absl::StatusOr<KeyChanges> {
    return KeyChanges{upserts, deletes};
  };
}

std::vector<std::string> Kids(const std::vector<KeyRecord>& keys) {
  std::vector<std::string> kids;
  for (const KeyRecord& key : keys) kids.push_back(key.kid);
  return kids;
}

// Collects what a store's listener hears; waits on a condition variable.
class ChangeRecorder {
 public:
  std::function<void(const StoreChange&)> Listener() {
    return [this](const StoreChange& change) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        changes_.push_back(change);
      }
      cv_.notify_all();
    };
  }

  // The first change not yet taken for which `match` holds, after dropping every change before it;
  // nullopt when none arrives within kDeliveryDeadline.
  std::optional<StoreChange> Take(const std::function<bool(const StoreChange&)>& match) {
    std::unique_lock<std::mutex> lock(mu_);
    std::optional<StoreChange> found;
    cv_.wait_for(lock, absl::ToChronoMilliseconds(kDeliveryDeadline), [&] {
      while (next_ < changes_.size()) {
        const StoreChange& change = changes_[next_++];
        if (match(change)) {
          found = change;
          return true;
        }
      }
      return false;
    });
    return found;
  }

  std::optional<StoreChange> TakeKind(StoreChange::Kind kind) {
    return Take([kind](const StoreChange& c) { return c.kind == kind; });
  }

  // The next change, whatever it is.
  std::optional<StoreChange> Next() {
    return Take([](const StoreChange&) { return true; });
  }

  // How many changes were heard so far (taken or not).
  size_t Count() {
    std::lock_guard<std::mutex> lock(mu_);
    return changes_.size();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<StoreChange> changes_;
  size_t next_ = 0;
};

class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::optional<std::string> admin = ::signet::testing::TestPostgresDsn();
    if (!admin.has_value()) GTEST_SKIP() << ::signet::testing::kNoPostgresMessage;
    admin_.reset(PQconnectdb(admin->c_str()));
    ASSERT_EQ(PQstatus(admin_.get()), CONNECTION_OK) << PQerrorMessage(admin_.get());
    db_ = std::make_unique<::signet::testing::TestDatabase>(*admin);
    ASSERT_EQ(db_->error(), "");
    database_ = db_->name();
    dsn_ = db_->dsn();
  }

  absl::StatusOr<std::unique_ptr<Store>> Open() { return OpenPostgresStore(dsn_, TestOptions()); }

  // SQL on this test's database.
  std::string TestDbSql(const std::string& sql) {
    ::signet::testing::PgConn conn(PQconnectdb(dsn_.c_str()));
    if (PQstatus(conn.get()) != CONNECTION_OK) {
      return absl::StrCat("ERROR: ", PQerrorMessage(conn.get()));
    }
    return AdminSql(conn.get(), sql);
  }

  // Ends every client connection to this test's database (the stores' and their listeners') and
  // waits until the backends are gone. Returns how many there were.
  std::string TerminateConnections() {
    // Client backends only: an autovacuum worker may visit the database at any time.
    return AdminSql(admin_.get(),
                    absl::StrCat("SELECT count(pg_terminate_backend(pid, 5000)) FROM "
                                 "pg_stat_activity WHERE backend_type = 'client backend' "
                                 "AND datname = '",
                                 database_, "' AND pid <> pg_backend_pid()"));
  }

  ::signet::testing::PgConn admin_;
  std::unique_ptr<::signet::testing::TestDatabase> db_;
  std::string database_;
  std::string dsn_;
};

// --- The Store contract (tests/unit/store/store_test.h) -----------------------------------------

INSTANTIATE_TEST_SUITE_P(
    Postgres, StoreTest,
    ::testing::Values(StoreKind{"Postgres",
                                [](const std::string&, std::shared_ptr<void>* resources)
                                    -> absl::StatusOr<std::unique_ptr<Store>> {
                                  auto db = std::make_shared<::signet::testing::TestDatabase>(
                                      *::signet::testing::TestPostgresDsn());
                                  if (!db->error().empty()) return absl::InternalError(db->error());
                                  *resources = db;
                                  return OpenPostgresStore(db->dsn(), TestOptions());
                                },
                                [] {
                                  return ::signet::testing::TestPostgresDsn().has_value()
                                             ? std::string()
                                             : std::string(::signet::testing::kNoPostgresMessage);
                                }}),
    [](const ::testing::TestParamInfo<StoreKind>& info) { return info.param.name; });

#define ASSERT_OPEN(var)                               \
  absl::StatusOr<std::unique_ptr<Store>> var = Open(); \
  ASSERT_TRUE(var.ok()) << var.status()

// --- Opening -------------------------------------------------------------------------------------

TEST(PostgresStoreOpenTest, UnreachableServerIsUnavailableAndTheMessageOmitsThePassword) {
  absl::StatusOr<std::unique_ptr<Store>> store = OpenPostgresStore(
      "host=127.0.0.1 port=1 dbname=signet user=signet password=hunter2-secret connect_timeout=2");
  ASSERT_EQ(store.status().code(), absl::StatusCode::kUnavailable) << store.status();
  EXPECT_THAT(store.status().message(), HasSubstr("cannot connect to PostgreSQL"));
  EXPECT_THAT(store.status().message(), Not(HasSubstr("hunter2")));
}

TEST(PostgresStoreOpenTest, MalformedDsnIsInvalidArgumentAndTheMessageOmitsIt) {
  for (const std::string dsn : {"host=localhost password='hunter2-secret",
                                "postgresql://signet:hunter2-secret@localhost/db?sslmode"}) {
    absl::StatusOr<std::unique_ptr<Store>> store = OpenPostgresStore(dsn);
    ASSERT_EQ(store.status().code(), absl::StatusCode::kInvalidArgument) << store.status();
    EXPECT_THAT(store.status().message(), Not(HasSubstr("hunter2")));
  }
}

TEST(PostgresStoreOpenTest, BadOptionsAreInvalidArgument) {
  PostgresStoreOptions empty_channel;
  empty_channel.channel = "";
  EXPECT_EQ(OpenPostgresStore("host=127.0.0.1 port=1", empty_channel).status().code(),
            absl::StatusCode::kInvalidArgument);
  PostgresStoreOptions long_channel;
  long_channel.channel = std::string(64, 'c');
  EXPECT_EQ(OpenPostgresStore("host=127.0.0.1 port=1", long_channel).status().code(),
            absl::StatusCode::kInvalidArgument);
  PostgresStoreOptions inverted_backoff;
  inverted_backoff.reconnect_min_backoff = absl::Seconds(2);
  inverted_backoff.reconnect_max_backoff = absl::Seconds(1);
  EXPECT_EQ(OpenPostgresStore("host=127.0.0.1 port=1", inverted_backoff).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(PostgresStoreTest, OpenAppliesEachMigrationOnce) {
  { ASSERT_OPEN(first); }
  ASSERT_OPEN(second);
  EXPECT_EQ(TestDbSql("SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_version"),
            "1,2");
}

TEST_F(PostgresStoreTest, FourReplicasOpeningAtOnceAllSucceedAndMigrateOnce) {
  std::vector<absl::Status> statuses(4);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([this, i, &statuses] { statuses[i] = Open().status(); });
  }
  for (std::thread& t : threads) t.join();
  for (const absl::Status& status : statuses) EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(TestDbSql("SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_version"),
            "1,2");
  EXPECT_EQ(TestDbSql("SELECT count(*) FROM pg_indexes WHERE indexname = "
                      "'keys_one_active_per_algorithm'"),
            "1");
}

TEST_F(PostgresStoreTest, SchemaNewerThanThisBinaryIsFailedPrecondition) {
  { ASSERT_OPEN(store); }
  ASSERT_EQ(TestDbSql("INSERT INTO schema_version (version) VALUES (999)"), "");
  absl::StatusOr<std::unique_ptr<Store>> store = Open();
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition) << store.status();
  EXPECT_THAT(store.status().message(), HasSubstr("999"));
}

// --- Keys ----------------------------------------------------------------------------------------

TEST_F(PostgresStoreTest, KeyRecordsRoundTripEveryField) {
  ASSERT_OPEN(store);
  KeyRecord key = Key("es-1", KeyState::kRevoked, Algorithm::kES256);
  key.created_at = T(1) + absl::Microseconds(123);
  key.activated_at = T(2) + absl::Microseconds(1);
  key.retired_at = T(3);
  key.revoked_at = absl::InfiniteFuture();
  key.revoke_reason = "compromised: laptop stolen";
  key.public_jwk = R"({"kty":"EC","crv":"P-256","x":"a","y":"b"})";
  key.sealed_private = std::string("\x00\x01\x02\xfe\xff\x00", 6);
  KeyRecord hmac = Key("hs-1", KeyState::kPending, Algorithm::kHS256);
  hmac.created_at = absl::InfinitePast();
  hmac.public_jwk = "";
  ASSERT_TRUE((*store)->UpdateKeys(Write({key, hmac})).ok());

  absl::StatusOr<std::unique_ptr<Store>> other = Open();
  ASSERT_TRUE(other.ok()) << other.status();
  absl::StatusOr<std::vector<KeyRecord>> loaded = (*other)->LoadKeys();
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_THAT(*loaded, ElementsAre(key, hmac));
  // "Never" is NULL in SQL.
  EXPECT_EQ(TestDbSql("SELECT count(*) FROM keys WHERE kid = 'hs-1' AND created_at IS NULL AND "
                      "activated_at IS NULL AND retired_at IS NULL AND revoked_at IS NULL"),
            "1");
}

TEST_F(PostgresStoreTest, SecondActiveKeyForOneAlgorithmIsAborted) {
  ASSERT_OPEN(store);
  ASSERT_TRUE((*store)->UpdateKeys(Write({Key("ed-1", KeyState::kActive)})).ok());

  absl::StatusOr<std::vector<KeyRecord>> second =
      (*store)->UpdateKeys(Write({Key("ed-2", KeyState::kActive)}));
  EXPECT_EQ(second.status().code(), absl::StatusCode::kAborted) << second.status();
  EXPECT_THAT(second.status().message(), HasSubstr("ACTIVE"));

  // Another algorithm may have its own ACTIVE key.
  absl::StatusOr<std::vector<KeyRecord>> es =
      (*store)->UpdateKeys(Write({Key("es-1", KeyState::kActive, Algorithm::kES256)}));
  ASSERT_TRUE(es.ok()) << es.status();
  EXPECT_THAT(Kids(*es), ElementsAre("ed-1", "es-1"));
}

TEST_F(PostgresStoreTest, DemotingAndPromotingInOneDecisionSucceedsInAnyOrder) {
  ASSERT_OPEN(store);
  ASSERT_TRUE((*store)->UpdateKeys(Write({Key("ed-1", KeyState::kActive)})).ok());
  // The new ACTIVE key comes first in the list; the store writes the demotion first.
  absl::StatusOr<std::vector<KeyRecord>> rotated = (*store)->UpdateKeys(
      Write({Key("ed-2", KeyState::kActive), Key("ed-1", KeyState::kRetired)}));
  ASSERT_TRUE(rotated.ok()) << rotated.status();
  EXPECT_THAT(*rotated,
              ElementsAre(Key("ed-1", KeyState::kRetired), Key("ed-2", KeyState::kActive)));
}

TEST_F(PostgresStoreTest, ConcurrentRotationsFromTwoReplicasLeaveExactlyOneActiveKey) {
  ASSERT_OPEN(replica_a);
  ASSERT_OPEN(replica_b);
  ASSERT_TRUE((*replica_a)->UpdateKeys(Write({Key("k-seed", KeyState::kActive)})).ok());

  constexpr int kRotations = 20;
  std::atomic<int> decisions_without_one_active{0};
  std::vector<absl::StatusOr<std::vector<KeyRecord>>> results(kRotations);
  std::vector<std::thread> threads;
  for (int i = 0; i < kRotations; ++i) {
    Store* store = (i % 2 == 0 ? replica_a : replica_b)->get();
    threads.emplace_back([i, store, &results, &decisions_without_one_active] {
      results[i] = store->UpdateKeys(
          [i, &decisions_without_one_active](
              const std::vector<KeyRecord>& current) -> absl::StatusOr<KeyChanges> {
            KeyChanges changes;
            int active = 0;
            for (const KeyRecord& key : current) {
              if (key.state != KeyState::kActive) continue;
              ++active;
              KeyRecord demoted = key;
              demoted.state = KeyState::kRetired;
              demoted.retired_at = T(100 + i);
              changes.upserts.push_back(demoted);
            }
            if (active != 1) ++decisions_without_one_active;
            changes.upserts.push_back(Key(absl::StrCat("k-", i), KeyState::kActive));
            return changes;
          });
    });
  }
  for (std::thread& t : threads) t.join();

  for (int i = 0; i < kRotations; ++i) {
    ASSERT_TRUE(results[i].ok()) << results[i].status();
    // Each rotation, right after its commit, saw its own key as the one ACTIVE key.
    std::vector<std::string> active;
    for (const KeyRecord& key : *results[i]) {
      if (key.state == KeyState::kActive) active.push_back(key.kid);
    }
    EXPECT_THAT(active, ElementsAre(absl::StrCat("k-", i)));
  }
  EXPECT_EQ(decisions_without_one_active.load(), 0);
  absl::StatusOr<std::vector<KeyRecord>> keys = (*replica_b)->LoadKeys();
  ASSERT_TRUE(keys.ok()) << keys.status();
  int active = 0;
  int retired = 0;
  for (const KeyRecord& key : *keys) {
    active += key.state == KeyState::kActive;
    retired += key.state == KeyState::kRetired;
  }
  EXPECT_EQ(keys->size(), kRotations + 1u);
  EXPECT_EQ(active, 1);
  EXPECT_EQ(retired, kRotations);
}

// --- Revocations ---------------------------------------------------------------------------------

// --- Notifications -------------------------------------------------------------------------------

TEST_F(PostgresStoreTest, AnotherReplicaHearsAKeyChange) {
  ChangeRecorder heard;
  ASSERT_OPEN(writer);
  ASSERT_OPEN(reader);
  (*reader)->SetChangeListener(heard.Listener());
  ASSERT_TRUE((*writer)->UpdateKeys(Write({Key("k1", KeyState::kActive)})).ok());
  std::optional<StoreChange> change = heard.Next();
  ASSERT_TRUE(change.has_value()) << "no notification within " << kDeliveryDeadline;
  EXPECT_EQ(change->kind, StoreChange::Kind::kKeys);
  EXPECT_FALSE(change->token.has_value());
  EXPECT_FALSE(change->subject.has_value());
}

TEST_F(PostgresStoreTest, AnotherReplicaHearsATokenRevocationWithItsRecord) {
  ChangeRecorder heard;
  ASSERT_OPEN(writer);
  ASSERT_OPEN(reader);
  (*reader)->SetChangeListener(heard.Listener());
  ASSERT_TRUE((*writer)->AddTokenRevocation({"jti-1", T(100) + absl::Microseconds(7)}).ok());
  std::optional<StoreChange> change = heard.Next();
  ASSERT_TRUE(change.has_value()) << "no notification within " << kDeliveryDeadline;
  EXPECT_EQ(change->kind, StoreChange::Kind::kTokenRevocation);
  EXPECT_THAT(change->token, Optional(FieldsAre("jti-1", T(100) + absl::Microseconds(7))));
}

TEST_F(PostgresStoreTest, AnotherReplicaHearsASubjectRevocationWithItsRecord) {
  ChangeRecorder heard;
  ASSERT_OPEN(writer);
  ASSERT_OPEN(reader);
  (*reader)->SetChangeListener(heard.Listener());
  ASSERT_TRUE((*writer)->AddSubjectRevocation({"alice", T(10), T(100)}).ok());
  std::optional<StoreChange> change = heard.Next();
  ASSERT_TRUE(change.has_value()) << "no notification within " << kDeliveryDeadline;
  EXPECT_EQ(change->kind, StoreChange::Kind::kSubjectRevocation);
  EXPECT_THAT(change->subject, Optional(FieldsAre("alice", T(10), T(100))));
}

TEST_F(PostgresStoreTest, RevocationNotificationCarriesTheRecordAsStored) {
  ChangeRecorder heard;
  ASSERT_OPEN(writer);
  ASSERT_OPEN(reader);
  (*reader)->SetChangeListener(heard.Listener());
  ASSERT_TRUE((*writer)->AddTokenRevocation({"jti-1", T(200)}).ok());
  ASSERT_TRUE((*writer)->AddTokenRevocation({"jti-1", T(100)}).ok());
  ASSERT_TRUE((*writer)->AddSubjectRevocation({"bob", T(20), T(100)}).ok());
  ASSERT_TRUE((*writer)->AddSubjectRevocation({"bob", T(10), T(300)}).ok());

  std::optional<StoreChange> first = heard.Next();
  std::optional<StoreChange> second = heard.Next();
  std::optional<StoreChange> third = heard.Next();
  std::optional<StoreChange> fourth = heard.Next();
  ASSERT_TRUE(first && second && third && fourth) << "missing notifications";
  EXPECT_THAT(first->token, Optional(FieldsAre("jti-1", T(200))));
  EXPECT_THAT(second->token, Optional(FieldsAre("jti-1", T(200))));
  EXPECT_THAT(third->subject, Optional(FieldsAre("bob", T(20), T(100))));
  EXPECT_THAT(fourth->subject, Optional(FieldsAre("bob", T(20), T(300))));
}

TEST_F(PostgresStoreTest, RevocationTooLargeForANotificationIsReportedAsUnknown) {
  ChangeRecorder heard;
  ASSERT_OPEN(writer);
  ASSERT_OPEN(reader);
  (*reader)->SetChangeListener(heard.Listener());
  // Compressible, so the primary key index accepts it; far over the 8000-byte NOTIFY limit.
  const std::string long_id(9000, 'j');
  ASSERT_TRUE((*writer)->AddTokenRevocation({long_id, T(100)}).ok());
  std::optional<StoreChange> change = heard.Next();
  ASSERT_TRUE(change.has_value()) << "no notification within " << kDeliveryDeadline;
  EXPECT_EQ(change->kind, StoreChange::Kind::kUnknown);
  absl::StatusOr<StoreSnapshot> snapshot = (*reader)->Load();
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_THAT(snapshot->token_revocations, ElementsAre(FieldsAre(long_id, T(100))));
}

TEST_F(PostgresStoreTest, AStoreHearsItsOwnChangesToo) {
  ChangeRecorder heard;
  ASSERT_OPEN(store);
  (*store)->SetChangeListener(heard.Listener());
  ASSERT_TRUE((*store)->AddTokenRevocation({"jti-1", T(100)}).ok());
  std::optional<StoreChange> change = heard.Next();
  ASSERT_TRUE(change.has_value()) << "no notification within " << kDeliveryDeadline;
  EXPECT_THAT(change->token, Optional(FieldsAre("jti-1", T(100))));
}

TEST_F(PostgresStoreTest, MalformedOrUnknownNotificationsAreReportedAsUnknown) {
  ChangeRecorder heard;
  ASSERT_OPEN(store);
  (*store)->SetChangeListener(heard.Listener());
  ASSERT_EQ(TestDbSql("SELECT pg_notify('signet_changes', 'not json'); "
                      "SELECT pg_notify('signet_changes', '{\"kind\":\"token_revocation\"}'); "
                      "SELECT pg_notify('signet_changes', '{\"kind\":\"subject_revocation\","
                      "\"subject\":\"s\",\"not_before\":\"1\",\"expires_at\":2}'); "
                      "SELECT pg_notify('signet_changes', '{\"kind\":\"keys-v9\"}'); "
                      "SELECT pg_notify('signet_changes', '[1]'); "
                      "SELECT pg_notify('signet_changes', ''); "
                      "SELECT pg_notify('signet_changes', '{\"kind\":\"keys\"}')"),
            "");
  for (int i = 0; i < 6; ++i) {
    std::optional<StoreChange> change = heard.Next();
    ASSERT_TRUE(change.has_value()) << "notification " << i << " did not arrive";
    EXPECT_EQ(change->kind, StoreChange::Kind::kUnknown) << "notification " << i;
    EXPECT_FALSE(change->token.has_value());
    EXPECT_FALSE(change->subject.has_value());
  }
  std::optional<StoreChange> keys = heard.Next();
  ASSERT_TRUE(keys.has_value());
  EXPECT_EQ(keys->kind, StoreChange::Kind::kKeys);
}

TEST_F(PostgresStoreTest, ListenersOnAnotherChannelHearNothingOfThisOne) {
  ChangeRecorder heard;
  ASSERT_OPEN(writer);
  PostgresStoreOptions options = TestOptions();
  options.channel = "other_fleet";
  absl::StatusOr<std::unique_ptr<Store>> reader = OpenPostgresStore(dsn_, options);
  ASSERT_TRUE(reader.ok()) << reader.status();
  (*reader)->SetChangeListener(heard.Listener());
  ASSERT_TRUE((*writer)->AddTokenRevocation({"jti-1", T(100)}).ok());
  ASSERT_EQ(TestDbSql("SELECT pg_notify('other_fleet', '{\"kind\":\"keys\"}')"), "");
  // Notifications arrive in commit order: the first one heard is the other channel's.
  std::optional<StoreChange> change = heard.Next();
  ASSERT_TRUE(change.has_value());
  EXPECT_EQ(change->kind, StoreChange::Kind::kKeys);
}

// --- Lost connections ----------------------------------------------------------------------------

TEST_F(PostgresStoreTest, TerminatedConnectionsAreReplacedAndTheListenerReportsUnknown) {
  ChangeRecorder heard;
  ASSERT_OPEN(store);
  ASSERT_OPEN(writer);
  (*store)->SetChangeListener(heard.Listener());
  ASSERT_TRUE((*store)->UpdateKeys(Write({Key("k1", KeyState::kActive)})).ok());
  ASSERT_TRUE(heard.TakeKind(StoreChange::Kind::kKeys).has_value());

  // The store's connection, its listener's and the writer's.
  EXPECT_EQ(TerminateConnections(), "3");

  // The listener reconnects and says it may have missed changes.
  ASSERT_TRUE(heard.TakeKind(StoreChange::Kind::kUnknown).has_value())
      << "the listener did not reconnect within " << kDeliveryDeadline;
  // A read on the lost connection reconnects and retries.
  absl::StatusOr<std::vector<KeyRecord>> keys = (*store)->LoadKeys();
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_THAT(Kids(*keys), ElementsAre("k1"));
  // So does a key update whose connection was lost before anything was sent.
  absl::StatusOr<std::vector<KeyRecord>> updated =
      (*writer)->UpdateKeys(Write({Key("k2", KeyState::kPending)}));
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_THAT(Kids(*updated), ElementsAre("k1", "k2"));
  // And the new listener connection hears changes again.
  ASSERT_TRUE((*writer)->AddTokenRevocation({"jti-after", T(100)}).ok());
  std::optional<StoreChange> change = heard.TakeKind(StoreChange::Kind::kTokenRevocation);
  ASSERT_TRUE(change.has_value()) << "no notification after reconnecting";
  EXPECT_THAT(change->token, Optional(FieldsAre("jti-after", T(100))));
}

TEST_F(PostgresStoreTest, UnreachableDatabaseIsUnavailableUntilItIsBack) {
  dsn_ += " password='hunter2-secret'";  // trust authentication ignores it
  ChangeRecorder heard;
  ASSERT_OPEN(store);
  (*store)->SetChangeListener(heard.Listener());

  ASSERT_EQ(AdminSql(admin_.get(), "ALTER DATABASE " + database_ + " ALLOW_CONNECTIONS false"), "");
  EXPECT_EQ(TerminateConnections(), "2");

  absl::Status down = (*store)->AddTokenRevocation({"jti-1", T(100)});
  EXPECT_EQ(down.code(), absl::StatusCode::kUnavailable) << down;
  EXPECT_THAT(down.message(), Not(HasSubstr("hunter2")));
  absl::StatusOr<std::vector<KeyRecord>> keys = (*store)->LoadKeys();
  EXPECT_EQ(keys.status().code(), absl::StatusCode::kUnavailable) << keys.status();

  ASSERT_EQ(AdminSql(admin_.get(), "ALTER DATABASE " + database_ + " ALLOW_CONNECTIONS true"), "");
  ASSERT_TRUE(heard.TakeKind(StoreChange::Kind::kUnknown).has_value())
      << "the listener did not reconnect within " << kDeliveryDeadline;
  ASSERT_TRUE((*store)->AddTokenRevocation({"jti-1", T(100)}).ok());
  absl::StatusOr<StoreSnapshot> snapshot = (*store)->Load();
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_THAT(snapshot->token_revocations, ElementsAre(FieldsAre("jti-1", T(100))));
}

TEST_F(PostgresStoreTest, AfterAFailedReconnectionCallsFailAtOnceUntilTheFailFastWindowEnds) {
  FakeClock clock(T(0));
  PostgresStoreOptions options = TestOptions();
  options.reconnect_fail_fast = absl::Seconds(1);
  options.clock = &clock;
  absl::StatusOr<std::unique_ptr<Store>> store = OpenPostgresStore(dsn_, options);
  ASSERT_TRUE(store.ok()) << store.status();

  ASSERT_EQ(AdminSql(admin_.get(), "ALTER DATABASE " + database_ + " ALLOW_CONNECTIONS false"), "");
  EXPECT_EQ(TerminateConnections(), "1");
  absl::Status tried = (*store)->AddTokenRevocation({"jti-1", T(100)});
  ASSERT_EQ(tried.code(), absl::StatusCode::kUnavailable) << tried;
  EXPECT_THAT(tried.message(), HasSubstr("cannot reconnect to PostgreSQL"));

  // The database is back, but the window has not ended: no attempt is made.
  ASSERT_EQ(AdminSql(admin_.get(), "ALTER DATABASE " + database_ + " ALLOW_CONNECTIONS true"), "");
  clock.Advance(absl::Milliseconds(999));
  absl::Status skipped = (*store)->AddTokenRevocation({"jti-1", T(100)});
  ASSERT_EQ(skipped.code(), absl::StatusCode::kUnavailable) << skipped;
  EXPECT_THAT(skipped.message(), HasSubstr("PostgreSQL is unreachable (the last connection attempt "
                                           "failed less than 1s ago)"));

  clock.Advance(absl::Milliseconds(1));
  ASSERT_TRUE((*store)->AddTokenRevocation({"jti-1", T(100)}).ok());
  absl::StatusOr<StoreSnapshot> snapshot = (*store)->Load();
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_THAT(snapshot->token_revocations, ElementsAre(FieldsAre("jti-1", T(100))));
}

TEST_F(PostgresStoreTest, ClearingAListenerThatWasNeverSetOpensNoConnection) {
  ASSERT_OPEN(store);
  (*store)->SetChangeListener(nullptr);
  // The store's own connection only: no listener connection was opened.
  EXPECT_EQ(TerminateConnections(), "1");
}

TEST_F(PostgresStoreTest, ClearedListenerHearsNothingMore) {
  ChangeRecorder cleared;
  ChangeRecorder later;
  ASSERT_OPEN(store);
  ASSERT_OPEN(writer);
  (*store)->SetChangeListener(cleared.Listener());
  ASSERT_TRUE((*writer)->AddTokenRevocation({"jti-before", T(100)}).ok());
  ASSERT_TRUE(cleared.TakeKind(StoreChange::Kind::kTokenRevocation).has_value());

  (*store)->SetChangeListener(nullptr);
  // Delivered to no one (or, should it arrive after the next line, to `later`).
  ASSERT_TRUE((*writer)->AddTokenRevocation({"jti-cleared", T(100)}).ok());
  (*store)->SetChangeListener(later.Listener());
  ASSERT_TRUE((*writer)->AddTokenRevocation({"jti-after", T(100)}).ok());
  std::optional<StoreChange> change = later.Take(
      [](const StoreChange& c) { return c.token.has_value() && c.token->token_id == "jti-after"; });
  ASSERT_TRUE(change.has_value()) << "no notification within " << kDeliveryDeadline;

  // Notifications arrive in order, so nothing more can reach the first listener now: it heard the
  // one change made before it was cleared, and no other.
  EXPECT_EQ(cleared.Count(), 1u);
}

// --- DSN files -----------------------------------------------------------------------------------

std::string WriteTempFile(const std::string& name, const std::string& contents) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path, std::ios::binary | std::ios::trunc) << contents;
  return path;
}

TEST(ReadDsnFileTest, StripsTrailingNewlines) {
  absl::StatusOr<std::string> dsn =
      ReadDsnFile(WriteTempFile("dsn-crlf", "host=db dbname=signet password=p\r\n\n"));
  ASSERT_TRUE(dsn.ok()) << dsn.status();
  EXPECT_EQ(*dsn, "host=db dbname=signet password=p");
}

TEST(ReadDsnFileTest, KeepsAFileWithoutNewlineAsItIs) {
  absl::StatusOr<std::string> dsn =
      ReadDsnFile(WriteTempFile("dsn-plain", "postgresql://signet@db/signet"));
  ASSERT_TRUE(dsn.ok()) << dsn.status();
  EXPECT_EQ(*dsn, "postgresql://signet@db/signet");
}

TEST(ReadDsnFileTest, MissingFileIsNotFound) {
  absl::StatusOr<std::string> dsn = ReadDsnFile(::testing::TempDir() + "/no-such-dsn-file");
  EXPECT_EQ(dsn.status().code(), absl::StatusCode::kNotFound) << dsn.status();
}

TEST(ReadDsnFileTest, EmptyFileIsInvalidArgument) {
  absl::StatusOr<std::string> dsn = ReadDsnFile(WriteTempFile("dsn-empty", "\n"));
  EXPECT_EQ(dsn.status().code(), absl::StatusCode::kInvalidArgument) << dsn.status();
}

}  // namespace
}  // namespace signet::server
