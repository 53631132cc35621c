// revocation_curve: what the number of revoked entries costs the server (curve "revocations").
//
// For each store (SQLite in a fresh data folder; PostgreSQL in a database of its own on the server
// SIGNET_TEST_POSTGRES_DSN names, created and dropped here) and each kind of entry (revoked token
// ids, revoked subjects), the store is grown to N entries of that kind, one point after the other
// (N ascending). Between points the server is stopped and the rows are added straight into its
// tables in one transaction (the rows RevokeToken / RevokeSubject write: a signet-style jti or a
// subject, expiring 30 days on, so nothing is pruned during the run); the server's own count of
// what it loaded (its "key_ring_started" log line) must equal N. The few hundred revocations each
// point adds through RPCs count towards the next point's N.
//
// At each N, on a freshly started signet-server (gRPC on a free loopback port, no HTTP):
//   startup_s             from exec of signet-server until grpc.health.v1.Health/Check answers
//                         SERVING (polled every 2 ms), with N entries stored. Target: < 5 s.
//   startup_cpu_s         the server's CPU time (utime+stime) by then: the same cost, less
//                         sensitive to other work on the machine than the wall time.
//   rss_mib               VmRSS of the server right after that.
//   validate_unique_cpu_us  server CPU per ValidateToken of tokens freshly issued (not revoked),
//                         each sent once: no cache hit can happen.
//   validate_hot_cpu_us   server CPU per ValidateToken of one token (cache hits).
//   revoke_p50_ms, revoke_cpu_us  one more RevokeToken (by token_id; the "subject" series:
//                         RevokeSubject), --revokes calls one after the other: the median latency
//                         seen by the client and the server CPU per call. Target: independent of N.
// Server CPU is utime+stime from /proc/<pid>/stat before and after a phase, divided by its calls;
// for the revocations (a few hundred calls) the sum of the threads' /proc/<pid>/task/*/schedstat,
// which counts nanoseconds where /proc/<pid>/stat counts 10 ms ticks.
//
// Output: a table on stdout and, with --json_out, one JSON object per (series, N, metric) appended
// to that file: {"curve":"revocations","series":"sqlite token","x":N,"x_label":"revoked entries",
// "metric":"revoke_cpu_us","value":...}. N = 0 is written as x = 0 (its own point).
//
// Run (from the repository root, after building signet-server and revocation_curve; PostgreSQL
// from scripts/postgres-test-instance.sh, its env file sourced):
//   build/bench/revocation_curve --points=0,1000,10000,100000,1000000
//       --stores=sqlite,postgres --kinds=token,subject --json_out=revocation_curve.jsonl
// (one command line).
#include <libpq-fe.h>
#include <signal.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/fleet/curve_points.h"
#include "bench/fleet/percentile.h"
#include "bench/fleet/scratch_dir.h"
#include "bench/fleet/server_process.h"
#include "bench/load/driver.h"
#include "bench/load/process_figures.h"
#include "bench/load/workload.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "rapidjson/document.h"
#include "signet/v1/token_service.grpc.pb.h"
#include "tests/support/postgres_admin.h"
#include "token/signing/token_signer.h"

ABSL_FLAG(std::string, points, "0,1000,10000,100000,1000000",
          "Numbers of revoked entries, ascending");
ABSL_FLAG(std::string, stores, "sqlite,postgres", "Stores: sqlite, postgres");
ABSL_FLAG(std::string, kinds, "token,subject", "Kinds of entries: token (jti), subject");
ABSL_FLAG(int, unique_tokens, 5000, "ValidateToken calls without cache hit per point");
ABSL_FLAG(absl::Duration, hot_duration, absl::Seconds(2), "ValidateToken of one token per point");
ABSL_FLAG(int, revokes, 300, "One-more revocations per point (RPCs, one after the other)");
ABSL_FLAG(std::string, json_out, "", "Append one JSON object per (series, N, metric) here");
ABSL_FLAG(std::string, work_dir, "/tmp", "A fresh folder for data and logs is made in here");
ABSL_FLAG(std::string, server, signet::bench::DefaultServerBinary(),
          "The signet-server binary to measure");

