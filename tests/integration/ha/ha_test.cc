// Three signet-server processes on one PostgreSQL database act as one service: what one replica
// issues the others validate, what one revokes the others refuse, concurrent rotations leave one
// ACTIVE key, a PostgreSQL outage stops changes but not validation, and a killed replica catches
// up. Each test has a database of its own; the outage test has a PostgreSQL instance of its own,
// so stopping it disturbs no other test.
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "signet/jwk.h"
#include "tests/integration/ha/postgres_fleet.h"
#include "tests/integration/test_support.h"
#include "tests/support/softhsm_token.h"
#include "token/signing/signing_key.h"
#include "token/signing/token_signer.h"

namespace signet {
namespace {

namespace v1 = ::signet::v1;
using ::testing::Each;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;

// How long a change may take to reach every replica before a test fails.
constexpr absl::Duration kPropagationDeadline = absl::Seconds(5);
constexpr int kReplicas = 3;

int CountEndingWith(const std::vector<std::string>& states, const std::string& suffix) {
  int n = 0;
  for (const std::string& s : states) n += absl::EndsWith(s, suffix) ? 1 : 0;
  return n;
}

std::string ActiveKid(const std::vector<std::string>& states) {
  for (const std::string& s : states) {
    if (absl::EndsWith(s, "=ACTIVE")) return s.substr(0, s.size() - std::string("=ACTIVE").size());
  }
  return "";
}

// Every test runs with each key backend: "local" (keys sealed under the KEK in the database) and
// "pkcs11" (keys generated in one SoftHSM2 token the replicas share, as a fleet shares a network
// HSM).
class HighAvailabilityTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::optional<std::string> admin = testing::TestPostgresDsn();
    if (!admin.has_value()) GTEST_SKIP() << testing::kNoPostgresMessage;
    db_ = std::make_unique<testing::TestDatabase>(*admin);
    ASSERT_EQ(db_->error(), "");
    std::vector<std::string> backend_args;
    if (GetParam() == "pkcs11") {
      absl::StatusOr<testing::SoftHsmToken> hsm =
          testing::SoftHsmToken::Create(hsm_dir_.path(), "signet-fleet");
      ASSERT_TRUE(hsm.ok()) << hsm.status();
      testing::WriteFile(hsm_dir_.path() + "/pin", hsm->pin + "\n", 0600);
      // ES256: SoftHSM2 leaks memory on every EdDSA signature, which the sanitizer build of
      // signet-server would report at exit (EdDSA on the token is covered by pkcs11_server_test).
      backend_args = {"--key_backend=pkcs11", "--algorithm=ES256",
                      "--pkcs11_module=" + hsm->module_path, "--pkcs11_token_label=" + hsm->label,
                      "--pkcs11_pin_file=" + hsm_dir_.path() + "/pin"};
    }
    fleet_ = std::make_unique<testing::Fleet>(db_->dsn(), kReplicas, backend_args);
    ASSERT_TRUE(fleet_->started());
  }

  void TearDown() override {
    fleet_.reset();
    db_.reset();
  }

  v1::TokenService::Stub* Replica(int i) { return fleet_->Stub(i); }

  // True once every replica listed gives `reason` for `token`.
  bool AllRefuse(const std::vector<int>& replicas, const std::string& token, v1::Reason reason) {
    for (int r : replicas) {
      if (testing::ReasonOn(Replica(r), token) != reason) return false;
    }
    return true;
  }

  // True once every replica lists the same keys in the same states.
  bool AllAgreeOnKeys() {
    std::vector<std::string> first = testing::KeyStates(Replica(0));
    for (int r = 1; r < kReplicas; ++r) {
      if (testing::KeyStates(Replica(r)) != first) return false;
    }
    return true;
  }

  testing::TempDir hsm_dir_;
  std::unique_ptr<testing::TestDatabase> db_;
  std::unique_ptr<testing::Fleet> fleet_;
};

