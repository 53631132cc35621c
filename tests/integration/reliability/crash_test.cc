// Crash consistency: signet-server (a subprocess on SQLite) is killed with SIGKILL at random
// moments while a client thread drives IssueToken, RotateKey(immediate), RevokeKey, RevokeToken
// and RevokeSubject. After each restart:
//   - exactly one key is ACTIVE and one is PENDING, and every key is whole (public JWK present);
//   - every acknowledged revocation is there: revoked keys stay REVOKED, revoked tokens and
//     subjects stay refused;
//   - every token acknowledged before the crash validates, unless a revocation refuses it, with
//     the exact reason (KEY_REVOKED before TOKEN_REVOKED before SUBJECT_REVOKED);
//   - the server issues and validates again.
// Calls in flight at the kill may or may not have happened; the first answers after the restart
// settle which, and from then on they are held to the same rules.
//
// SIGNET_CRASH_KILLS sets the number of kill points (default 60); SIGNET_CRASH_SEED the seed.
#include <atomic>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/integration/reliability/reliability_util.h"
#include "tests/integration/test_support.h"

namespace signet {
namespace {

using ::signet::v1::Reason;

// Whether a change happened: acknowledged (it did), unknown (the server died while it was in
// flight), or settled after a restart.
enum class Fate { kNo, kMaybe, kYes };

struct IssuedToken {
  std::string token;
  std::string jti;
  std::string subject;
  std::string kid;
};

// What the client was told. Guarded by mu while the traffic thread runs.
struct Model {
  absl::Mutex mu;
  std::vector<IssuedToken> tokens;
  std::map<std::string, Fate> key_revoked;      // kid -> fate of a RevokeKey.
  std::map<std::string, Fate> token_revoked;    // jti -> fate of a RevokeToken.
  std::map<std::string, Fate> subject_revoked;  // subject -> fate of a RevokeSubject.
  std::set<std::string> live_subjects;          // Subjects tokens may still be issued to.
  int next_subject = 0;
  int acked_changes = 0;
  int unknown_changes = 0;
};

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v == nullptr || *v == '\0' ? fallback : std::atoi(v);
}

template <typename Rpc>
grpc::Status Call(Rpc rpc) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
  return rpc(&ctx);
}

