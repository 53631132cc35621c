// Revocation propagation across replicas: R signet-server processes (default 3) on one PostgreSQL
// database. Replica A revokes a token (RevokeToken, 100 times), then the key that signs (RevokeKey
// of the ACTIVE key, 100 times), and the benchmark measures how long until every other replica
// refuses it. The others are watched through WatchKeys streams: a replica sends a change on its
// streams only after it has published the snapshot that refuses the token, so the arrival time of
// the message bounds the moment it refuses from above. Every revocation is then checked with
// ValidateToken on each of them (REASON_TOKEN_REVOKED or REASON_KEY_REVOKED). A token revocation
// travels in its NOTIFY payload; a key change makes each replica reload the keys (one more query).
// With one replica (R=1) A's own stream is watched: the local figure.
//
// The "replicas" curve: --replicas=1,2,3,4,6 runs each R on a fresh database and, with
// --phase_duration=D, also measures what the fleet costs the database: connections to it
// (pg_stat_activity) and its transactions per second (pg_stat_database xact_commit +
// xact_rollback, and tup_returned / tup_fetched per second) (a) idle, (b) while every replica
// serves a closed-loop ValidateToken load (--validate_concurrency calls outstanding over two
// connections per replica; ValidateToken never touches the database), (c) during a revocation
// storm (RevokeToken by token id on A at --storm_rate per second, open loop). PostgreSQL publishes
// a backend's statistics up to 10 s late, so each phase is followed by 11 s of quiet before its
// counters are read; (a) and (b) are rates over phase and quiet (equal windows, to be compared),
// (c) over the storm alone. --json_out appends the curve's points as JSON lines.
//
//   build/bench/propagation_bench [--revocations=100] [--replicas=3]
//   build/bench/propagation_bench --replicas=1,2,3,4,6 --phase_duration=20s --json_out=PATH
//
// PostgreSQL: the server SIGNET_TEST_POSTGRES_DSN names (a database of its own is created and
// dropped for each R), or else a private instance started with scripts/postgres-test-instance.sh
// in a temporary folder (as scripts/test.sh does) and stopped at the end.
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "bench/fleet/bench_database.h"
#include "bench/fleet/curve_points.h"
#include "bench/fleet/flag_args.h"
#include "bench/fleet/percentile.h"
#include "bench/fleet/scratch_dir.h"
#include "bench/fleet/server_process.h"
#include "bench/load/driver.h"
#include "bench/load/workload.h"
#include "grpcpp/grpcpp.h"
#include "signet/v1/token_service.grpc.pb.h"
#include "tests/support/postgres_admin.h"

namespace signet::bench {
namespace {

namespace v1 = ::signet::v1;
using Clock = std::chrono::steady_clock;
using ::signet::testing::RandomHex;

constexpr auto kWaitLimit = std::chrono::seconds(5);
constexpr char kSeries[] = "replicas on one PostgreSQL";
constexpr char kXLabel[] = "signet-server replicas";

struct Options {
  int revocations = 100;
  std::vector<int> replicas = {3};
  std::string json_out;
  absl::Duration phase_duration = absl::ZeroDuration();  // Zero: no database load phases.
  double storm_rate = 200;
  int validate_concurrency = 32;
};

// Reads a replica's WatchKeys stream and notes when each token revocation and each key
// revocation first arrives.
class Watcher {
 public:
  enum class Kind { kToken, kKey };

  explicit Watcher(v1::TokenService::Stub* stub) : stub_(stub) {}
  ~Watcher() {
    context_.TryCancel();
    if (thread_.joinable()) thread_.join();
  }

  // Opens the stream and waits for its first (snapshot) message.
  bool Start() {
    reader_ = stub_->WatchKeys(&context_, v1::WatchKeysRequest());
    v1::WatchKeysResponse first;
    if (!reader_->Read(&first) || !first.snapshot()) return false;
    thread_ = std::thread([this] { Run(); });
    return true;
  }

  // When the revocation of the token or key `id` arrived, waiting up to kWaitLimit for it.
  std::optional<Clock::time_point> WaitFor(Kind kind, const std::string& id) {
    const std::map<std::string, Clock::time_point>& arrivals =
        kind == Kind::kToken ? tokens_ : keys_;
    std::unique_lock<std::mutex> lock(mu_);
    std::optional<Clock::time_point> found;
    cv_.wait_for(lock, kWaitLimit, [&] {
      auto it = arrivals.find(id);
      if (it == arrivals.end()) return false;
      found = it->second;
      return true;
    });
    return found;
  }