INSTANTIATE_TEST_SUITE_P(KeyBackends, HighAvailabilityTest, ::testing::Values("local", "pkcs11"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

TEST_P(HighAvailabilityTest, TokenIssuedByOneReplicaValidatesOnTheOthers) {
  v1::IssueTokenResponse issued = testing::Issue(Replica(0), "alice");
  ASSERT_FALSE(issued.token().empty());
  for (int r = 1; r < kReplicas; ++r) {
    std::optional<v1::ValidateTokenResponse> answer = testing::Validate(Replica(r), issued.token());
    ASSERT_TRUE(answer.has_value()) << "ValidateToken failed on replica " << r;
    EXPECT_TRUE(answer->valid()) << "replica " << r << " reason " << answer->reason();
    EXPECT_EQ(answer->reason(), v1::REASON_UNSPECIFIED);
    EXPECT_EQ(answer->subject(), "alice");
    EXPECT_EQ(answer->token_id(), issued.token_id());
    EXPECT_EQ(answer->key_id(), issued.key_id());
  }
}

TEST_P(HighAvailabilityTest, KeysLiveWhereTheBackendSays) {
  ASSERT_FALSE(testing::Issue(Replica(1), "kim").token().empty());
  // With the token, rows hold only a reference; with the local backend, a sealed key.
  const std::string by_reference = testing::AdminSql(
      db_->dsn(), "SELECT count(*) FROM keys WHERE sealed_private = 'pkcs11:v1'::bytea");
  const std::string all = testing::AdminSql(db_->dsn(), "SELECT count(*) FROM keys");
  EXPECT_EQ(all, "2");
  EXPECT_EQ(by_reference, GetParam() == "pkcs11" ? all : "0");
}

TEST_P(HighAvailabilityTest, EveryReplicaSignsWithTheSameActiveKey) {
  std::vector<std::string> kids;
  for (int r = 0; r < kReplicas; ++r) kids.push_back(testing::Issue(Replica(r), "ann").key_id());
  EXPECT_THAT(kids, Each(kids[0]));
  EXPECT_EQ(ActiveKid(testing::KeyStates(Replica(0))), kids[0]);
}

TEST_P(HighAvailabilityTest, KeyRevokedOnOneReplicaIsRefusedByTheOthers) {
  v1::IssueTokenResponse issued = testing::Issue(Replica(0), "bob");
  ASSERT_FALSE(issued.token().empty());

  v1::RevokeKeyRequest request;
  request.set_key_id(issued.key_id());
  request.set_reason("leaked in a test");
  v1::RevokeKeyResponse revoked;
  grpc::Status status = Replica(1)->RevokeKey(testing::CallContext().get(), request, &revoked);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(revoked.key().state(), v1::KEY_STATE_REVOKED);
  ASSERT_NE(revoked.active_key_id(), issued.key_id());

  EXPECT_EQ(testing::ReasonOn(Replica(1), issued.token()), v1::REASON_KEY_REVOKED);
  ASSERT_TRUE(testing::WaitUntil(
      [&] {
        return AllRefuse({0, 2}, issued.token(), v1::REASON_KEY_REVOKED);
      },
      kPropagationDeadline));
  EXPECT_EQ(testing::ReasonOn(Replica(0), issued.token()), v1::REASON_KEY_REVOKED);
  EXPECT_EQ(testing::ReasonOn(Replica(2), issued.token()), v1::REASON_KEY_REVOKED);

  // The promoted key signs on every replica, and its tokens validate everywhere.
  for (int r = 0; r < kReplicas; ++r) {
    v1::IssueTokenResponse fresh = testing::Issue(Replica(r), "bob");
    EXPECT_EQ(fresh.key_id(), revoked.active_key_id()) << "replica " << r;
    EXPECT_EQ(testing::ReasonOn(Replica((r + 1) % kReplicas), fresh.token()),
              v1::REASON_UNSPECIFIED);
  }
}

// The database as an attacker, while the replicas run: a key row of the attacker's own (no tag, or
// a forged one) and an un-revoked row, announced with the replicas' own NOTIFY. Every replica
// reloads, refuses the rows (log line naming the kid), and keeps serving its real keys.
TEST_P(HighAvailabilityTest, KeyRowsWrittenIntoTheDatabaseWithoutTheKekAreRefusedByEveryReplica) {
  v1::IssueTokenResponse legit = testing::Issue(Replica(0), "carol");
  v1::IssueTokenResponse to_revoke = testing::Issue(Replica(0), "dave");
  {
    v1::RevokeKeyRequest request;
    request.set_key_id(to_revoke.key_id());
    v1::RevokeKeyResponse revoked;
    ASSERT_TRUE(Replica(1)->RevokeKey(testing::CallContext().get(), request, &revoked).ok());
  }
  // Replica 0 signs with the promoted key once it has heard of the revocation.
  ASSERT_TRUE(testing::WaitUntil(
      [&] {
        return AllRefuse({0, 2}, to_revoke.token(), v1::REASON_KEY_REVOKED);
      },
      kPropagationDeadline));
  legit = testing::Issue(Replica(0), "carol");
  ASSERT_NE(legit.key_id(), to_revoke.key_id());

  std::vector<std::unique_ptr<server::SigningKey>> attackers;
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<std::unique_ptr<server::SigningKey>> key =
        server::SigningKey::Generate(Algorithm::kEdDSA);
    ASSERT_TRUE(key.ok());
    attackers.push_back(*std::move(key));
  }
  const int64_t now = absl::ToUnixMicros(absl::Now());
  for (int i = 0; i < 2; ++i) {
    const std::string mac =
        i == 0 ? "''::bytea" : absl::StrCat("'\\x", std::string(64, 'a'), "'::bytea");
    ASSERT_EQ(testing::AdminSql(
                  db_->dsn(),
                  absl::StrCat("INSERT INTO keys (kid, algorithm, state, created_at, activated_at, "
                               "retired_at, revoked_at, revoke_reason, public_jwk, sealed_private, "
                               "mac) VALUES ('",
                               attackers[i]->kid(), "', 1, 3, ", now - 7'200'000'000, ", ",
                               now - 3'600'000'000, ", ", now - 60'000'000, ", NULL, '', '",
                               *ToJwk(*attackers[i]->verify_key()), "', ''::bytea, ", mac, ")")),
              "");
  }
  ASSERT_EQ(testing::AdminSql(db_->dsn(), absl::StrCat("UPDATE keys SET state = 3, revoked_at = "
                                                       "NULL WHERE kid = '",
                                                       to_revoke.key_id(), "'")),
            "");
  ASSERT_EQ(
      testing::AdminSql(db_->dsn(), R"(SELECT pg_notify('signet_changes', '{"kind":"keys"}'))"),
      "");

  auto refused_everywhere = [&](const std::string& kid) {
    for (int r = 0; r < kReplicas; ++r) {
      if (!absl::StrContains(fleet_->Log(r),
                             absl::StrCat(R"("event":"key_record_refused","kid":")", kid, "\""))) {
        return false;
      }
    }
    return true;
  };
  ASSERT_TRUE(testing::WaitUntil(
      [&] {
        return refused_everywhere(attackers[0]->kid()) && refused_everywhere(attackers[1]->kid()) &&
               refused_everywhere(to_revoke.key_id());
      },
      kPropagationDeadline));

  for (int r = 0; r < kReplicas; ++r) {
    for (const auto& attacker : attackers) {
      server::TokenClaims claims;
      claims.issuer = "signet";
      claims.subject = "admin";
      claims.audiences = {"payments"};
      claims.issued_at = absl::Now();
      claims.expires_at = claims.issued_at + absl::Hours(23);
      claims.token_id = server::NewTokenId();
      absl::StatusOr<std::string> forged = server::SignToken(*attacker, claims);
      ASSERT_TRUE(forged.ok());
      EXPECT_EQ(testing::ReasonOn(Replica(r), *forged), v1::REASON_UNKNOWN_KEY) << "replica " << r;
      EXPECT_THAT(testing::KeyStates(Replica(r)), Each(Not(HasSubstr(attacker->kid()))));
      v1::GetJwksResponse jwks;
      ASSERT_TRUE(
          Replica(r)->GetJwks(testing::CallContext().get(), v1::GetJwksRequest(), &jwks).ok());
      EXPECT_THAT(jwks.jwks_json(), Not(HasSubstr(attacker->kid())));
    }
    std::optional<v1::ValidateTokenResponse> unrevoked =
        testing::Validate(Replica(r), to_revoke.token());
    ASSERT_TRUE(unrevoked.has_value());
    EXPECT_FALSE(unrevoked->valid()) << "replica " << r;
    EXPECT_EQ(testing::ReasonOn(Replica(r), legit.token()), v1::REASON_UNSPECIFIED);
  }
}