// Drives random changes until `stop`; records each as acknowledged or unknown.
void Traffic(v1::TokenService::Stub* stub, Model* model, uint32_t seed,
             const std::atomic<bool>* stop) {
  std::mt19937 rng(seed);
  auto pick = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
  while (!stop->load()) {
    const int dice = static_cast<int>(pick(100));
    if (dice < 50) {
      std::string subject;
      {
        absl::MutexLock lock(&model->mu);
        while (model->live_subjects.size() < 4) {
          model->live_subjects.insert(absl::StrCat("user-", model->next_subject++));
        }
        subject = *std::next(model->live_subjects.begin(), pick(model->live_subjects.size()));
      }
      v1::IssueTokenRequest req;
      req.set_subject(subject);
      v1::IssueTokenResponse resp;
      grpc::Status st =
          Call([&](grpc::ClientContext* c) { return stub->IssueToken(c, req, &resp); });
      if (st.ok()) {
        absl::MutexLock lock(&model->mu);
        model->tokens.push_back({resp.token(), resp.token_id(), subject, resp.key_id()});
      }
    } else if (dice < 65) {
      v1::RotateKeyRequest req;
      req.set_immediate(true);
      v1::RotateKeyResponse resp;
      grpc::Status st =
          Call([&](grpc::ClientContext* c) { return stub->RotateKey(c, req, &resp); });
      absl::MutexLock lock(&model->mu);
      ++(st.ok() ? model->acked_changes : model->unknown_changes);
    } else if (dice < 75) {
      std::string kid;
      {
        absl::MutexLock lock(&model->mu);
        if (model->tokens.empty()) continue;
        kid = model->tokens[pick(model->tokens.size())].kid;
        if (model->key_revoked[kid] != Fate::kNo) continue;
        model->key_revoked[kid] = Fate::kMaybe;
      }
      v1::RevokeKeyRequest req;
      req.set_key_id(kid);
      req.set_reason("crash test");
      v1::RevokeKeyResponse resp;
      grpc::Status st =
          Call([&](grpc::ClientContext* c) { return stub->RevokeKey(c, req, &resp); });
      absl::MutexLock lock(&model->mu);
      if (st.ok()) {
        model->key_revoked[kid] = Fate::kYes;
        ++model->acked_changes;
      } else {
        ++model->unknown_changes;
      }
    } else if (dice < 90) {
      IssuedToken target;
      {
        absl::MutexLock lock(&model->mu);
        if (model->tokens.empty()) continue;
        target = model->tokens[pick(model->tokens.size())];
        if (model->token_revoked[target.jti] != Fate::kNo) continue;
        model->token_revoked[target.jti] = Fate::kMaybe;
      }
      v1::RevokeTokenRequest req;
      req.set_token(target.token);
      v1::RevokeTokenResponse resp;
      grpc::Status st =
          Call([&](grpc::ClientContext* c) { return stub->RevokeToken(c, req, &resp); });
      absl::MutexLock lock(&model->mu);
      if (st.ok()) {
        model->token_revoked[target.jti] = Fate::kYes;
        ++model->acked_changes;
      } else {
        ++model->unknown_changes;
      }
    } else {
      std::string subject;
      {
        absl::MutexLock lock(&model->mu);
        if (model->live_subjects.empty()) continue;
        // No token is issued to a subject once its revocation is sent: every token it has was
        // acknowledged before, so each must be refused once the revocation is acknowledged.
        subject = *std::next(model->live_subjects.begin(), pick(model->live_subjects.size()));
        model->live_subjects.erase(subject);
        model->subject_revoked[subject] = Fate::kMaybe;
      }
      v1::RevokeSubjectRequest req;
      req.set_subject(subject);
      v1::RevokeSubjectResponse resp;
      grpc::Status st =
          Call([&](grpc::ClientContext* c) { return stub->RevokeSubject(c, req, &resp); });
      absl::MutexLock lock(&model->mu);
      if (st.ok()) {
        model->subject_revoked[subject] = Fate::kYes;
        ++model->acked_changes;
      } else {
        ++model->unknown_changes;
      }
    }
  }
}

Fate Get(const std::map<std::string, Fate>& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? Fate::kNo : it->second;
}

// The answers a token may get: every way of settling its unknown fates, in the verifier's order.
std::set<Reason> Allowed(const Model& m, const IssuedToken& t) {
  std::set<Reason> out;
  auto options = [](Fate f) {
    return f == Fate::kMaybe ? std::vector<bool>{false, true} : std::vector<bool>{f == Fate::kYes};
  };
  for (bool key : options(Get(m.key_revoked, t.kid))) {
    for (bool token : options(Get(m.token_revoked, t.jti))) {
      for (bool subject : options(Get(m.subject_revoked, t.subject))) {
        out.insert(key       ? v1::REASON_KEY_REVOKED
                   : token   ? v1::REASON_TOKEN_REVOKED
                   : subject ? v1::REASON_SUBJECT_REVOKED
                             : v1::REASON_UNSPECIFIED);
      }
    }
  }
  return out;
}

// Settles what an answer proves about the token's unknown fates.
void Settle(Model* m, const IssuedToken& t, bool valid, Reason reason) {
  if (Get(m->key_revoked, t.kid) == Fate::kYes) return;  // Hides the others.
  if (reason == v1::REASON_KEY_REVOKED) return;          // Settled from ListKeys instead.
  if (Get(m->token_revoked, t.jti) == Fate::kMaybe) {
    m->token_revoked[t.jti] = reason == v1::REASON_TOKEN_REVOKED ? Fate::kYes : Fate::kNo;
  }
  if (reason == v1::REASON_TOKEN_REVOKED) return;
  if (Get(m->subject_revoked, t.subject) == Fate::kMaybe) {
    if (valid || reason == v1::REASON_SUBJECT_REVOKED) {
      m->subject_revoked[t.subject] = valid ? Fate::kNo : Fate::kYes;
    }
  }
}

