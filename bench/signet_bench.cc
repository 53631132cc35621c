// signet-bench: a load generator for signet-server (and the floor of the gRPC stack under it).
//
// Example (a server already running on 127.0.0.1:50051 with pid $PID):
//   signet-bench --scenario=validate_hot --concurrency=32 --channels=4 --server_pid=$PID
//   signet-bench --compare=validate_hot,health --rounds=6 --server_pid=$PID
//   signet-bench --scenario=validate_hot --mode=half --server_pid=$PID   # p99 at half the max
//
// Calls go through gRPC's callback API on generic stubs with pre-serialized requests, so the
// client spends as little as it can of the CPU it shares with the server. Each of the --channels
// channels has its own subchannel pool (GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL), hence its own TCP
// connection.
//
// Modes:
//   closed  --concurrency calls outstanding at all times, spread over --channels channels.
//   open    a fixed --rate; latency counts from each call's intended send time, so a stalled
//           server shows up in the percentiles (no coordinated omission).
//   half    closed loop to find the maximum sustained QPS, then open loop at half of it.
// Compare (--compare=A,B): runs A and B alternately (A B B A A B ...) for --rounds rounds on the
// same server (or B on --target_b), and prints the median and spread of the per-round ratios;
// closed loop, or with --mode=open both at --rate (to compare tails at one rate).
//
// Scenarios:
//   health             grpc.health.v1.Health/Check (the floor).
//   validate_hot       ValidateToken of one token (cache hits once warm).
//   check_hot          envoy.service.auth.v3.Authorization/Check of one token, shaped as Envoy's
//                      ext_authz filter sends it (the gateway decision; cache hits once warm).
//   validate_distinct  ValidateToken of --tokens distinct pre-issued tokens, drawn at random.
//   validate_unique    ValidateToken of pre-issued tokens each used once (no cache hit can
//                      happen); --tokens bounds the run.
//   issue              IssueToken.
//   mix                95% validate_distinct, 5% issue.
//   storm              validate_distinct while RevokeToken (--storm_token_rate per second) and
//                      RevokeKey of the pending key (every --storm_key_period) run alongside.
//   codec_bound        in process, no server: TokenVerifier::Verify of a server-shaped token of
//                      --algorithm on --bound_threads threads: the bound that signature
//                      verification sets (reported as calls/s, to compare with QPS).
//   sign_bound         in process, no server: SignToken of an IssueToken-shaped token on
//                      --bound_threads threads (the bound signing sets).
//   revoke_load        --count RevokeToken(token_id) calls at --concurrency; reports the server's
//                      RSS before and after.
//   greeter_hello_token / greeter_hello_anonymous
//                      the example greeter's SayHello (--target: the greeter) with a token
//                      issued by --issuer_target, or without one: the interceptor's cost.
//   revocation_memory  in process, no server: the RSS and lookup time of a RevocationSet holding
//                      --count revoked token ids, against an empty one.
//
// Every run prints one "RESULT" line of key=value pairs (for scripts) after a readable summary.
// Traffic goes only to loopback addresses: other targets are refused.
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cinttypes>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/load/driver.h"
#include "bench/load/process_figures.h"
#include "bench/load/run_result.h"
#include "bench/load/workload.h"
#include "envoy/service/auth/v3/external_auth.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/support/byte_buffer.h"
#include "signet/key_set.h"
#include "signet/revocation_set.h"
#include "signet/token_verifier.h"
#include "signet/v1/token_service.grpc.pb.h"
#include "token/signing/signing_key.h"
#include "token/signing/token_signer.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "signet-server address (loopback only)");
ABSL_FLAG(std::string, issuer_target, "",
          "Greeter scenarios: the signet server that issues the tokens (loopback only)");
ABSL_FLAG(std::string, target_b, "", "Compare mode: B runs against this server (default: target)");
ABSL_FLAG(int, server_pid, 0, "PID of the server at --target, for its CPU time and RSS");
ABSL_FLAG(int, server_pid_b, 0, "PID of the server at --target_b");
ABSL_FLAG(std::string, scenario, "health", "See the file comment");
ABSL_FLAG(std::string, mode, "closed", "closed, open or half");
ABSL_FLAG(int, concurrency, 32, "Closed loop: calls outstanding");
ABSL_FLAG(int, channels, 4, "Channels (each its own connection)");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10), "Measured time per run");
ABSL_FLAG(absl::Duration, warmup, absl::Seconds(2), "Unmeasured time before each run");
ABSL_FLAG(double, rate, 1000, "Open loop: calls per second");
ABSL_FLAG(std::string, load_fractions, "0.5",
          "Mode half: open-loop rates as fractions of the closed-loop maximum");