TEST_P(HighAvailabilityTest, TokenAndSubjectRevokedOnOneReplicaAreRefusedByTheOthers) {
  v1::IssueTokenResponse token = testing::Issue(Replica(0), "carol");
  v1::IssueTokenResponse subject = testing::Issue(Replica(0), "dan");
  v1::IssueTokenResponse bystander = testing::Issue(Replica(0), "erin");
  ASSERT_FALSE(token.token().empty());
  ASSERT_FALSE(subject.token().empty());

  v1::RevokeTokenRequest revoke_token;
  revoke_token.set_token(token.token());
  v1::RevokeTokenResponse token_revoked;
  grpc::Status status =
      Replica(2)->RevokeToken(testing::CallContext().get(), revoke_token, &token_revoked);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(token_revoked.token_id(), token.token_id());

  v1::RevokeSubjectRequest revoke_subject;
  revoke_subject.set_subject("dan");
  v1::RevokeSubjectResponse subject_revoked;
  status =
      Replica(1)->RevokeSubject(testing::CallContext().get(), revoke_subject, &subject_revoked);
  ASSERT_TRUE(status.ok()) << status.error_message();

  ASSERT_TRUE(testing::WaitUntil(
      [&] {
        return AllRefuse({0, 1, 2}, token.token(), v1::REASON_TOKEN_REVOKED) &&
               AllRefuse({0, 1, 2}, subject.token(), v1::REASON_SUBJECT_REVOKED);
      },
      kPropagationDeadline));
  for (int r = 0; r < kReplicas; ++r) {
    EXPECT_EQ(testing::ReasonOn(Replica(r), token.token()), v1::REASON_TOKEN_REVOKED);
    EXPECT_EQ(testing::ReasonOn(Replica(r), subject.token()), v1::REASON_SUBJECT_REVOKED);
    EXPECT_EQ(testing::ReasonOn(Replica(r), bystander.token()), v1::REASON_UNSPECIFIED);
  }
}