namespace signet::bench {
namespace {

namespace v1 = ::signet::v1;
using ::signet::testing::TestDatabase;
using SteadyClock = std::chrono::steady_clock;

constexpr char kCurve[] = "revocations";
constexpr char kXLabel[] = "revoked entries";
constexpr char kHealthMethod[] = "/grpc.health.v1.Health/Check";
constexpr char kValidateMethod[] = "/signet.v1.TokenService/ValidateToken";
constexpr double kStartupTargetS = 5.0;
// Filled entries expire this far on: long after the run.
constexpr absl::Duration kEntryLifetime = absl::Hours(24 * 30);

double Seconds(SteadyClock::duration d) { return std::chrono::duration<double>(d).count(); }

// ---- Output -------------------------------------------------------------------------------------

// The figures of the curve: appended to --json_out as they come, and kept for the table.
class CurveOutput {
 public:
  explicit CurveOutput(std::string path) : points_(std::move(path), kCurve) {}

  void Add(const std::string& series, int64_t x, const std::string& metric, double value) {
    rows_[{series, x}][metric] = value;
    if (!points_.Add(series, static_cast<double>(x), kXLabel, metric, value)) Die("--json_out");
  }

  void PrintTable() const {
    std::printf("\n%-18s %9s %9s %8s %10s %10s %10s %10s\n", "series", "N", "startup_s", "rss_mib",
                "val_uniq", "val_hot", "revoke_ms", "revoke_cpu");
    std::printf("%-18s %9s %9s %8s %10s %10s %10s %10s\n", "", "", "", "", "cpu_us", "cpu_us",
                "p50", "us");
    for (const auto& [key, metrics] : rows_) {
      auto get = [&metrics = metrics](const char* m) {
        auto it = metrics.find(m);
        return it == metrics.end() ? -1.0 : it->second;
      };
      std::printf("%-18s %9lld %9.3f %8.1f %10.1f %10.1f %10.3f %10.1f\n", key.first.c_str(),
                  static_cast<long long>(key.second), get("startup_s"),  // NOLINT(runtime/int)
                  get("rss_mib"), get("validate_unique_cpu_us"), get("validate_hot_cpu_us"),
                  get("revoke_p50_ms"), get("revoke_cpu_us"));
    }
  }

 private:
  const CurvePoints points_;
  std::map<std::pair<std::string, int64_t>, std::map<std::string, double>> rows_;
};

// ---- The server ---------------------------------------------------------------------------------

// The counts of revocations a server loaded at start-up (its "key_ring_started" log line); -1
// when the log has none.
struct Loaded {
  int64_t token_revocations = -1;
  int64_t subject_revocations = -1;
};

Loaded ReadLoaded(const std::string& log_path) {
  Loaded loaded;
  for (absl::string_view line : absl::StrSplit(ReadFile(log_path), '\n')) {
    rapidjson::Document doc;
    doc.Parse(line.data(), line.size());
    if (!doc.HasParseError() && doc.IsObject() && doc.HasMember("event") &&
        doc["event"].IsString() && std::string(doc["event"].GetString()) == "key_ring_started" &&
        doc.HasMember("token_revocations") && doc["token_revocations"].IsInt64() &&
        doc.HasMember("subject_revocations") && doc["subject_revocations"].IsInt64()) {
      loaded.token_revocations = doc["token_revocations"].GetInt64();
      loaded.subject_revocations = doc["subject_revocations"].GetInt64();
    }
  }
  return loaded;
}

// One Health/Check: true when it answers SERVING.
bool Serving(const std::shared_ptr<grpc::Channel>& channel) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
  grpc::ByteBuffer request(nullptr, 0);  // HealthCheckRequest{}: no bytes.
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, kHealthMethod, grpc::StubOptions(), &request, &response,
                 [&done](grpc::Status s) { done.set_value(std::move(s)); });
  if (!done.get_future().get().ok()) return false;
  grpc::Slice all;
  // HealthCheckResponse{status: SERVING}: field 1, varint 1.
  return response.DumpToSingleSlice(&all).ok() && all.size() >= 2 && all.begin()[0] == 0x08 &&
         all.begin()[1] == 0x01;
}