ABSL_FLAG(int, max_outstanding, 20000, "Open loop: sends beyond this many in flight are skipped");
ABSL_FLAG(std::string, compare, "", "A,B: alternate two scenarios and report QPS(A)/QPS(B)");
ABSL_FLAG(int, rounds, 6, "Compare mode: rounds (each runs A and B once)");
ABSL_FLAG(int, tokens, 100000, "validate_distinct/validate_unique/mix/storm: tokens to pre-issue");
ABSL_FLAG(std::string, audience, "orders", "Audience of issued tokens (and checked on validate)");
ABSL_FLAG(bool, caller_claims, false, "Issue tokens with two caller claims");
ABSL_FLAG(double, storm_token_rate, 500, "storm: RevokeToken calls per second");
ABSL_FLAG(absl::Duration, storm_key_period, absl::Seconds(1), "storm: RevokeKey period");
ABSL_FLAG(int64_t, count, 1000000, "revoke_load / revocation_memory: revoked token ids");
ABSL_FLAG(std::string, algorithm, "EdDSA", "codec_bound: EdDSA, ES256 or HS256");
ABSL_FLAG(int, bound_threads, 2, "codec_bound: threads verifying");

namespace signet::bench {
namespace {

using signet::v1::IssueTokenRequest;
using signet::v1::IssueTokenResponse;

constexpr char kHealthMethod[] = "/grpc.health.v1.Health/Check";
constexpr char kValidateMethod[] = "/signet.v1.TokenService/ValidateToken";
constexpr char kCheckMethod[] = "/envoy.service.auth.v3.Authorization/Check";
constexpr char kIssueMethod[] = "/signet.v1.TokenService/IssueToken";
constexpr char kRevokeTokenMethod[] = "/signet.v1.TokenService/RevokeToken";
constexpr char kGreeterHelloMethod[] = "/signet.examples.Greeter/SayHello";

// ---- Setting a server up ------------------------------------------------------------------------

IssueTokenRequest MakeIssueRequest(uint64_t n) {
  IssueTokenRequest request;
  request.set_subject(absl::StrCat("user-", 1000000 + n % 1000000));
  request.set_backend("django.contrib.auth.backends.ModelBackend");
  request.add_audience(absl::GetFlag(FLAGS_audience));
  if (absl::GetFlag(FLAGS_caller_claims)) {
    auto& fields = *request.mutable_claims()->mutable_fields();
    fields["role"].set_string_value("admin");
    fields["tenant"].set_string_value("acme");
  }
  return request;
}

// Issues `count` tokens with `concurrency` calls in flight (typed callback stubs).
std::vector<std::string> IssueTokens(const std::vector<std::shared_ptr<grpc::Channel>>& channels,
                                     int count, int concurrency) {
  std::vector<std::unique_ptr<signet::v1::TokenService::Stub>> stubs;
  for (const auto& c : channels) stubs.push_back(signet::v1::TokenService::NewStub(c));
  std::vector<std::string> tokens(count);
  std::atomic<int> next{0};
  std::atomic<int> failures{0};
  std::mutex mu;
  std::condition_variable cv;
  int running = 0;
  struct Call {
    grpc::ClientContext context;
    IssueTokenRequest request;
    IssueTokenResponse response;
    int index;
  };
  std::function<void(int)> start = [&](int worker) {
    const int index = next.fetch_add(1);
    if (index >= count || failures.load() > 100) {
      std::lock_guard<std::mutex> lock(mu);
      if (--running == 0) cv.notify_all();
      return;
    }
    auto* call = new Call;
    call->index = index;
    call->request = MakeIssueRequest(index);
    call->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    stubs[worker % stubs.size()]->async()->IssueToken(
        &call->context, &call->request, &call->response, [&, call, worker](grpc::Status s) {
          if (s.ok()) {
            tokens[call->index] = call->response.token();
          } else {
            if (failures.fetch_add(1) < 3) {
              std::fprintf(stderr, "IssueToken failed: %s\n", s.error_message().c_str());
            }
          }
          delete call;
          start(worker);
        });
  };
  running = concurrency;
  for (int w = 0; w < concurrency; ++w) start(w);
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return running == 0; });
  if (failures.load() > 0) Die(absl::StrCat(failures.load(), " IssueToken calls failed"));
  return tokens;
}

CallSpec ValidateSpec(const std::string& token) {
  signet::v1::ValidateTokenRequest request;
  request.set_token(token);
  request.set_audience(absl::GetFlag(FLAGS_audience));
  request.set_any_audience(request.audience().empty());
  return CallSpec{&MethodName(kValidateMethod), Serialized(request), Expect::kValid};
}

