// Revocation propagation across replicas: three signet-server processes on one PostgreSQL
// database. Replica A revokes a token (RevokeToken, 100 times), then the key that signs (RevokeKey
// of the ACTIVE key, 100 times), and the benchmark measures how long until replicas B and C refuse
// it. B and C are watched through WatchKeys streams: a replica sends a change on its streams only
// after it has published the snapshot that refuses the token, so the arrival time of the message
// bounds the moment it refuses from above. Every revocation is then checked with ValidateToken on
// B and C (REASON_TOKEN_REVOKED or REASON_KEY_REVOKED). A token revocation travels in its NOTIFY
// payload; a key change makes each replica reload the keys (one more query).
//
//   build/bench/propagation_bench [--revocations=100]
//
// PostgreSQL: the server SIGNET_TEST_POSTGRES_DSN names (a database of its own is created and
// dropped), or else a private instance started with scripts/postgres-test-instance.sh in a
// temporary folder (as scripts/test.sh does) and stopped at the end.
#include <fcntl.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "grpcpp/grpcpp.h"
#include "rapidjson/document.h"
#include "signet/v1/token_service.grpc.pb.h"
#include "tests/support/postgres_admin.h"

namespace {

namespace v1 = ::signet::v1;
using Clock = std::chrono::steady_clock;
using ::signet::testing::AdminSql;
using ::signet::testing::RandomHex;
using ::signet::testing::WithDatabase;

constexpr int kReplicas = 3;
constexpr auto kWaitLimit = std::chrono::seconds(5);

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool WriteFile(const std::string& path, const std::string& content) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  bool ok = write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size());
  close(fd);
  return ok;
}

// Removes a folder and everything in it on destruction.
struct RemovedAtExit {
  ~RemovedAtExit() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string path;
};

// The database the replicas share, and how to give it back.
class Postgres {
 public:
  ~Postgres() {
    if (!database_.empty())
      AdminSql(admin_dsn_, "DROP DATABASE IF EXISTS " + database_ + " WITH (FORCE)");
    if (!instance_dir_.empty()) {
      Script("stop");
      std::error_code ec;
      std::filesystem::remove_all(instance_dir_, ec);
    }
  }

  bool Open(const std::string& work_dir) {
    const char* env = std::getenv("SIGNET_TEST_POSTGRES_DSN");
    if (env != nullptr && *env != '\0') {
      admin_dsn_ = env;
      const std::string name = "signet_bench_" + RandomHex(8);
      std::string created = AdminSql(admin_dsn_, "CREATE DATABASE " + name);
      if (!created.empty()) {
        std::fprintf(stderr, "cannot create database %s: %s\n", name.c_str(), created.c_str());
        return false;
      }
      database_ = name;
      dsn_ = WithDatabase(admin_dsn_, database_);
      std::printf("PostgreSQL: SIGNET_TEST_POSTGRES_DSN, database %s\n", database_.c_str());
      return true;
    }
    // The server runs as the `postgres` user when this runs as root: it must reach its folder.
    chmod(work_dir.c_str(), 0711);
    instance_dir_ = work_dir + "/pg";
    if (!Script("start")) return false;
    const std::string env_file = ReadFile(instance_dir_ + "/env");
    const std::string prefix = "export SIGNET_TEST_POSTGRES_DSN='";
    size_t begin = env_file.find(prefix);
    size_t end = begin == std::string::npos ? begin : env_file.find('\'', begin + prefix.size());
    if (end == std::string::npos) {
      std::fprintf(stderr, "no DSN in %s/env\n", instance_dir_.c_str());
      return false;
    }
    dsn_ = env_file.substr(begin + prefix.size(), end - begin - prefix.size());
    std::printf("PostgreSQL: a private instance in %s\n", instance_dir_.c_str());
    return true;
  }

  const std::string& dsn() const { return dsn_; }

 private:
  bool Script(const std::string& command) {
    std::string line =
        absl::StrCat("bash '", SIGNET_SOURCE_DIR, "/scripts/postgres-test-instance.sh' ", command,
                     " '", instance_dir_, "' >'", instance_dir_, ".out' 2>&1");
    if (std::system(line.c_str()) != 0) {
      std::fprintf(stderr, "postgres-test-instance.sh %s failed:\n%s\n", command.c_str(),
                   ReadFile(instance_dir_ + ".out").c_str());
      return false;
    }
    return true;
  }

  std::string admin_dsn_;
  std::string database_;
  std::string instance_dir_;
  std::string dsn_;
};

// One signet-server child process; its port comes from its "server_started" log line.
class Replica {
 public:
  ~Replica() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }

  bool Start(const std::vector<std::string>& args, const std::string& log_path) {
    const std::string binary = std::string(SIGNET_BINARY_DIR) + "/server/signet-server";
    pid_ = fork();
    if (pid_ == 0) {
      int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
      }
      std::vector<std::string> copy = args;
      std::vector<char*> argv;
      argv.push_back(const_cast<char*>(binary.c_str()));
      for (std::string& a : copy) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(binary.c_str(), argv.data());
      _exit(127);
    }
    const auto deadline = Clock::now() + std::chrono::seconds(30);
    while (Clock::now() < deadline) {
      for (absl::string_view line : absl::StrSplit(ReadFile(log_path), '\n')) {
        rapidjson::Document doc;
        doc.Parse(line.data(), line.size());
        if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("event") ||
            !doc["event"].IsString() || std::string(doc["event"].GetString()) != "server_started" ||
            !doc.HasMember("port") || !doc["port"].IsInt()) {
          continue;
        }
        port_ = doc["port"].GetInt();
        return true;
      }
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::fprintf(stderr, "signet-server did not start:\n%s\n", ReadFile(log_path).c_str());
    return false;
  }

  int port() const { return port_; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
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

// Nearest-rank percentile of sorted values.
double Percentile(const std::vector<double>& sorted, double p) {
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::max<size_t>(rank, 1) - 1];
}