class CrashTest : public ::testing::Test {
 protected:
  std::vector<std::string> Args() const {
    return {"--data_dir=" + dir_.path() + "/data", "--http_listen=",
            // The maintenance loop must not rotate or prune on its own during the test.
            "--rotation_period=24h"};
  }

  // Checks the invariants on a freshly restarted server and settles unknown fates.
  void CheckInvariants(v1::TokenService::Stub* stub, int cycle, std::mt19937* rng) {
    SCOPED_TRACE(absl::StrCat("after kill point ", cycle));
    grpc::Status st;
    std::vector<v1::Key> keys = reliability::ListAllKeys(stub, &st);
    ASSERT_TRUE(st.ok()) << st.error_message();
    int active = 0, pending = 0;
    std::map<std::string, v1::KeyState> state;
    for (const v1::Key& k : keys) {
      active += k.state() == v1::KEY_STATE_ACTIVE;
      pending += k.state() == v1::KEY_STATE_PENDING;
      state[k.key_id()] = k.state();
      EXPECT_FALSE(k.public_jwk().empty()) << "key " << k.key_id() << " has no public JWK";
    }
    EXPECT_EQ(active, 1) << "ACTIVE keys after the restart";
    EXPECT_EQ(pending, 1) << "PENDING keys after the restart";

    for (auto& [kid, fate] : model_.key_revoked) {
      auto it = state.find(kid);
      ASSERT_NE(it, state.end()) << "key " << kid << " of an acknowledged token is gone";
      if (fate == Fate::kYes) {
        EXPECT_EQ(it->second, v1::KEY_STATE_REVOKED) << "acknowledged revocation of " << kid;
      } else if (fate == Fate::kMaybe) {
        fate = it->second == v1::KEY_STATE_REVOKED ? Fate::kYes : Fate::kNo;
      } else {
        EXPECT_NE(it->second, v1::KEY_STATE_REVOKED) << kid << " revoked by no one";
      }
    }

    // Every token with an unsettled fate, and samples of those a revocation touched and of the
    // rest (every token in the last check).
    std::vector<size_t> check, touched, rest;
    for (size_t i = 0; i < model_.tokens.size(); ++i) {
      const IssuedToken& t = model_.tokens[i];
      const Fate k = Get(model_.key_revoked, t.kid);
      const Fate j = Get(model_.token_revoked, t.jti);
      const Fate s = Get(model_.subject_revoked, t.subject);
      if (k == Fate::kMaybe || j == Fate::kMaybe || s == Fate::kMaybe) {
        check.push_back(i);
      } else {
        (k == Fate::kNo && j == Fate::kNo && s == Fate::kNo ? rest : touched).push_back(i);
      }
    }
    for (std::vector<size_t>* group : {&touched, &rest}) {
      std::shuffle(group->begin(), group->end(), *rng);
      const size_t n = cycle < 0 ? group->size() : std::min<size_t>(group->size(), 200);
      check.insert(check.end(), group->begin(), group->begin() + n);
    }
    for (size_t i : check) {
      const IssuedToken& t = model_.tokens[i];
      v1::ValidateTokenRequest req;
      req.set_token(t.token);
      req.set_any_audience(true);
      v1::ValidateTokenResponse resp;
      grpc::Status vst =
          Call([&](grpc::ClientContext* c) { return stub->ValidateToken(c, req, &resp); });
      ASSERT_TRUE(vst.ok()) << vst.error_message();
      const std::set<Reason> allowed = Allowed(model_, t);
      EXPECT_EQ(resp.valid(), resp.reason() == v1::REASON_UNSPECIFIED);
      EXPECT_TRUE(allowed.count(resp.reason()) == 1)
          << "token " << t.jti << " of " << t.subject << " (key " << t.kid << ") answered "
          << v1::Reason_Name(resp.reason()) << "; allowed: " << AllowedText(allowed);
      ++validated_;
      Settle(&model_, t, resp.valid(), resp.reason());
    }

    // It serves again: a fresh token validates.
    v1::IssueTokenRequest ireq;
    ireq.set_subject("after-restart");
    v1::IssueTokenResponse iresp;
    grpc::Status ist =
        Call([&](grpc::ClientContext* c) { return stub->IssueToken(c, ireq, &iresp); });
    ASSERT_TRUE(ist.ok()) << ist.error_message();
    v1::ValidateTokenRequest vreq;
    vreq.set_token(iresp.token());
    vreq.set_any_audience(true);
    v1::ValidateTokenResponse vresp;
    ASSERT_TRUE(
        Call([&](grpc::ClientContext* c) { return stub->ValidateToken(c, vreq, &vresp); }).ok());
    EXPECT_TRUE(vresp.valid()) << v1::Reason_Name(vresp.reason());
  }