// A CheckRequest as Envoy's ext_authz HTTP filter sends it: the request's attributes with its
// lower-case headers, the bearer token among them.
CallSpec CheckSpec(const std::string& token) {
  envoy::service::auth::v3::CheckRequest request;
  auto* http = request.mutable_attributes()->mutable_request()->mutable_http();
  http->set_id("8455236405311562521");
  http->set_method("GET");
  http->set_host("shop.example.com");
  http->set_path("/orders/42?expand=items");
  http->set_scheme("https");
  http->set_protocol("HTTP/1.1");
  auto& headers = *http->mutable_headers();
  headers[":authority"] = "shop.example.com";
  headers[":method"] = "GET";
  headers[":path"] = "/orders/42?expand=items";
  headers[":scheme"] = "https";
  headers["accept"] = "application/json";
  headers["user-agent"] = "Mozilla/5.0 (X11; Linux x86_64)";
  headers["x-forwarded-proto"] = "https";
  headers["x-request-id"] = "0d9c6a8e-4a1f-4f55-9b53-0c2b7c3e7d11";
  headers["authorization"] = "Bearer " + token;
  return CallSpec{&MethodName(kCheckMethod), Serialized(request), Expect::kAllowed};
}

CallSpec HealthSpec() {
  // HealthCheckRequest{service: ""} serializes to zero bytes.
  return CallSpec{&MethodName(kHealthMethod), grpc::Slice(std::string()), Expect::kServing};
}

CallSpec IssueSpec() {
  return CallSpec{&MethodName(kIssueMethod), Serialized(MakeIssueRequest(7)), Expect::kAny};
}

// Tokens issued once per target and scenario family, shared by later runs and rounds.
class TokenPool {
 public:
  // True the first time it is asked: the caller then validates every token once, so that runs
  // start with the server's cache as warm as steady traffic would leave it.
  bool NeedsPriming() { return !std::exchange(primed_, true); }

  const std::vector<std::string>& Get(const std::vector<std::shared_ptr<grpc::Channel>>& channels,
                                      int count) {
    if (static_cast<int>(tokens_.size()) < count) {
      const int64_t t0 = NowNs();
      std::vector<std::string> more =
          IssueTokens(channels, count - static_cast<int>(tokens_.size()), 32);
      tokens_.insert(tokens_.end(), more.begin(), more.end());
      std::fprintf(stderr, "issued %d tokens in %.1f s\n", count, (NowNs() - t0) / 1e9);
    }
    return tokens_;
  }

 private:
  std::vector<std::string> tokens_;
  bool primed_ = false;
};

std::unique_ptr<Workload> MakeWorkload(const std::string& scenario,
                                       const std::vector<std::shared_ptr<grpc::Channel>>& channels,
                                       TokenPool* pool) {
  const int tokens = absl::GetFlag(FLAGS_tokens);
  if (scenario == "health") return std::make_unique<FixedWorkload>(HealthSpec());
  if (scenario == "issue") return std::make_unique<FixedWorkload>(IssueSpec());
  if (scenario == "validate_hot") {
    return std::make_unique<FixedWorkload>(ValidateSpec(pool->Get(channels, 1).front()));
  }
  if (scenario == "check_hot") {
    return std::make_unique<FixedWorkload>(CheckSpec(pool->Get(channels, 1).front()));
  }
  if (scenario == "validate_distinct" || scenario == "storm" || scenario == "mix") {
    const std::vector<std::string>& all = pool->Get(channels, tokens);
    std::vector<CallSpec> specs;
    specs.reserve(tokens);
    for (int i = 0; i < tokens; ++i) specs.push_back(ValidateSpec(all[i]));
    if (pool->NeedsPriming()) {
      SpecsWorkload once(specs, /*each_once=*/true);
      Driver(channels, 0).RunClosed("prime", &once, 32, absl::ZeroDuration(), absl::Hours(1));
    }
    auto distinct = std::make_unique<SpecsWorkload>(std::move(specs), /*each_once=*/false);
    if (scenario == "mix") return std::make_unique<MixWorkload>(std::move(distinct), IssueSpec());
    return distinct;
  }
  if (scenario == "greeter_hello_token" || scenario == "greeter_hello_anonymous") {
    // The example greeter's OPTIONAL method, with a valid token (the interceptor validates it) or
    // with none. SayHelloRequest{} serializes to zero bytes.
    CallSpec spec{&MethodName(kGreeterHelloMethod), grpc::Slice(std::string()),
                  Expect::kGreetedAnonymous};
    if (scenario == "greeter_hello_token") {
      spec.authorization = "Bearer " + pool->Get(channels, 1).front();
      spec.expect = Expect::kGreetedUser;
    }
    return std::make_unique<FixedWorkload>(std::move(spec));
  }
  if (scenario == "validate_unique") {
    // Fresh tokens every time: none was ever validated, so none can hit a cache.
    std::vector<std::string> fresh = IssueTokens(channels, tokens, 32);
    std::vector<CallSpec> specs;
    specs.reserve(tokens);
    for (const std::string& t : fresh) specs.push_back(ValidateSpec(t));
    return std::make_unique<SpecsWorkload>(std::move(specs), /*each_once=*/true);
  }
  Die("unknown scenario " + scenario);
}