void Report(const char* what, std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  std::printf("%-44s p50 %7.2f ms   p99 %7.2f ms   max %7.2f ms\n", what, Percentile(ms, 50),
              Percentile(ms, 99), ms.back());
}

// Delays of one kind of revocation, in milliseconds.
struct Delays {
  std::vector<double> commit;  // The call acknowledged by A (committed).
  std::vector<double> b;       // Replica B refuses.
  std::vector<double> c;       // Replica C refuses.
  std::vector<double> fleet;   // Both refuse: the later of the two.

  void Print(const char* call) const {
    Report(absl::StrCat(call, " acknowledged by A (committed)").c_str(), commit);
    Report("replica B refuses", b);
    Report("replica C refuses", c);
    Report("both B and C refuse (the later of the two)", fleet);
    std::vector<double> sorted = fleet;
    std::sort(sorted.begin(), sorted.end());
    std::printf("target p99 < 100 ms: %s\n", Percentile(sorted, 99) < 100.0 ? "met" : "MISSED");
  }
};

std::unique_ptr<grpc::ClientContext> Context() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return context;
}

int Run(int revocations) {
  char dir_template[] = "/tmp/signet-propagation-XXXXXX";
  if (mkdtemp(dir_template) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  const std::string dir = dir_template;
  RemovedAtExit removed{dir};
  {
    Postgres postgres;
    if (!postgres.Open(dir)) return 1;
    if (!WriteFile(dir + "/kek", RandomHex(32)) || !WriteFile(dir + "/dsn", postgres.dsn())) {
      std::fprintf(stderr, "cannot write into %s\n", dir.c_str());
      return 1;
    }
    std::vector<std::unique_ptr<Replica>> replicas;
    std::vector<std::unique_ptr<v1::TokenService::Stub>> stubs;
    for (int i = 0; i < kReplicas; ++i) {
      replicas.push_back(std::make_unique<Replica>());
      if (!replicas.back()->Start({"--store=postgres", "--postgres_dsn_file=" + dir + "/dsn",
                                   "--kek_file=" + dir + "/kek", "--http_listen=",
                                   "--listen=127.0.0.1:0", "--audit_log=" + dir + "/audit.jsonl"},
                                  absl::StrCat(dir, "/replica-", i, ".log"))) {
        return 1;
      }
      stubs.push_back(v1::TokenService::NewStub(
          grpc::CreateChannel(absl::StrCat("127.0.0.1:", replicas.back()->port()),
                              grpc::InsecureChannelCredentials())));
    }
    v1::TokenService::Stub* a = stubs[0].get();
    Watcher b(stubs[1].get());
    Watcher c(stubs[2].get());
    if (!b.Start() || !c.Start()) {
      std::fprintf(stderr, "cannot open the WatchKeys streams\n");
      return 1;
    }

    // Issues a token on A, revokes it (or the key that signed it) on A, and notes when B and C
    // have it; then checks that both refuse the token for that reason.
    int not_refused = 0;
    auto measure = [&](Watcher::Kind kind, int count) -> std::optional<Delays> {
      Delays delays;
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
        std::optional<Clock::time_point> at_b = b.WaitFor(kind, id);
        std::optional<Clock::time_point> at_c = c.WaitFor(kind, id);
        if (!at_b || !at_c) {
          std::fprintf(stderr, "revocation %d did not reach %s within 5 s\n", i,
                       !at_b ? "replica B" : "replica C");
          return std::nullopt;
        }
        delays.commit.push_back(Millis(acknowledged - sent));
        delays.b.push_back(Millis(*at_b - sent));
        delays.c.push_back(Millis(*at_c - sent));
        delays.fleet.push_back(Millis(std::max(*at_b, *at_c) - sent));
        const v1::Reason expected = token ? v1::REASON_TOKEN_REVOKED : v1::REASON_KEY_REVOKED;
        for (v1::TokenService::Stub* stub : {stubs[1].get(), stubs[2].get()}) {
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

    std::optional<Delays> tokens = measure(Watcher::Kind::kToken, revocations);
    if (!tokens) return 1;
    std::optional<Delays> keys = measure(Watcher::Kind::kKey, revocations);
    if (!keys) return 1;

    std::printf("\n%d RevokeToken calls on replica A; delays from sending each call:\n",
                revocations);
    tokens->Print("RevokeToken");
    std::printf("\n%d RevokeKey calls (the ACTIVE key) on replica A; delays from sending each:\n",
                revocations);
    keys->Print("RevokeKey");
    std::printf("\ntokens B or C did not refuse afterwards: %d (must be 0)\n", not_refused);
    return not_refused == 0 ? 0 : 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  int revocations = 100;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (absl::ConsumePrefix(&arg, "--revocations=") && absl::SimpleAtoi(arg, &revocations) &&
        revocations > 0) {
      continue;
    }
    std::fprintf(stderr, "usage: %s [--revocations=N]\n", argv[0]);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  return Run(revocations);
}