  static std::string AllowedText(const std::set<Reason>& s) {
    std::string out;
    for (Reason r : s) absl::StrAppend(&out, out.empty() ? "" : ", ", v1::Reason_Name(r));
    return out;
  }

  testing::TempDir dir_;
  Model model_;
  int validated_ = 0;
};

TEST_F(CrashTest, KillNineAtRandomMomentsLosesNoAcknowledgedChange) {
  const int kills = EnvInt("SIGNET_CRASH_KILLS", 60);
  const uint32_t seed = static_cast<uint32_t>(EnvInt("SIGNET_CRASH_SEED", 20240611));
  std::mt19937 rng(seed);
  const std::string log = dir_.path() + "/server.log";
  std::printf("crash test: %d kill points, seed %u\n", kills, seed);
  const absl::Time start = absl::Now();
  for (int cycle = 0; cycle <= kills; ++cycle) {
    auto proc = testing::ServerProcess::Start(Args(), log);
    ASSERT_NE(proc->port(), 0) << "restart " << cycle << " failed";
    auto stub = testing::NewStub(proc->port());
    CheckInvariants(stub.get(), cycle, &rng);
    if (HasFatalFailure() || HasFailure()) {
      std::printf(
          "server log tail:\n%s\n",
          proc->Log().substr(proc->Log().size() > 4000 ? proc->Log().size() - 4000 : 0).c_str());
      return;
    }
    if (cycle == kills) break;

    std::atomic<bool> stop{false};
    std::thread traffic(Traffic, stub.get(), &model_, static_cast<uint32_t>(rng()), &stop);
    // Random moments: mostly within the first few hundred milliseconds of traffic, sometimes
    // right away (the first change in flight).
    const int delay_ms = static_cast<int>(std::uniform_int_distribution<int>(0, 400)(rng));
    absl::SleepFor(absl::Milliseconds(delay_ms));
    stop = true;  // The call in flight now is the last: it meets the kill.
    proc->Kill9();
    traffic.join();
  }
  absl::MutexLock lock(&model_.mu);
  // A last full check over every token ever acknowledged.
  auto proc = testing::ServerProcess::Start(Args(), log);
  ASSERT_NE(proc->port(), 0);
  auto stub = testing::NewStub(proc->port());
  CheckInvariants(stub.get(), -1, &rng);
  int revoked_keys = 0, revoked_tokens = 0, revoked_subjects = 0;
  for (const auto& [k, f] : model_.key_revoked) revoked_keys += f == Fate::kYes;
  for (const auto& [k, f] : model_.token_revoked) revoked_tokens += f == Fate::kYes;
  for (const auto& [k, f] : model_.subject_revoked) revoked_subjects += f == Fate::kYes;
  std::printf(
      "crash test: %d kill points in %.1f s; %zu tokens issued, %d acknowledged changes, %d in "
      "flight at a kill; %d keys, %d tokens, %d subjects revoked; %d validations checked\n",
      kills, absl::ToDoubleSeconds(absl::Now() - start), model_.tokens.size(), model_.acked_changes,
      model_.unknown_changes, revoked_keys, revoked_tokens, revoked_subjects, validated_);
  EXPECT_GT(model_.tokens.size(), static_cast<size_t>(kills));
}

}  // namespace
}  // namespace signet