// RevokeToken of random ids and RevokeKey of the pending key, alongside a run.
class Storm {
 public:
  Storm(std::shared_ptr<grpc::Channel> channel, double token_rate, absl::Duration key_period)
      : stub_(signet::v1::TokenService::NewStub(channel)),
        token_rate_(token_rate),
        key_period_(key_period) {
    thread_ = std::thread([this] { Run(); });
  }
  ~Storm() {
    stop_.store(true);
    thread_.join();
    std::fprintf(stderr,
                 "storm: %" PRIu64 " RevokeToken, %" PRIu64 " RevokeKey, %" PRIu64 " failed\n",
                 tokens_.load(), keys_.load(), failures_.load());
  }
  uint64_t token_revocations() const { return tokens_.load(); }
  uint64_t key_revocations() const { return keys_.load(); }

 private:
  void Run() {
    std::mt19937_64 rng(std::random_device{}());
    const int64_t token_interval = static_cast<int64_t>(1e9 / token_rate_);
    const int64_t key_interval = absl::ToInt64Nanoseconds(key_period_);
    int64_t next_token = NowNs();
    int64_t next_key = NowNs() + key_interval;
    while (!stop_.load()) {
      if (NowNs() >= next_key) {
        next_key += key_interval;
        RevokePendingKey();
      }
      SleepUntilNs(next_token);
      next_token += token_interval;
      signet::v1::RevokeTokenRequest request;
      request.set_token_id(absl::StrFormat("storm-%016x%016x", rng(), rng()));
      signet::v1::RevokeTokenResponse response;
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      if (stub_->RevokeToken(&context, request, &response).ok()) {
        tokens_.fetch_add(1);
      } else {
        failures_.fetch_add(1);
      }
    }
  }

  void RevokePendingKey() {
    grpc::ClientContext list_context;
    signet::v1::ListKeysRequest list;
    signet::v1::ListKeysResponse keys;
    if (!stub_->ListKeys(&list_context, list, &keys).ok()) {
      failures_.fetch_add(1);
      return;
    }
    for (const signet::v1::Key& key : keys.keys()) {
      if (key.state() != signet::v1::KEY_STATE_PENDING) continue;
      grpc::ClientContext context;
      signet::v1::RevokeKeyRequest request;
      request.set_key_id(key.key_id());
      request.set_reason("signet-bench storm");
      signet::v1::RevokeKeyResponse response;
      if (stub_->RevokeKey(&context, request, &response).ok()) {
        keys_.fetch_add(1);
      } else {
        failures_.fetch_add(1);
      }
      return;
    }
  }

  std::unique_ptr<signet::v1::TokenService::Stub> stub_;
  const double token_rate_;
  const absl::Duration key_period_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> tokens_{0}, keys_{0}, failures_{0};
  std::thread thread_;
};

// ---- In-process scenarios -----------------------------------------------------------------------

// Runs `op` on `threads` threads (each gets its own from `make_op`) for `warmup`, then counts the
// calls made during `duration`: calls per second, and this process's CPU time.
RunResult RunOnThreads(const std::string& name, int threads, absl::Duration warmup,
                       absl::Duration duration,
                       const std::function<std::function<void()>()>& make_op) {
  std::atomic<int> phase{0};  // 0 warm-up, 1 measure, 2 stop
  std::vector<uint64_t> counts(threads, 0);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t, op = make_op()] {
      uint64_t n = 0;
      int seen = 0;
      while ((seen = phase.load(std::memory_order_relaxed)) < 2) {
        op();
        if (seen == 1) ++n;
      }
      counts[t] = n;
    });
  }
  SleepUntilNs(NowNs() + absl::ToInt64Nanoseconds(warmup));
  const double self0 = SelfCpuSeconds();
  const int64_t t0 = NowNs();
  phase.store(1);
  SleepUntilNs(t0 + absl::ToInt64Nanoseconds(duration));
  phase.store(2);
  const int64_t t1 = NowNs();
  for (std::thread& w : workers) w.join();
  RunResult r;
  r.name = name;
  r.seconds = (t1 - t0) / 1e9;
  for (uint64_t c : counts) r.ok += c;
  r.qps = static_cast<double>(r.ok) / r.seconds;
  r.client_cpu_s = SelfCpuSeconds() - self0;
  return r;
}

// A signing key of --algorithm, or the process dies.
std::unique_ptr<signet::server::SigningKey> BenchKey(const std::string& algorithm_name) {
  absl::StatusOr<signet::Algorithm> alg = signet::AlgorithmFromName(algorithm_name);
  if (!alg.ok()) Die("unknown --algorithm " + algorithm_name);
  auto key = signet::server::SigningKey::Generate(*alg);
  if (!key.ok()) Die("key generation failed");
  return *std::move(key);
}