// What a start of the server took.
struct Started {
  double startup_s = 0;  // From the fork until Health/Check answers SERVING.
  Loaded loaded;
};

constexpr auto kStartLimit = std::chrono::seconds(120);
constexpr auto kStopGrace = std::chrono::seconds(10);

// Starts `server` on a fresh log and waits (polling every 2 ms) until it answers SERVING.
std::optional<Started> StartServing(ServerProcess* server, const std::vector<std::string>& args,
                                    const std::string& log_path) {
  std::filesystem::remove(log_path);
  if (!server->Start(args, log_path, {std::chrono::milliseconds(2), kStartLimit})) {
    return std::nullopt;
  }
  const std::shared_ptr<grpc::Channel> channel =
      grpc::CreateChannel(server->target(), grpc::InsecureChannelCredentials());
  const auto deadline = server->started_at() + kStartLimit;
  while (SteadyClock::now() < deadline && server->Running()) {
    if (Serving(channel)) {
      Started started;
      started.startup_s = Seconds(SteadyClock::now() - server->started_at());
      started.loaded = ReadLoaded(log_path);
      return started;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  std::fprintf(stderr, "signet-server did not start:\n%s\n", ReadFile(log_path).c_str());
  return std::nullopt;
}

// ---- Filling the store --------------------------------------------------------------------------

enum class Kind { kToken, kSubject };

const char* KindName(Kind kind) { return kind == Kind::kToken ? "token" : "subject"; }

// The keys of filled entries [from, to): signet-style jtis (random) or subject names, sorted (the
// tables' primary keys fill far faster in order).
std::vector<std::string> EntryKeys(Kind kind, int64_t from, int64_t to) {
  std::vector<std::string> keys;
  keys.reserve(static_cast<size_t>(to - from));
  for (int64_t i = from; i < to; ++i) {
    keys.push_back(kind == Kind::kToken ? signet::server::NewTokenId()
                                        : absl::StrCat("filled-user-", i));
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

// Adds entries [from, to) to the store's table, in one transaction, with the server stopped.
class Filler {
 public:
  virtual ~Filler() = default;
  virtual void Add(Kind kind, int64_t from, int64_t to) = 0;
};

class SqliteFiller : public Filler {
 public:
  explicit SqliteFiller(std::string path) : path_(std::move(path)) {}

  void Add(Kind kind, int64_t from, int64_t to) override {
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
      Die(absl::StrCat("cannot open ", path_, ": ", sqlite3_errmsg(db)));
    }
    auto exec = [&](const char* sql) {
      if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
        Die(absl::StrCat(sql, ": ", sqlite3_errmsg(db)));
      }
    };
    exec("PRAGMA busy_timeout = 10000");
    exec("BEGIN IMMEDIATE");
    const char* sql = kind == Kind::kToken
                          ? "INSERT INTO token_revocations (token_id, expires_at) VALUES (?1, ?2)"
                          : "INSERT INTO subject_revocations (subject, not_before, expires_at) "
                            "VALUES (?1, ?2, ?3)";
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) != SQLITE_OK) {
      Die(absl::StrCat("prepare: ", sqlite3_errmsg(db)));
    }
    const absl::Time now = absl::Now();
    const int64_t not_before = absl::ToUnixMicros(
        absl::Ceil(now - absl::UnixEpoch(), absl::Seconds(1)) + absl::UnixEpoch());
    const int64_t expires = absl::ToUnixMicros(now + kEntryLifetime);
    for (const std::string& key : EntryKeys(kind, from, to)) {
      sqlite3_bind_text(stmt, 1, key.data(), static_cast<int>(key.size()), SQLITE_TRANSIENT);
      if (kind == Kind::kToken) {
        sqlite3_bind_int64(stmt, 2, expires);
      } else {
        sqlite3_bind_int64(stmt, 2, not_before);
        sqlite3_bind_int64(stmt, 3, expires);
      }
      if (sqlite3_step(stmt) != SQLITE_DONE) Die(absl::StrCat("insert: ", sqlite3_errmsg(db)));
      sqlite3_reset(stmt);
    }
    sqlite3_finalize(stmt);
    exec("COMMIT");
    // As after a server's own automatic checkpoints: the rows in the database file.
    exec("PRAGMA wal_checkpoint(TRUNCATE)");
    sqlite3_close(db);
  }

 private:
  std::string path_;
};