 private:
  void Run() {
    v1::WatchKeysResponse message;
    while (reader_->Read(&message)) {
      const Clock::time_point now = Clock::now();
      std::lock_guard<std::mutex> lock(mu_);
      for (const v1::TokenRevocation& revocation : message.token_revocations()) {
        tokens_.emplace(revocation.token_id(), now);
      }
      for (const v1::Key& key : message.keys()) {
        if (key.state() == v1::KEY_STATE_REVOKED) keys_.emplace(key.key_id(), now);
      }
      cv_.notify_all();
    }
  }

  v1::TokenService::Stub* const stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<v1::WatchKeysResponse>> reader_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Clock::time_point> tokens_;
  std::map<std::string, Clock::time_point> keys_;
  std::thread thread_;
};

double Millis(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

Quantiles Report(const std::string& what, std::vector<double> ms) {
  const Quantiles q = QuantilesOf(std::move(ms));
  std::printf("%-44s p50 %7.2f ms   p99 %7.2f ms   max %7.2f ms\n", what.c_str(), q.p50, q.p99,
              q.max);
  return q;
}

// Delays of one kind of revocation, in milliseconds.
struct Delays {
  std::vector<double> commit;                 // The call acknowledged by A (committed).
  std::vector<std::vector<double>> replicas;  // Per watched replica: it refuses.
  std::vector<double> fleet;                  // Every watched replica refuses: the latest.

  // The fleet's quantiles.
  Quantiles Print(const char* call, const std::vector<std::string>& names) const {
    Report(absl::StrCat(call, " acknowledged by A (committed)"), commit);
    for (size_t i = 0; i < replicas.size(); ++i) {
      Report(absl::StrCat("replica ", names[i], " refuses"), replicas[i]);
    }
    Quantiles q = Report(names.size() > 1 ? "every other replica refuses (the latest)"
                                          : "the watched replica refuses",
                         fleet);
    std::printf("target p99 < 100 ms: %s\n", q.p99 < 100.0 ? "met" : "MISSED");
    return q;
  }
};

std::unique_ptr<grpc::ClientContext> Context() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return context;
}

// What one phase cost the database, per second.
struct PhaseLoad {
  double transactions_per_s = 0;
  double tup_returned_per_s = 0;
  double tup_fetched_per_s = 0;
  int connections = 0;
};

// PostgreSQL's backends publish their statistics when they go idle, but at most once a second, and
// an idle backend with some still pending does so within 10 s: a phase's counters are read after
// this much quiet, so that they hold all of its work (and the next phase's none).
constexpr auto kStatisticsSettle = std::chrono::seconds(11);

// Measures the database across `phase` and the quiet kStatisticsSettle after it. Rates are per
// second of the phase alone, or (whole_window) of the phase and the settle (for phases that are
// to be compared with the idle one, which the settle is).
template <typename Phase>
std::optional<PhaseLoad> MeasureDatabase(BenchDatabase* db, bool whole_window, Phase phase) {
  const std::optional<DatabaseCounters> before = db->Counters();
  const int64_t t0 = NowNs();
  phase();
  const int64_t t1 = NowNs();
  const std::optional<int> connections = db->Connections();
  std::this_thread::sleep_for(kStatisticsSettle);
  const int64_t t2 = NowNs();
  const std::optional<DatabaseCounters> after = db->Counters();
  if (!before || !after || !connections) return std::nullopt;
  const DatabaseCounters d = *after - *before;
  const double seconds = ((whole_window ? t2 : t1) - t0) / 1e9;
  return PhaseLoad{d.transactions / seconds, d.tup_returned / seconds, d.tup_fetched / seconds,
                   *connections};
}

void PrintPhase(const char* name, const PhaseLoad& load, const std::string& extra) {
  std::printf(
      "%-36s %4d connections  %9.1f transactions/s  %11.1f tup_returned/s  %9.1f "
      "tup_fetched/s%s\n",
      name, load.connections, load.transactions_per_s, load.tup_returned_per_s,
      load.tup_fetched_per_s, extra.c_str());
}

int RunFleet(const Options& options, int replica_count, const PostgresServer& server,
             const std::string& dir, const CurvePoints& points) {
  BenchDatabase db(&server);
  if (!db.ok()) return 1;
  const std::string kek = absl::StrCat(dir, "/kek-", replica_count);
  const std::string dsn = absl::StrCat(dir, "/dsn-", replica_count);
  if (!WriteFile(kek, RandomHex(32)) || !WriteFile(dsn, db.dsn())) {
    std::fprintf(stderr, "cannot write into %s\n", dir.c_str());
    return 1;
  }
  std::printf("\n==== %d replica%s on database %s ====\n", replica_count,
              replica_count == 1 ? "" : "s", db.name().c_str());
  std::vector<std::unique_ptr<ServerProcess>> replicas;
  std::vector<std::unique_ptr<v1::TokenService::Stub>> stubs;
  for (int i = 0; i < replica_count; ++i) {
    replicas.push_back(std::make_unique<ServerProcess>());
    if (!replicas.back()->Start(
            {"--store=postgres", "--postgres_dsn_file=" + dsn, "--kek_file=" + kek,
             "--http_listen=", "--listen=127.0.0.1:0",
             absl::StrCat("--audit_log=", dir, "/audit-", replica_count, ".jsonl")},
            absl::StrCat(dir, "/replica-", replica_count, "-", i, ".log"))) {
      return 1;
    }
    stubs.push_back(v1::TokenService::NewStub(
        grpc::CreateChannel(replicas.back()->target(), grpc::InsecureChannelCredentials())));
  }
  v1::TokenService::Stub* a = stubs[0].get();
  // Every replica but A; A itself when it is alone.
  std::vector<v1::TokenService::Stub*> watched_stubs;
  std::vector<std::string> names;
  for (int i = replica_count == 1 ? 0 : 1; i < replica_count; ++i) {
    watched_stubs.push_back(stubs[i].get());
    names.push_back(std::string(1, static_cast<char>('A' + i)));
  }
  std::vector<std::unique_ptr<Watcher>> watchers;
  for (v1::TokenService::Stub* stub : watched_stubs) {
    watchers.push_back(std::make_unique<Watcher>(stub));
    if (!watchers.back()->Start()) {
      std::fprintf(stderr, "cannot open the WatchKeys streams\n");
      return 1;
    }
  }

  // Issues a token on A, revokes it (or the key that signed it) on A, and notes when each watched
  // replica has it; then checks that each refuses the token for that reason.
  int not_refused = 0;
  auto measure = [&](Watcher::Kind kind, int count) -> std::optional<Delays> {
    Delays delays;
    delays.replicas.resize(watchers.size());
    for (int i = 0; i < count; ++i) {
      v1::IssueTokenRequest issue;
      issue.set_subject(absl::StrCat("user-", i));
      v1::IssueTokenResponse issued;
      grpc::Status status = a->IssueToken(Context().get(), issue, &issued);
      if (!status.ok()) {
        std::fprintf(stderr, "IssueToken: %s\n", status.error_message().c_str());
        return std::nullopt;
      }
      const bool token = kind == Watcher::Kind::kToken;
      const std::string id = token ? issued.token_id() : issued.key_id();
      const Clock::time_point sent = Clock::now();
      if (token) {
        v1::RevokeTokenRequest revoke;
        revoke.set_token(issued.token());
        v1::RevokeTokenResponse revoked;
        status = a->RevokeToken(Context().get(), revoke, &revoked);
      } else {
        v1::RevokeKeyRequest revoke;
        revoke.set_key_id(id);
        v1::RevokeKeyResponse revoked;
        status = a->RevokeKey(Context().get(), revoke, &revoked);
      }
      const Clock::time_point acknowledged = Clock::now();
      if (!status.ok()) {
        std::fprintf(stderr, "revoking: %s\n", status.error_message().c_str());
        return std::nullopt;
      }
      Clock::time_point latest = sent;
      for (size_t w = 0; w < watchers.size(); ++w) {
        std::optional<Clock::time_point> at = watchers[w]->WaitFor(kind, id);
        if (!at) {
          std::fprintf(stderr, "revocation %d did not reach replica %s within 5 s\n", i,
                       names[w].c_str());
          return std::nullopt;
        }
        delays.replicas[w].push_back(Millis(*at - sent));
        latest = std::max(latest, *at);
      }
      delays.commit.push_back(Millis(acknowledged - sent));
      delays.fleet.push_back(Millis(latest - sent));
      const v1::Reason expected = token ? v1::REASON_TOKEN_REVOKED : v1::REASON_KEY_REVOKED;
      for (v1::TokenService::Stub* stub : watched_stubs) {
        v1::ValidateTokenRequest validate;
        validate.set_token(issued.token());
        validate.set_any_audience(true);
        v1::ValidateTokenResponse answer;
        if (!stub->ValidateToken(Context().get(), validate, &answer).ok() ||
            answer.reason() != expected) {
          ++not_refused;
        }
      }
    }
    return delays;
  };

  std::optional<Delays> tokens = measure(Watcher::Kind::kToken, options.revocations);
  if (!tokens) return 1;
  std::optional<Delays> keys = measure(Watcher::Kind::kKey, options.revocations);
  if (!keys) return 1;

  std::printf("\n%d RevokeToken calls on replica A; delays from sending each call:\n",
              options.revocations);
  const Quantiles token_q = tokens->Print("RevokeToken", names);
  std::printf("\n%d RevokeKey calls (the ACTIVE key) on replica A; delays from sending each:\n",
              options.revocations);
  const Quantiles key_q = keys->Print("RevokeKey", names);
  std::printf("\ntokens the watched replicas did not refuse afterwards: %d (must be 0)\n",
              not_refused);
  points.Add(kSeries, replica_count, kXLabel, "revoke_token_p50_ms", token_q.p50);
  points.Add(kSeries, replica_count, kXLabel, "revoke_token_p99_ms", token_q.p99);
  points.Add(kSeries, replica_count, kXLabel, "revoke_key_p50_ms", key_q.p50);
  points.Add(kSeries, replica_count, kXLabel, "revoke_key_p99_ms", key_q.p99);
  if (not_refused != 0) return 1;
  if (options.phase_duration <= absl::ZeroDuration()) return 0;

  // ---- What the fleet costs the database ----
  std::printf(
      "\nDatabase load, phases of %s, each followed by %d s of quiet before its counters are "
      "read; (a) and (b) per second of phase and quiet, (c) per second of storm:\n",
      absl::FormatDuration(options.phase_duration).c_str(),
      static_cast<int>(kStatisticsSettle.count()));
  // What the revocations above left unpublished.
  std::this_thread::sleep_for(kStatisticsSettle);
  std::optional<PhaseLoad> idle = MeasureDatabase(&db, /*whole_window=*/true, [&] {
    std::this_thread::sleep_for(absl::ToChronoNanoseconds(options.phase_duration));
  });
  if (!idle) return 1;
  PrintPhase("(a) idle", *idle, "");

  v1::IssueTokenRequest issue;
  issue.set_subject("validated");
  v1::IssueTokenResponse issued;
  if (grpc::Status s = a->IssueToken(Context().get(), issue, &issued); !s.ok()) {
    std::fprintf(stderr, "IssueToken: %s\n", s.error_message().c_str());
    return 1;
  }
  std::vector<std::shared_ptr<grpc::Channel>> all_channels;
  for (const auto& replica : replicas) {
    for (auto& channel : MakeChannels(replica->target(), 2)) all_channels.push_back(channel);
  }
  v1::ValidateTokenRequest validate;
  validate.set_token(issued.token());
  validate.set_any_audience(true);
  FixedWorkload validations(CallSpec(&MethodName("/signet.v1.TokenService/ValidateToken"),
                                     Serialized(validate), Expect::kValid));
  RunResult validated;
  std::optional<PhaseLoad> validating = MeasureDatabase(&db, /*whole_window=*/true, [&] {
    validated = Driver(all_channels, 0)
                    .RunClosed("validate", &validations, options.validate_concurrency,
                               absl::ZeroDuration(), options.phase_duration);
  });
  if (!validating) return 1;
  PrintPhase("(b) idle, serving ValidateToken", *validating,
             absl::StrFormat("  (%.0f ValidateToken/s, %llu not valid, %llu failed)", validated.qps,
                             static_cast<unsigned long long>(validated.unexpected),
                             static_cast<unsigned long long>(validated.calls() - validated.ok -
                                                             validated.unexpected)));

  std::vector<CallSpec> revocations;
  const int storm_calls =
      static_cast<int>(options.storm_rate * absl::ToDoubleSeconds(options.phase_duration)) + 1;
  for (int i = 0; i < storm_calls; ++i) {
    v1::RevokeTokenRequest revoke;
    revoke.set_token_id(absl::StrCat("storm-", replica_count, "-", i, "-", RandomHex(8)));
    revocations.push_back(CallSpec(&MethodName("/signet.v1.TokenService/RevokeToken"),
                                   Serialized(revoke), Expect::kAny));
  }
  SpecsWorkload storm_workload(std::move(revocations), /*each_once=*/true);
  RunResult storm;
  std::optional<PhaseLoad> storming = MeasureDatabase(&db, /*whole_window=*/false, [&] {
    storm = Driver(MakeChannels(replicas[0]->target(), 1), 0)
                .RunOpen("storm", &storm_workload, options.storm_rate, absl::ZeroDuration(),
                         options.phase_duration, 1000);
  });
  if (!storming) return 1;
  PrintPhase("(c) revocation storm on A", *storming,
             absl::StrFormat("  (%.0f RevokeToken/s, p99 %.2f ms, %llu failed)", storm.qps,
                             storm.p99_us / 1000,
                             static_cast<unsigned long long>(storm.calls() - storm.ok)));
  const double idle_per_replica = idle->transactions_per_s / replica_count;
  std::printf(
      "idle: %.2f transactions/s per replica; serving ValidateToken - idle: %+.2f "
      "transactions/s (target: independent of the validation rate)\n",
      idle_per_replica, validating->transactions_per_s - idle->transactions_per_s);
  points.Add(kSeries, replica_count, kXLabel, "db_connections", idle->connections);
  points.Add(kSeries, replica_count, kXLabel, "idle_xact_per_s", idle->transactions_per_s);
  points.Add(kSeries, replica_count, kXLabel, "validating_xact_per_s",
             validating->transactions_per_s);
  points.Add(kSeries, replica_count, kXLabel, "storm_xact_per_s", storming->transactions_per_s);
  points.Add(kSeries, replica_count, kXLabel, "idle_tup_returned_per_s", idle->tup_returned_per_s);
  points.Add(kSeries, replica_count, kXLabel, "validating_tup_returned_per_s",
             validating->tup_returned_per_s);
  points.Add(kSeries, replica_count, kXLabel, "storm_tup_returned_per_s",
             storming->tup_returned_per_s);
  points.Add(kSeries, replica_count, kXLabel, "validate_qps", validated.qps);
  return 0;
}

int Run(const Options& options) {
  ScratchDir dir("signet-propagation");
  if (!dir.ok()) return 1;
  PostgresServer server;
  if (!server.Open(dir.path())) return 1;
  std::printf("PostgreSQL: %s\n", server.description().c_str());
  CurvePoints points(options.json_out, "replicas");
  for (int r : options.replicas) {
    if (int rc = RunFleet(options, r, server, dir.path(), points); rc != 0) return rc;
  }
  return 0;
}

}  // namespace
}  // namespace signet::bench