// Claims shaped like an IssueToken of the load scenarios, issued at `now` for an hour.
signet::server::TokenClaims BenchClaims(absl::Time now) {
  signet::server::TokenClaims claims;
  claims.issuer = "signet";
  claims.subject = "user-1000007";
  claims.backend = "django.contrib.auth.backends.ModelBackend";
  claims.audiences = {absl::GetFlag(FLAGS_audience)};
  claims.issued_at = absl::FromUnixSeconds(absl::ToUnixSeconds(now));
  claims.expires_at = claims.issued_at + absl::Hours(1);
  claims.token_id = signet::server::NewTokenId();
  if (absl::GetFlag(FLAGS_caller_claims)) {
    claims.caller_claims_json = R"({"role":"admin","tenant":"acme"})";
  }
  return claims;
}

// The bound signature verification sets: full TokenVerifier::Verify calls per second of a token
// shaped like the server's, on `threads` threads.
RunResult CodecBound(const std::string& algorithm_name, int threads, absl::Duration warmup,
                     absl::Duration duration) {
  const std::unique_ptr<signet::server::SigningKey> key = BenchKey(algorithm_name);
  const absl::Time now = absl::Now();
  absl::StatusOr<std::string> token = signet::server::SignToken(*key, BenchClaims(now));
  if (!token.ok()) Die("signing failed");
  const signet::KeySet keys = signet::KeySet::Builder().Add(key->verify_key()).Build();
  signet::ValidationPolicy policy;
  policy.issuer = "signet";
  const signet::TokenVerifier verifier = *signet::TokenVerifier::Create(policy);
  const signet::RevocationSet revocations;
  const std::string audience = absl::GetFlag(FLAGS_audience);
  const signet::Audience expected =
      audience.empty() ? signet::Audience::Any() : signet::Audience::Expect(audience);
  if (!verifier.Verify(*token, keys, &revocations, now, expected).valid()) {
    Die("codec_bound: the token does not verify");
  }
  return RunOnThreads(absl::StrCat("codec_bound/", algorithm_name, "/", threads, "t"), threads,
                      warmup, duration, [&]() -> std::function<void()> {
                        return [&] {
                          if (!verifier.Verify(*token, keys, &revocations, now, expected).valid())
                            std::abort();
                        };
                      });
}

// The bound signing sets: SignToken calls per second of an IssueToken-shaped token (fresh jti
// each time) with a key of --algorithm, on `threads` threads.
RunResult SignBound(const std::string& algorithm_name, int threads, absl::Duration warmup,
                    absl::Duration duration) {
  const std::unique_ptr<signet::server::SigningKey> key = BenchKey(algorithm_name);
  return RunOnThreads(absl::StrCat("sign_bound/", algorithm_name, "/", threads, "t"), threads,
                      warmup, duration, [&]() -> std::function<void()> {
                        // Per thread: only the times and the jti change from one token to the next.
                        return [&key, claims = BenchClaims(absl::Now())]() mutable {
                          claims.issued_at =
                              absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()));
                          claims.expires_at = claims.issued_at + absl::Hours(1);
                          claims.token_id = signet::server::NewTokenId();
                          if (!signet::server::SignToken(*key, claims).ok()) std::abort();
                        };
                      });
}

void RevocationMemory(int64_t count) {
  const double rss0 = ProcessRssMiB(0).value_or(0);
  std::vector<signet::RevocationSet::TokenEntry> entries;
  entries.reserve(count);
  const absl::Time expires = absl::Now() + absl::Hours(24);
  for (int64_t i = 0; i < count; ++i) {
    // The shape signet mints: 16 random bytes, base64url.
    entries.push_back({signet::server::NewTokenId(), expires});
  }
  const double rss_entries = ProcessRssMiB(0).value_or(0);
  const signet::RevocationSet empty;
  const signet::RevocationSet full = empty.WithEntries(entries, {});
  const double rss_full = ProcessRssMiB(0).value_or(0);
  // Lookups of ids that are not revoked (the common case), in the empty and the full set.
  std::vector<std::string> probes;
  for (int i = 0; i < 4096; ++i) probes.push_back(signet::server::NewTokenId());
  auto time_lookups = [&](const signet::RevocationSet& set) {
    const absl::Time now = absl::Now();
    uint64_t hits = 0;
    const int rounds = 200;
    const int64_t t0 = NowNs();
    for (int r = 0; r < rounds; ++r) {
      for (const std::string& p : probes) hits += set.IsTokenRevoked(p, now);
    }
    const double ns = static_cast<double>(NowNs() - t0) / (rounds * probes.size());
    if (hits != 0) Die("unexpected hit");
    return ns;
  };
  double empty_ns = 1e18, full_ns = 1e18;
  for (int i = 0; i < 5; ++i) {
    empty_ns = std::min(empty_ns, time_lookups(empty));
    full_ns = std::min(full_ns, time_lookups(full));
  }
  entries.clear();
  entries.shrink_to_fit();
  std::printf("revocation_memory: %" PRId64
              " token ids: set RSS +%.1f MiB (the input vector took %.1f "
              "MiB); lookup of a non-revoked id %.0f ns (empty set %.0f ns); token_count=%zu\n",
              count, rss_full - rss_entries, rss_entries - rss0, full_ns, empty_ns,
              full.token_count());
  std::printf("RESULT name=revocation_memory count=%" PRId64
              " set_rss_mib=%.1f lookup_full_ns=%.1f lookup_empty_ns=%.1f\n",
              count, rss_full - rss_entries, full_ns, empty_ns);
}