class PostgresFiller : public Filler {
 public:
  explicit PostgresFiller(std::string dsn) : dsn_(std::move(dsn)) {}

  void Add(Kind kind, int64_t from, int64_t to) override {
    signet::testing::PgConn conn(PQconnectdb(dsn_.c_str()));
    if (PQstatus(conn.get()) != CONNECTION_OK) {
      Die(absl::StrCat("cannot connect: ", PQerrorMessage(conn.get())));
    }
    auto exec = [&](const std::string& sql) {
      PGresult* r = PQexec(conn.get(), sql.c_str());
      const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
      PQclear(r);
      if (!ok) Die(absl::StrCat(sql.substr(0, 80), ": ", PQerrorMessage(conn.get())));
    };
    exec("BEGIN");
    const absl::Time now = absl::Now();
    const int64_t not_before = absl::ToUnixMicros(
        absl::Ceil(now - absl::UnixEpoch(), absl::Seconds(1)) + absl::UnixEpoch());
    const int64_t expires = absl::ToUnixMicros(now + kEntryLifetime);
    constexpr size_t kBatch = 2000;
    const std::vector<std::string> keys = EntryKeys(kind, from, to);
    for (size_t begin = 0; begin < keys.size(); begin += kBatch) {
      // Keys are base64url or [a-z0-9-]: nothing to quote.
      std::string sql = kind == Kind::kToken
                            ? "INSERT INTO token_revocations (token_id, expires_at) VALUES "
                            : "INSERT INTO subject_revocations (subject, not_before, expires_at) "
                              "VALUES ";
      for (size_t i = begin; i < std::min(keys.size(), begin + kBatch); ++i) {
        if (i != begin) sql += ",";
        if (kind == Kind::kToken) {
          absl::StrAppend(&sql, "('", keys[i], "',", expires, ")");
        } else {
          absl::StrAppend(&sql, "('", keys[i], "',", not_before, ",", expires, ")");
        }
      }
      exec(sql);
    }
    exec("COMMIT");
    exec(kind == Kind::kToken ? "ANALYZE token_revocations" : "ANALYZE subject_revocations");
  }

 private:
  std::string dsn_;
};

// ---- Measuring ----------------------------------------------------------------------------------

std::vector<std::string> IssueTokens(v1::TokenService::Stub* stub, int count) {
  std::vector<std::string> tokens;
  tokens.reserve(count);
  for (int i = 0; i < count; ++i) {
    v1::IssueTokenRequest request;
    request.set_subject(absl::StrCat("user-", i));
    request.add_audience("bench");
    v1::IssueTokenResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    grpc::Status s = stub->IssueToken(&context, request, &response);
    if (!s.ok()) Die("IssueToken: " + s.error_message());
    tokens.push_back(response.token());
  }
  return tokens;
}

CallSpec ValidateSpec(const std::string& token) {
  v1::ValidateTokenRequest request;
  request.set_token(token);
  request.set_audience("bench");
  return CallSpec{&MethodName(kValidateMethod), Serialized(request), Expect::kValid};
}

double CpuUsPerCall(const RunResult& r, const char* what) {
  if (r.unexpected != 0 || !r.errors.empty() || r.ok == 0) {
    Die(absl::StrCat(what, ": ", Summary(r)));
  }
  return r.server_cpu_s.value_or(0) * 1e6 / static_cast<double>(r.calls());
}

struct RevokeFigures {
  double p50_ms = 0;
  double cpu_us = 0;
};