TEST_P(HighAvailabilityTest, TwentyConcurrentRotationsLeaveOneActiveKeyThatEveryReplicaAgreesOn) {
  std::vector<std::string> before = testing::KeyStates(Replica(0));
  ASSERT_THAT(before, SizeIs(2));
  ASSERT_EQ(CountEndingWith(before, "=ACTIVE"), 1);
  ASSERT_EQ(CountEndingWith(before, "=PENDING"), 1);

  constexpr int kRotations = 20;
  std::atomic<int> ok{0};
  std::vector<std::string> errors(kRotations);
  std::vector<std::thread> threads;
  for (int i = 0; i < kRotations; ++i) {
    threads.emplace_back([&, i] {
      v1::RotateKeyRequest request;
      request.set_immediate(true);
      v1::RotateKeyResponse response;
      grpc::Status status =
          Replica(i % kReplicas)
              ->RotateKey(testing::CallContext(absl::Seconds(60)).get(), request, &response);
      if (status.ok()) {
        ++ok;
      } else {
        errors[i] = absl::StrCat(status.error_code(), " ", status.error_message());
      }
    });
  }
  for (std::thread& t : threads) t.join();
  // No rotation was lost: each one retired one key.
  EXPECT_EQ(ok.load(), kRotations) << ::testing::PrintToString(errors);

  ASSERT_TRUE(testing::WaitUntil([&] { return AllAgreeOnKeys(); }, kPropagationDeadline))
      << ::testing::PrintToString(testing::KeyStates(Replica(0))) << "\n"
      << ::testing::PrintToString(testing::KeyStates(Replica(1))) << "\n"
      << ::testing::PrintToString(testing::KeyStates(Replica(2)));
  std::vector<std::string> after = testing::KeyStates(Replica(0));
  EXPECT_THAT(after, SizeIs(2 + kRotations));
  EXPECT_EQ(CountEndingWith(after, "=ACTIVE"), 1);
  EXPECT_EQ(CountEndingWith(after, "=PENDING"), 1);
  EXPECT_EQ(CountEndingWith(after, "=RETIRED"), kRotations);
  // The database agrees (state 2 is ACTIVE).
  EXPECT_EQ(testing::AdminSql(db_->dsn(), "SELECT count(*) FROM keys WHERE state = 2"), "1");

  // And every replica signs with that key.
  const std::string active = ActiveKid(after);
  for (int r = 0; r < kReplicas; ++r) {
    EXPECT_EQ(testing::Issue(Replica(r), "fay").key_id(), active) << "replica " << r;
  }
}