void RevokeLoad(const std::string& target, int server_pid, int64_t count, int concurrency,
                int channels) {
  auto chans = MakeChannels(target, channels);
  const std::optional<double> rss0 = ProcessRssMiB(server_pid);
  std::vector<CallSpec> specs;
  specs.reserve(count);
  for (int64_t i = 0; i < count; ++i) {
    signet::v1::RevokeTokenRequest request;
    request.set_token_id(signet::server::NewTokenId());
    specs.push_back(CallSpec{&MethodName(kRevokeTokenMethod), Serialized(request), Expect::kAny});
  }
  SpecsWorkload workload(std::move(specs), /*each_once=*/true);
  Driver driver(chans, server_pid);
  const int64_t t0 = NowNs();
  RunResult r = driver.RunClosed("revoke_load", &workload, concurrency, absl::ZeroDuration(),
                                 absl::Hours(10));
  const double seconds = (NowNs() - t0) / 1e9;
  const std::optional<double> rss1 = ProcessRssMiB(server_pid);
  std::printf("%s\n", Summary(r).c_str());
  std::printf(
      "revoke_load: %" PRId64 " RevokeToken in %.1f s; server RSS %.1f -> %.1f MiB (+%.1f)\n",
      count, seconds, rss0.value_or(0), rss1.value_or(0), rss1.value_or(0) - rss0.value_or(0));
  PrintResultLine(r, absl::StrFormat(" rss_before_mib=%.1f rss_after_mib=%.1f", rss0.value_or(0),
                                     rss1.value_or(0)));
}

// ---- Runs ---------------------------------------------------------------------------------------

struct Target {
  std::string address;
  int pid = 0;
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  TokenPool pool;
  // Where tokens are issued (a signet server); this target itself when null.
  Target* issuer = nullptr;
};