RevokeFigures RevokeMore(v1::TokenService::Stub* stub, int pid, Kind kind, int count,
                         const std::string& tag) {
  std::vector<double> ms;
  ms.reserve(count);
  const std::optional<double> cpu0 = ThreadsCpuSeconds(pid);
  for (int i = 0; i < count; ++i) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    grpc::Status s;
    const SteadyClock::time_point t0 = SteadyClock::now();
    if (kind == Kind::kToken) {
      v1::RevokeTokenRequest request;
      request.set_token_id(signet::server::NewTokenId());
      v1::RevokeTokenResponse response;
      s = stub->RevokeToken(&context, request, &response);
    } else {
      v1::RevokeSubjectRequest request;
      request.set_subject(absl::StrCat("more-", tag, "-", i));
      v1::RevokeSubjectResponse response;
      s = stub->RevokeSubject(&context, request, &response);
    }
    ms.push_back(Seconds(SteadyClock::now() - t0) * 1e3);
    if (!s.ok()) Die("revoking: " + s.error_message());
  }
  const std::optional<double> cpu1 = ThreadsCpuSeconds(pid);
  RevokeFigures f;
  if (!ms.empty()) f.p50_ms = QuantilesOf(std::move(ms)).p50;
  if (cpu0 && cpu1) f.cpu_us = (*cpu1 - *cpu0) * 1e6 / count;
  return f;
}

struct Series {
  std::string store;  // "sqlite" or "postgres"
  Kind kind;
  std::string name() const { return absl::StrCat(store, " ", KindName(kind)); }
};

bool RunSeries(const Series& series, const std::vector<int64_t>& points, const std::string& root,
               const std::optional<std::string>& admin_dsn, CurveOutput* out) {
  const std::string dir = absl::StrCat(root, "/", series.store, "-", KindName(series.kind));
  std::filesystem::create_directories(dir);
  std::vector<std::string> args = {"--listen=127.0.0.1:0",
                                   "--http_listen=", "--audit_log=" + dir + "/audit.jsonl",
                                   "--drain_timeout=1s"};
  std::unique_ptr<TestDatabase> database;
  std::unique_ptr<Filler> filler;
  if (series.store == "postgres") {
    if (!admin_dsn) {
      std::printf("%s: skipped (SIGNET_TEST_POSTGRES_DSN is not set)\n", series.name().c_str());
      return true;
    }
    database = std::make_unique<TestDatabase>(*admin_dsn, "signet_bench_");
    if (!database->error().empty()) Die("cannot create a database: " + database->error());
    if (!WriteFile(dir + "/dsn", database->dsn()) ||
        !WriteFile(dir + "/kek", signet::testing::RandomHex(32))) {
      Die("cannot write into " + dir);
    }
    args.insert(args.end(), {"--store=postgres", "--postgres_dsn_file=" + dir + "/dsn",
                             "--kek_file=" + dir + "/kek"});
    filler = std::make_unique<PostgresFiller>(database->dsn());
  } else {
    args.push_back("--data_dir=" + dir + "/data");
    filler = std::make_unique<SqliteFiller>(dir + "/data/signet.db");
  }
  const std::string log = dir + "/server.log";
  ServerProcess server(absl::GetFlag(FLAGS_server));
  // The first start makes the schema.
  if (!StartServing(&server, args, log)) return false;
  server.Stop(kStopGrace);

  int64_t stored = 0;  // Entries of this kind in the store.
  for (int64_t n : points) {
    if (n > stored) {
      const SteadyClock::time_point t0 = SteadyClock::now();
      filler->Add(series.kind, stored, n);
      std::printf("%s: filled %lld entries in %.1f s\n", series.name().c_str(),
                  static_cast<long long>(n - stored),  // NOLINT(runtime/int)
                  Seconds(SteadyClock::now() - t0));
      std::fflush(stdout);
      stored = n;
    }
    std::optional<Started> started = StartServing(&server, args, log);
    if (!started) return false;
    const int64_t loaded = series.kind == Kind::kToken ? started->loaded.token_revocations
                                                       : started->loaded.subject_revocations;
    if (loaded != stored) {
      Die(absl::StrCat(series.name(), ": the server loaded ", loaded, " entries, ", stored,
                       " are stored"));
    }
    const int pid = server.pid();
    out->Add(series.name(), n, "startup_s", started->startup_s);
    // The new process's CPU so far: what start-up costs, whatever else the machine runs.
    out->Add(series.name(), n, "startup_cpu_s", ProcessCpuSeconds(pid).value_or(0));
    out->Add(series.name(), n, "rss_mib", ProcessRssMiB(pid).value_or(0));

    std::vector<std::shared_ptr<grpc::Channel>> channels = MakeChannels(server.target(), 2);
    auto stub = v1::TokenService::NewStub(channels[0]);
    Driver driver(channels, pid);

    std::vector<std::string> tokens = IssueTokens(stub.get(), absl::GetFlag(FLAGS_unique_tokens));
    std::vector<CallSpec> specs;
    specs.reserve(tokens.size());
    for (const std::string& t : tokens) specs.push_back(ValidateSpec(t));
    SpecsWorkload unique(std::move(specs), /*each_once=*/true);
    RunResult r = driver.RunClosed("validate_unique", &unique, /*concurrency=*/8,
                                   absl::ZeroDuration(), absl::Seconds(120));
    out->Add(series.name(), n, "validate_unique_cpu_us", CpuUsPerCall(r, "validate_unique"));

    FixedWorkload hot(ValidateSpec(tokens.front()));
    r = driver.RunClosed("validate_hot", &hot, /*concurrency=*/16, absl::Milliseconds(300),
                         absl::GetFlag(FLAGS_hot_duration));
    out->Add(series.name(), n, "validate_hot_cpu_us", CpuUsPerCall(r, "validate_hot"));

    const int revokes = absl::GetFlag(FLAGS_revokes);
    RevokeFigures revoke = RevokeMore(stub.get(), pid, series.kind, revokes, absl::StrCat(n));
    out->Add(series.name(), n, "revoke_p50_ms", revoke.p50_ms);
    out->Add(series.name(), n, "revoke_cpu_us", revoke.cpu_us);
    stored += revokes;

    std::printf("%s N=%lld: start-up %.3f s%s, RSS %.1f MiB, revoke p50 %.3f ms %.1f us CPU\n",
                series.name().c_str(), static_cast<long long>(n),  // NOLINT(runtime/int)
                started->startup_s, started->startup_s < kStartupTargetS ? "" : " (over 5 s)",
                ProcessRssMiB(pid).value_or(0), revoke.p50_ms, revoke.cpu_us);
    std::fflush(stdout);
    server.Stop(kStopGrace);
  }
  return true;
}