TEST_P(HighAvailabilityTest, ReplicaKilledAndRestartedCatchesUpWithChangesMadeMeanwhile) {
  v1::IssueTokenResponse token = testing::Issue(Replica(0), "gus");
  v1::IssueTokenResponse subject = testing::Issue(Replica(0), "hal");
  v1::IssueTokenResponse bystander = testing::Issue(Replica(0), "ida");
  ASSERT_FALSE(token.token().empty());

  fleet_->Kill9(2);

  v1::RevokeTokenRequest revoke_token;
  revoke_token.set_token(token.token());
  v1::RevokeTokenResponse token_revoked;
  ASSERT_TRUE(
      Replica(0)->RevokeToken(testing::CallContext().get(), revoke_token, &token_revoked).ok());
  v1::RevokeSubjectRequest revoke_subject;
  revoke_subject.set_subject("hal");
  v1::RevokeSubjectResponse subject_revoked;
  ASSERT_TRUE(Replica(1)
                  ->RevokeSubject(testing::CallContext().get(), revoke_subject, &subject_revoked)
                  .ok());
  v1::RotateKeyRequest rotate;
  rotate.set_immediate(true);
  v1::RotateKeyResponse rotated;
  ASSERT_TRUE(Replica(1)->RotateKey(testing::CallContext().get(), rotate, &rotated).ok());
  ASSERT_EQ(rotated.retired().key_id(), token.key_id());

  ASSERT_TRUE(fleet_->Restart(2));

  // The restarted replica loaded everything at start: no waiting.
  EXPECT_EQ(testing::ReasonOn(Replica(2), token.token()), v1::REASON_TOKEN_REVOKED);
  EXPECT_EQ(testing::ReasonOn(Replica(2), subject.token()), v1::REASON_SUBJECT_REVOKED);
  EXPECT_EQ(testing::ReasonOn(Replica(2), bystander.token()), v1::REASON_UNSPECIFIED);
  EXPECT_EQ(testing::Issue(Replica(2), "ida").key_id(), rotated.active().key_id());
  ASSERT_TRUE(testing::WaitUntil([&] { return AllAgreeOnKeys(); }, kPropagationDeadline));

  // And it hears changes again: the key that signed `bystander` revoked elsewhere.
  v1::RevokeKeyRequest revoke_key;
  revoke_key.set_key_id(bystander.key_id());
  v1::RevokeKeyResponse key_revoked;
  ASSERT_TRUE(Replica(0)->RevokeKey(testing::CallContext().get(), revoke_key, &key_revoked).ok());
  ASSERT_TRUE(
      testing::WaitUntil([&] { return AllRefuse({2}, bystander.token(), v1::REASON_KEY_REVOKED); },
                         kPropagationDeadline));
  EXPECT_EQ(testing::ReasonOn(Replica(2), bystander.token()), v1::REASON_KEY_REVOKED);
}

// --- A PostgreSQL outage -------------------------------------------------------------------------

// Validates `token` on every replica in a loop until stopped, counting calls that fail and answers
// other than valid.
class ValidationLoad {
 public:
  ValidationLoad(testing::Fleet* fleet, std::string token)
      : fleet_(fleet), token_(std::move(token)), thread_([this] { Run(); }) {}
  ~ValidationLoad() { Stop(); }