int main(int argc, char** argv) {
  signet::bench::Options options;
  for (int i = 1; i < argc; ++i) {
    if (signet::bench::IntFlag(argv[i], "revocations", 1, INT_MAX, &options.revocations) ||
        signet::bench::PositiveListFlag(argv[i], "replicas", 26, &options.replicas) ||
        signet::bench::StringFlag(argv[i], "json_out", &options.json_out) ||
        signet::bench::IntFlag(argv[i], "validate_concurrency", 1, INT_MAX,
                               &options.validate_concurrency)) {
      continue;
    }
    absl::string_view arg = argv[i];
    if (absl::ConsumePrefix(&arg, "--phase_duration=") &&
        absl::ParseDuration(arg, &options.phase_duration)) {
      continue;
    }
    if (absl::ConsumePrefix(&arg, "--storm_rate=") && absl::SimpleAtod(arg, &options.storm_rate) &&
        options.storm_rate > 0) {
      continue;
    }
    std::fprintf(stderr,
                 "usage: %s [--revocations=100] [--replicas=N[,N...] (1 to 26; default 3)] "
                 "[--phase_duration=0s (e.g. 30s: measure the database idle, validating and "
                 "revoking)] [--storm_rate=200] [--validate_concurrency=32] [--json_out=PATH]\n",
                 argv[0]);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  return signet::bench::Run(options);
}