RunResult RunScenario(const std::string& scenario, Target* target, const std::string& mode,
                      double rate) {
  const absl::Duration warmup = absl::GetFlag(FLAGS_warmup);
  const absl::Duration duration = absl::GetFlag(FLAGS_duration);
  if (scenario == "codec_bound") {
    return CodecBound(absl::GetFlag(FLAGS_algorithm), absl::GetFlag(FLAGS_bound_threads), warmup,
                      duration);
  }
  if (scenario == "sign_bound") {
    return SignBound(absl::GetFlag(FLAGS_algorithm), absl::GetFlag(FLAGS_bound_threads), warmup,
                     duration);
  }
  Target* issuer = target->issuer != nullptr ? target->issuer : target;
  std::unique_ptr<Workload> workload = MakeWorkload(scenario, issuer->channels, &issuer->pool);
  std::unique_ptr<Storm> storm;
  if (scenario == "storm") {
    storm = std::make_unique<Storm>(target->channels.front(), absl::GetFlag(FLAGS_storm_token_rate),
                                    absl::GetFlag(FLAGS_storm_key_period));
  }
  Driver driver(target->channels, target->pid);
  RunResult r;
  if (mode == "open") {
    r = driver.RunOpen(scenario + "/open", workload.get(), rate, warmup, duration,
                       absl::GetFlag(FLAGS_max_outstanding));
  } else {
    r = driver.RunClosed(scenario, workload.get(), absl::GetFlag(FLAGS_concurrency), warmup,
                         duration);
  }
  return r;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// `mode` closed, or open at `rate` calls/s (both sides at the same rate: a tail comparison).
void Compare(const std::string& a, const std::string& b, Target* target_a, Target* target_b,
             int rounds, const std::string& mode, double rate) {
  std::vector<double> qps_ratios, cpu_ratios, p50_ratios, p99_ratios;
  std::vector<RunResult> as, bs;
  for (int round = 0; round < rounds; ++round) {
    // A B, B A, A B, ...: drifts in machine load hit both sides alike.
    const bool a_first = round % 2 == 0;
    std::optional<RunResult> ra, rb;
    for (int k = 0; k < 2; ++k) {
      if ((k == 0) == a_first) {
        ra = RunScenario(a, target_a, mode, rate);
        ra->name = absl::StrCat("A:", ra->name);
        std::printf("round %d %s\n", round, Summary(*ra).c_str());
      } else {
        rb = RunScenario(b, target_b, mode, rate);
        rb->name = absl::StrCat("B:", rb->name);
        std::printf("round %d %s\n", round, Summary(*rb).c_str());
      }
      std::fflush(stdout);
    }
    qps_ratios.push_back(ra->qps / rb->qps);
    if (rb->p50_us > 0) p50_ratios.push_back(ra->p50_us / rb->p50_us);
    if (rb->p99_us > 0) p99_ratios.push_back(ra->p99_us / rb->p99_us);
    if (ra->server_cpu_per_1k() && rb->server_cpu_per_1k() && *ra->server_cpu_per_1k() > 0) {
      cpu_ratios.push_back(*rb->server_cpu_per_1k() / *ra->server_cpu_per_1k());
    }
    as.push_back(*ra);
    bs.push_back(*rb);
  }
  auto describe = [](const std::vector<double>& v) {
    if (v.empty()) return std::string("n/a");
    return absl::StrFormat("median %.3f (min %.3f, max %.3f, n=%zu)", Median(v),
                           *std::min_element(v.begin(), v.end()),
                           *std::max_element(v.begin(), v.end()), v.size());
  };
  auto median_of = [](const std::vector<RunResult>& runs, auto field) {
    std::vector<double> v;
    for (const RunResult& r : runs) v.push_back(field(r));
    return Median(v);
  };
  auto cpu_us = [](const RunResult& r) { return r.server_cpu_per_1k().value_or(NAN) * 1000.0; };
  std::printf("compare %s / %s over %d rounds:\n", a.c_str(), b.c_str(), rounds);
  std::printf("  QPS(A)/QPS(B):                   %s\n", describe(qps_ratios).c_str());
  std::printf("  server CPU per call, B/A:        %s\n", describe(cpu_ratios).c_str());
  std::printf("  p50(A)/p50(B):                   %s\n", describe(p50_ratios).c_str());
  std::printf("  p99(A)/p99(B):                   %s\n", describe(p99_ratios).c_str());
  std::printf("  median QPS A %.0f, B %.0f; median server CPU per call A %.1f us, B %.1f us\n",
              median_of(as, [](const RunResult& r) { return r.qps; }),
              median_of(bs, [](const RunResult& r) { return r.qps; }), median_of(as, cpu_us),
              median_of(bs, cpu_us));
  std::printf(
      "RESULT name=compare a=%s b=%s rounds=%d qps_ratio_median=%.4f qps_ratio_min=%.4f "
      "qps_ratio_max=%.4f cpu_ratio_median=%.4f qps_a=%.1f qps_b=%.1f cpu_us_a=%.2f "
      "cpu_us_b=%.2f p50_us_a=%.1f p50_us_b=%.1f p50_ratio_median=%.4f p99_us_a=%.1f "
      "p99_us_b=%.1f p99_ratio_median=%.4f\n",
      a.c_str(), b.c_str(), rounds, Median(qps_ratios),
      *std::min_element(qps_ratios.begin(), qps_ratios.end()),
      *std::max_element(qps_ratios.begin(), qps_ratios.end()),
      cpu_ratios.empty() ? NAN : Median(cpu_ratios),
      median_of(as, [](const RunResult& r) { return r.qps; }),
      median_of(bs, [](const RunResult& r) { return r.qps; }), median_of(as, cpu_us),
      median_of(bs, cpu_us), median_of(as, [](const RunResult& r) { return r.p50_us; }),
      median_of(bs, [](const RunResult& r) { return r.p50_us; }),
      p50_ratios.empty() ? NAN : Median(p50_ratios),
      median_of(as, [](const RunResult& r) { return r.p99_us; }),
      median_of(bs, [](const RunResult& r) { return r.p99_us; }),
      p99_ratios.empty() ? NAN : Median(p99_ratios));
  std::fflush(stdout);
}

}  // namespace