  void Stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }
  int calls() const { return calls_.load(); }
  int failed() const { return failed_.load(); }
  int invalid() const { return invalid_.load(); }
  std::string first_problem() const {
    absl::MutexLock lock(&mu_);
    return first_problem_;
  }

 private:
  void Run() {
    while (!stop_.load()) {
      for (int r = 0; r < fleet_->size(); ++r) {
        v1::ValidateTokenRequest request;
        request.set_token(token_);
        request.set_any_audience(true);
        v1::ValidateTokenResponse response;
        grpc::Status status = fleet_->Stub(r)->ValidateToken(
            testing::CallContext(absl::Seconds(2)).get(), request, &response);
        ++calls_;
        if (!status.ok()) {
          ++failed_;
          Note(absl::StrCat("replica ", r, ": ", status.error_code(), " ", status.error_message()));
        } else if (!response.valid()) {
          ++invalid_;
          Note(absl::StrCat("replica ", r, ": invalid, reason ", response.reason()));
        }
      }
    }
  }

  void Note(std::string problem) {
    absl::MutexLock lock(&mu_);
    if (first_problem_.empty()) first_problem_ = std::move(problem);
  }

  testing::Fleet* const fleet_;
  const std::string token_;
  std::atomic<bool> stop_{false};
  std::atomic<int> calls_{0};
  std::atomic<int> failed_{0};
  std::atomic<int> invalid_{0};
  mutable absl::Mutex mu_;
  std::string first_problem_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

TEST(HighAvailabilityOutageTest, PostgresDownForTenSecondsStopsChangesButNoValidation) {
  if (!testing::TestPostgresDsn().has_value()) GTEST_SKIP() << testing::kNoPostgresMessage;
  // An instance of its own: other tests keep theirs while this one is stopped.
  std::unique_ptr<testing::PostgresInstance> postgres = testing::PostgresInstance::Start();
  ASSERT_NE(postgres, nullptr);
  testing::Fleet fleet(postgres->dsn(), kReplicas);
  ASSERT_TRUE(fleet.started());

  v1::IssueTokenResponse loaded = testing::Issue(fleet.Stub(0), "load");
  v1::IssueTokenResponse probe = testing::Issue(fleet.Stub(0), "probe");
  ASSERT_FALSE(loaded.token().empty());
  ASSERT_FALSE(probe.token().empty());
  ValidationLoad load(&fleet, loaded.token());
  ASSERT_TRUE(testing::WaitUntil([&] { return load.calls() >= 30; }, absl::Seconds(10)));

  const absl::Time outage_start = absl::Now();
  ASSERT_TRUE(postgres->Stop());

  // Changes answer UNAVAILABLE with a message, well within the call's deadline (a store call
  // waiting for PostgreSQL would end as DEADLINE_EXCEEDED instead), twice: the second one too.
  for (int attempt = 0; attempt < 2; ++attempt) {
    v1::RevokeKeyRequest revoke_key;
    revoke_key.set_key_id(loaded.key_id());
    v1::RevokeKeyResponse unused;
    grpc::Status status =
        fleet.Stub(1)->RevokeKey(testing::CallContext(absl::Seconds(8)).get(), revoke_key, &unused);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr("PostgreSQL"));
  }
  v1::RevokeTokenRequest revoke_token;
  revoke_token.set_token(probe.token());
  v1::RevokeTokenResponse unused_token;
  grpc::Status status = fleet.Stub(2)->RevokeToken(testing::CallContext(absl::Seconds(8)).get(),
                                                   revoke_token, &unused_token);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();

  // Issuing goes on with the active key, and every replica validates what each issues.
  for (int r = 0; r < kReplicas; ++r) {
    v1::IssueTokenResponse during = testing::Issue(fleet.Stub(r), "during");
    EXPECT_EQ(during.key_id(), loaded.key_id());
    EXPECT_EQ(testing::ReasonOn(fleet.Stub((r + 1) % kReplicas), during.token()),
              v1::REASON_UNSPECIFIED);
    // Health stays SERVING: the replica can validate.
    EXPECT_EQ(testing::HealthStatus(fleet.port(r)), 1) << "replica " << r;
  }

  absl::SleepFor(outage_start + absl::Seconds(10) - absl::Now());
  ASSERT_TRUE(postgres->Restart());

  // Changes work again (the first attempts may still find PostgreSQL starting) and reach every
  // replica, while the load goes on.
  ASSERT_TRUE(testing::WaitUntil(
      [&] {
        return fleet.Stub(0)
            ->RevokeToken(testing::CallContext().get(), revoke_token, &unused_token)
            .ok();
      },
      absl::Seconds(10)));
  ASSERT_TRUE(testing::WaitUntil(
      [&] {
        for (int r = 0; r < kReplicas; ++r) {
          if (testing::ReasonOn(fleet.Stub(r), probe.token()) != v1::REASON_TOKEN_REVOKED) {
            return false;
          }
        }
        return true;
      },
      absl::Seconds(10)));

  load.Stop();
  EXPECT_GT(load.calls(), 30);
  EXPECT_EQ(load.failed(), 0) << load.first_problem();
  EXPECT_EQ(load.invalid(), 0) << load.first_problem();

  // RevokeKey works again and reaches every replica.
  v1::RevokeKeyRequest revoke_key;
  revoke_key.set_key_id(loaded.key_id());
  v1::RevokeKeyResponse revoked;
  status = fleet.Stub(1)->RevokeKey(testing::CallContext().get(), revoke_key, &revoked);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_TRUE(testing::WaitUntil(
      [&] {
        for (int r = 0; r < kReplicas; ++r) {
          if (testing::ReasonOn(fleet.Stub(r), loaded.token()) != v1::REASON_KEY_REVOKED) {
            return false;
          }
        }
        return true;
      },
      kPropagationDeadline));
  for (int r = 0; r < kReplicas; ++r) {
    EXPECT_EQ(testing::ReasonOn(fleet.Stub(r), loaded.token()), v1::REASON_KEY_REVOKED);
    EXPECT_EQ(testing::HealthStatus(fleet.port(r)), 1) << "replica " << r;
  }
}