std::vector<std::string> List(const std::string& flag) {
  return absl::StrSplit(flag, ',', absl::SkipEmpty());
}

int Main() {
  std::vector<int64_t> points;
  for (const std::string& p : List(absl::GetFlag(FLAGS_points))) {
    int64_t n = 0;
    if (!absl::SimpleAtoi(p, &n) || n < 0 || (!points.empty() && n < points.back())) {
      Die("--points: non-negative numbers, ascending");
    }
    points.push_back(n);
  }
  std::vector<Series> all;
  for (const std::string& store : List(absl::GetFlag(FLAGS_stores))) {
    if (store != "sqlite" && store != "postgres") Die("--stores: sqlite, postgres");
    for (const std::string& kind : List(absl::GetFlag(FLAGS_kinds))) {
      if (kind != "token" && kind != "subject") Die("--kinds: token, subject");
      all.push_back({store, kind == "token" ? Kind::kToken : Kind::kSubject});
    }
  }
  ScratchDir root("signet-revocation-curve", absl::GetFlag(FLAGS_work_dir));
  if (!root.ok()) Die("mkdtemp in " + absl::GetFlag(FLAGS_work_dir));
  const std::optional<std::string> admin_dsn = signet::testing::TestPostgresDsn();
  CurveOutput out(absl::GetFlag(FLAGS_json_out));
  bool ok = true;
  for (const Series& s : all) {
    if (!RunSeries(s, points, root.path(), admin_dsn, &out)) {
      ok = false;
      break;
    }
  }
  out.PrintTable();
  if (!ok) root.Keep();  // Its logs.
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace signet::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("The cost of revoked entries to signet-server (curve revocations)");
  absl::ParseCommandLine(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  return signet::bench::Main();
}