int Main(int argc, char** argv) {
  absl::SetProgramUsageMessage("signet-bench: load generator for signet-server (see bench/)");
  absl::ParseCommandLine(argc, argv);
  // As in signet-server: Debian's Abseil checks lock order on every absl::Mutex lock (gRPC's too)
  // unless told not to, which would spend CPU the server shares.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  const std::string scenario = absl::GetFlag(FLAGS_scenario);
  const std::string mode = absl::GetFlag(FLAGS_mode);
  const int channels = absl::GetFlag(FLAGS_channels);

  if (scenario == "revocation_memory") {
    RevocationMemory(absl::GetFlag(FLAGS_count));
    return 0;
  }
  if (scenario == "revoke_load") {
    RevokeLoad(absl::GetFlag(FLAGS_target), absl::GetFlag(FLAGS_server_pid),
               absl::GetFlag(FLAGS_count), absl::GetFlag(FLAGS_concurrency), channels);
    return 0;
  }

  Target target_a;
  target_a.address = absl::GetFlag(FLAGS_target);
  target_a.pid = absl::GetFlag(FLAGS_server_pid);
  Target target_b;
  target_b.address = absl::GetFlag(FLAGS_target_b);
  target_b.pid = absl::GetFlag(FLAGS_server_pid_b);

  const std::string compare = absl::GetFlag(FLAGS_compare);
  auto in_process = [](std::string_view name) {
    return name == "codec_bound" || name == "sign_bound";
  };
  const bool needs_a = compare.empty()
                           ? !in_process(scenario)
                           : !in_process(std::string_view(compare).substr(0, compare.find(',')));
  if (needs_a) target_a.channels = MakeChannels(target_a.address, channels);
  Target issuer;
  if (!absl::GetFlag(FLAGS_issuer_target).empty()) {
    issuer.address = absl::GetFlag(FLAGS_issuer_target);
    issuer.channels = MakeChannels(issuer.address, 1);
    target_a.issuer = &issuer;
    target_b.issuer = &issuer;
  }

  if (!compare.empty()) {
    std::vector<std::string> ab = absl::StrSplit(compare, ',');
    if (ab.size() != 2) Die("--compare needs A,B");
    Target* b = &target_a;
    if (!target_b.address.empty()) {
      target_b.channels = MakeChannels(target_b.address, channels);
      b = &target_b;
    }
    if (mode != "closed" && mode != "open") Die("--compare runs with --mode=closed or open");
    Compare(ab[0], ab[1], &target_a, b, absl::GetFlag(FLAGS_rounds), mode,
            absl::GetFlag(FLAGS_rate));
    return 0;
  }

  if (mode == "half") {
    // Per round: the maximum sustained QPS (closed loop), then open loops at fractions of it (the
    // target is about half). Medians and spreads over --rounds rounds.
    const std::vector<std::string> fractions =
        absl::StrSplit(absl::GetFlag(FLAGS_load_fractions), ',');
    const int rounds = absl::GetFlag(FLAGS_rounds);
    std::vector<double> max_qps;
    std::map<std::string, std::vector<double>> p50s, p99s, p999s;
    for (int round = 0; round < rounds; ++round) {
      RunResult max = RunScenario(scenario, &target_a, "closed", 0);
      std::printf("round %d %s\n", round, Summary(max).c_str());
      max_qps.push_back(max.qps);
      for (const std::string& f : fractions) {
        const double fraction = std::stod(f);
        RunResult open = RunScenario(scenario, &target_a, "open", max.qps * fraction);
        open.name = absl::StrFormat("%s@%.2f", open.name, fraction);
        std::printf("round %d %s\n", round, Summary(open).c_str());
        p50s[f].push_back(open.p50_us);
        p99s[f].push_back(open.p99_us);
        p999s[f].push_back(open.p999_us);
      }
      std::fflush(stdout);
    }
    auto spread = [](const std::vector<double>& v) {
      return absl::StrFormat("median %.0f (min %.0f, max %.0f, n=%zu)", Median(v),
                             *std::min_element(v.begin(), v.end()),
                             *std::max_element(v.begin(), v.end()), v.size());
    };
    std::printf("%s: max sustained QPS (closed loop) %s\n", scenario.c_str(),
                spread(max_qps).c_str());
    for (const std::string& f : fractions) {
      const bool half = std::stod(f) == 0.5;
      std::printf("  open loop at %s of max: p50 %s us; p99 %s us; p99.9 %s us%s\n", f.c_str(),
                  spread(p50s[f]).c_str(), spread(p99s[f]).c_str(), spread(p999s[f]).c_str(),
                  half ? (Median(p99s[f]) < 2000 ? "  [p99 target < 2000 us: MET]"
                                                 : "  [p99 target < 2000 us: MISSED]")
                       : "");
      std::printf(
          "RESULT name=half scenario=%s fraction=%s max_qps_median=%.1f p50_us_median=%.1f "
          "p99_us_median=%.1f p99_us_min=%.1f p99_us_max=%.1f p999_us_median=%.1f\n",
          scenario.c_str(), f.c_str(), Median(max_qps), Median(p50s[f]), Median(p99s[f]),
          *std::min_element(p99s[f].begin(), p99s[f].end()),
          *std::max_element(p99s[f].begin(), p99s[f].end()), Median(p999s[f]));
    }
    return 0;
  }
  RunResult r = RunScenario(scenario, &target_a, mode, absl::GetFlag(FLAGS_rate));
  std::printf("%s\n", Summary(r).c_str());
  PrintResultLine(r);
  return 0;
}

}  // namespace signet::bench

int main(int argc, char** argv) { return signet::bench::Main(argc, argv); }