// --- Start-up ------------------------------------------------------------------------------------

TEST(PostgresStartupTest, UnreachablePostgresIsAClearStartupErrorWithExitCode1) {
  testing::TempDir dir;
  testing::WriteFile(dir.path() + "/kek", std::string(64, 'a'), 0600);
  std::string out;
  int code = testing::RunServerOnce(
      {"--store=postgres",
       "--postgres_dsn=host=127.0.0.1 port=1 dbname=signet user=signet password=hunter2-secret",
       "--kek_file=" + dir.path() + "/kek", "--http_listen=", "--listen=127.0.0.1:0"},
      &out);
  EXPECT_EQ(code, 1) << out;
  EXPECT_THAT(out, HasSubstr("start_failed"));
  EXPECT_THAT(out, HasSubstr("UNAVAILABLE: PostgreSQL store: cannot connect to PostgreSQL"));
  EXPECT_THAT(out, Not(HasSubstr("hunter2")));
  EXPECT_THAT(out, Not(HasSubstr("server_started")));
}

TEST(PostgresStartupTest, MissingDsnFileIsAStartupErrorNamingThePath) {
  testing::TempDir dir;
  testing::WriteFile(dir.path() + "/kek", std::string(64, 'a'), 0600);
  std::string out;
  int code = testing::RunServerOnce(
      {"--store=postgres", "--postgres_dsn_file=" + dir.path() + "/no-such-dsn",
       "--kek_file=" + dir.path() + "/kek", "--http_listen=", "--listen=127.0.0.1:0"},
      &out);
  EXPECT_EQ(code, 1) << out;
  EXPECT_THAT(out, HasSubstr("NOT_FOUND"));
  EXPECT_THAT(out, HasSubstr(dir.path() + "/no-such-dsn"));
}

TEST(PostgresStartupTest, DsnAndDsnFileTogetherAreABadConfiguration) {
  testing::TempDir dir;
  testing::WriteFile(dir.path() + "/kek", std::string(64, 'a'), 0600);
  testing::WriteFile(dir.path() + "/dsn", "host=127.0.0.1 port=1", 0600);
  std::string out;
  int code = testing::RunServerOnce(
      {"--store=postgres", "--postgres_dsn=host=127.0.0.1 port=1",
       "--postgres_dsn_file=" + dir.path() + "/dsn", "--kek_file=" + dir.path() + "/kek",
       "--http_listen=", "--listen=127.0.0.1:0"},
      &out);
  EXPECT_EQ(code, 2) << out;
  EXPECT_THAT(out, HasSubstr("give one of --postgres_dsn and --postgres_dsn_file"));
}

}  // namespace
}  // namespace signet
