// pkcs11-bench: what signing through a PKCS#11 token costs signet, against SoftHSM2 (a software
// token, so the token's own work is the signature itself and the ratios measure what signet adds
// around the PKCS#11 call). All in one run, alternating the sides (A B B A ...):
//   1. raw C_SignInit + C_Sign on one session (the floor) against SignToken through the PKCS#11
//      backend (claims encoded, the session pool, low-s, the token assembled), one thread;
//   2. SignToken with the same algorithm in process (the local backend);
//   3. IssueToken QPS of an in-process server on the PKCS#11 backend against the default one
//      (closed-loop gRPC load from this process).
//
// Example:
//   pkcs11-bench --rounds=4 --duration=2s --alg=EdDSA
//
// The SoftHSM2 token is made in a temporary folder (tests/support/softhsm_token.h).
#include <dlfcn.h>
#include <p11-kit/pkcs11.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/keys/pkcs11/pkcs11_key_backend.h"
#include "server/keys/pkcs11/pkcs11_token.h"
#include "server/signet_server.h"
#include "server/store/envelope.h"
#include "tests/integration/test_support.h"
#include "tests/support/softhsm_token.h"
#include "token/signing/signing_key.h"
#include "token/signing/token_signer.h"

ABSL_FLAG(int, rounds, 4, "Rounds; each measures every side once, in alternating order");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(2), "Measured time per side per round");
ABSL_FLAG(std::string, alg, "EdDSA", "EdDSA or ES256");
ABSL_FLAG(int, clients, 4, "Client threads for the IssueToken load (closed loop)");

namespace signet {
namespace {

// Calls of `op` per second over `duration` on one thread.
template <typename Op>
double Rate(absl::Duration duration, Op op) {
  int64_t n = 0;
  const absl::Time start = absl::Now();
  absl::Time end = start + duration;
  absl::Time now = start;
  while (now < end) {
    for (int i = 0; i < 16; ++i) op();
    n += 16;
    now = absl::Now();
  }
  return static_cast<double>(n) / absl::ToDoubleSeconds(now - start);
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "pkcs11-bench: %s\n", what.c_str());
  std::exit(1);
}

// The module's own functions, for the floor: one session, one key, C_SignInit + C_Sign.
class RawSigner {
 public:
  RawSigner(const testing::SoftHsmToken& hsm, const std::string& kid, Algorithm alg) : alg_(alg) {
    void* handle = dlopen(hsm.module_path.c_str(), RTLD_NOW | RTLD_NOLOAD);
    if (handle == nullptr) handle = dlopen(hsm.module_path.c_str(), RTLD_NOW);
    auto get = reinterpret_cast<CK_C_GetFunctionList>(dlsym(handle, "C_GetFunctionList"));
    if (get == nullptr || get(&f_) != CKR_OK) Die("no C_GetFunctionList");
    CK_C_INITIALIZE_ARGS args{};
    args.flags = CKF_OS_LOCKING_OK;
    CK_RV rv = f_->C_Initialize(&args);
    if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) Die("C_Initialize");
    CK_ULONG count = 16;
    CK_SLOT_ID slots[16];
    if (f_->C_GetSlotList(CK_TRUE, slots, &count) != CKR_OK || count == 0) Die("no slot");
    if (f_->C_OpenSession(slots[0], CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr,
                          &session_) != CKR_OK) {
      Die("C_OpenSession");
    }
    rv = f_->C_Login(session_, CKU_USER,
                     reinterpret_cast<CK_UTF8CHAR*>(const_cast<char*>(hsm.pin.data())),
                     hsm.pin.size());
    if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) Die("C_Login");
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE query[] = {{CKA_ID, const_cast<char*>(kid.data()), kid.size()},
                            {CKA_CLASS, &cls, sizeof(cls)}};
    CK_ULONG found = 0;
    if (f_->C_FindObjectsInit(session_, query, 2) != CKR_OK ||
        f_->C_FindObjects(session_, &key_, 1, &found) != CKR_OK || found != 1) {
      Die("key not found");
    }
    f_->C_FindObjectsFinal(session_);
  }
  ~RawSigner() { f_->C_CloseSession(session_); }

  // One signature of `data` (ES256: of its SHA-256, as the token signs digests).
  void Sign(const std::string& data) {
    CK_MECHANISM mech{alg_ == Algorithm::kEdDSA ? CKM_EDDSA : CKM_ECDSA, nullptr, 0};
    unsigned char sig[128];
    CK_ULONG size = sizeof(sig);
    std::string input = data;
    if (alg_ == Algorithm::kES256) input.resize(32);  // A digest's length: the cost is the same.
    if (f_->C_SignInit(session_, &mech, key_) != CKR_OK ||
        f_->C_Sign(session_, reinterpret_cast<CK_BYTE*>(input.data()), input.size(), sig, &size) !=
            CKR_OK) {
      Die("C_Sign");
    }
  }

 private:
  Algorithm alg_;
  CK_FUNCTION_LIST* f_ = nullptr;
  CK_SESSION_HANDLE session_ = CK_INVALID_HANDLE;
  CK_OBJECT_HANDLE key_ = CK_INVALID_HANDLE;
};

server::TokenClaims Claims() {
  server::TokenClaims c;
  c.issuer = "signet";
  c.subject = "user-12345";
  c.backend = "django.contrib.auth.backends.ModelBackend";
  c.audiences = {"payments"};
  c.issued_at = absl::Now();
  c.expires_at = c.issued_at + absl::Hours(1);
  c.token_id = server::NewTokenId();
  return c;
}

// IssueToken calls per second from `clients` closed-loop threads.
double IssueQps(int port, int clients, absl::Duration duration) {
  std::atomic<bool> stop{false};
  std::atomic<int64_t> done{0};
  std::atomic<int64_t> failed{0};
  std::vector<std::thread> threads;
  const absl::Time start = absl::Now();
  for (int i = 0; i < clients; ++i) {
    threads.emplace_back([&] {
      auto stub = testing::NewStub(port);
      v1::IssueTokenRequest request;
      request.set_subject("user-12345");
      while (!stop.load(std::memory_order_relaxed)) {
        grpc::ClientContext context;
        v1::IssueTokenResponse response;
        if (stub->IssueToken(&context, request, &response).ok()) {
          done.fetch_add(1, std::memory_order_relaxed);
        } else {
          failed.fetch_add(1, std::memory_order_relaxed);
        }
      }
    });
  }
  absl::SleepFor(duration);
  stop.store(true);
  for (std::thread& t : threads) t.join();
  if (failed.load() > 0) Die(absl::StrCat(failed.load(), " IssueToken calls failed"));
  return static_cast<double>(done.load()) / absl::ToDoubleSeconds(absl::Now() - start);
}

int Main() {
  absl::StatusOr<Algorithm> alg = AlgorithmFromName(absl::GetFlag(FLAGS_alg));
  if (!alg.ok() || *alg == Algorithm::kHS256) Die("--alg must be EdDSA or ES256");
  const int rounds = absl::GetFlag(FLAGS_rounds);
  const absl::Duration duration = absl::GetFlag(FLAGS_duration);
  testing::TempDir dir;
  const std::string hsm_dir = dir.path() + "/hsm";
  mkdir(hsm_dir.c_str(), 0700);
  absl::StatusOr<testing::SoftHsmToken> hsm = testing::SoftHsmToken::Create(hsm_dir, "bench");
  if (!hsm.ok()) Die(hsm.status().ToString());

  // The signers: the backend's key (through Pkcs11Token), the raw floor, a local key.
  server::Pkcs11Token::Options options;
  options.module_path = hsm->module_path;
  options.token_label = hsm->label;
  options.pin = hsm->pin;
  absl::StatusOr<std::unique_ptr<server::Pkcs11Token>> token = server::Pkcs11Token::Open(options);
  if (!token.ok()) Die(token.status().ToString());
  server::Envelope envelope = *server::Envelope::Create(std::string(32, 'k'));
  server::Pkcs11KeyBackend backend(std::shared_ptr<server::Pkcs11Token>(*std::move(token)),
                                   &envelope);
  absl::StatusOr<server::KeyRecord> row = backend.MakeKey(*alg, absl::Now());
  if (!row.ok()) Die(row.status().ToString());
  row->state = server::KeyState::kActive;
  absl::StatusOr<std::unique_ptr<server::SigningKey>> delegated = backend.OpenKey(*row);
  if (!delegated.ok()) Die(delegated.status().ToString());
  absl::StatusOr<std::unique_ptr<server::SigningKey>> local = server::SigningKey::Generate(*alg);
  if (!local.ok()) Die(local.status().ToString());
  RawSigner raw(*hsm, row->kid, *alg);
  const server::TokenClaims claims = Claims();
  // What the raw side signs: a signing input of the token's size.
  absl::StatusOr<std::string> sample = server::SignToken(**local, claims);
  const std::string signing_input = sample->substr(0, sample->rfind('.'));

  std::vector<double> raw_rate, pkcs11_rate, local_rate;
  for (int r = 0; r < rounds; ++r) {
    auto pkcs11_side = [&] {
      pkcs11_rate.push_back(Rate(duration, [&] {
        if (!server::SignToken(**delegated, claims).ok()) Die("SignToken (pkcs11) failed");
      }));
    };
    auto raw_side = [&] { raw_rate.push_back(Rate(duration, [&] { raw.Sign(signing_input); })); };
    if (r % 2 == 0) {
      raw_side();
      pkcs11_side();
    } else {
      pkcs11_side();
      raw_side();
    }
    local_rate.push_back(Rate(duration, [&] {
      if (!server::SignToken(**local, claims).ok()) Die("SignToken (local) failed");
    }));
  }

  // IssueToken: two in-process servers, one per backend, measured alternately.
  std::vector<double> issue_local, issue_pkcs11;
  {
    testing::WriteFile(dir.path() + "/pin", hsm->pin, 0600);
    auto start = [&](const std::string& backend_name) {
      server::SignetServer::Options o;
      o.config = testing::TestConfig(dir.path() + "/data-" + backend_name);
      o.config.algorithm = *alg;
      o.config.validation_cache_entries = 0;
      o.config.audit_log = dir.path() + "/audit-" + backend_name + ".log";
      if (backend_name == "pkcs11") {
        o.config.key_backend = "pkcs11";
        o.config.pkcs11_module = hsm->module_path;
        o.config.pkcs11_token_label = hsm->label;
        o.config.pkcs11_pin_file = dir.path() + "/pin";
      }
      absl::StatusOr<std::unique_ptr<server::SignetServer>> s =
          server::SignetServer::Start(std::move(o));
      if (!s.ok()) Die(s.status().ToString());
      return *std::move(s);
    };
    std::unique_ptr<server::SignetServer> local_server = start("local");
    std::unique_ptr<server::SignetServer> pkcs11_server = start("pkcs11");
    const int clients = absl::GetFlag(FLAGS_clients);
    IssueQps(local_server->port(), clients, absl::Milliseconds(500));  // Warm-up.
    IssueQps(pkcs11_server->port(), clients, absl::Milliseconds(500));
    for (int r = 0; r < rounds; ++r) {
      if (r % 2 == 0) {
        issue_local.push_back(IssueQps(local_server->port(), clients, duration));
        issue_pkcs11.push_back(IssueQps(pkcs11_server->port(), clients, duration));
      } else {
        issue_pkcs11.push_back(IssueQps(pkcs11_server->port(), clients, duration));
        issue_local.push_back(IssueQps(local_server->port(), clients, duration));
      }
    }
  }

  const double raw_m = Median(raw_rate), pkcs11_m = Median(pkcs11_rate);
  const double local_m = Median(local_rate);
  const double issue_local_m = Median(issue_local), issue_pkcs11_m = Median(issue_pkcs11);
  std::printf("pkcs11-bench alg=%s rounds=%d duration=%s (medians; one thread for signing)\n",
              AlgorithmName(*alg).data(), rounds, absl::FormatDuration(duration).c_str());
  std::printf("  raw C_SignInit+C_Sign (SoftHSM2)   %10.0f /s\n", raw_m);
  std::printf(
      "  SignToken via the PKCS#11 backend  %10.0f /s   ratio to raw C_Sign %.2f "
      "(target >= 0.80)\n",
      pkcs11_m, pkcs11_m / raw_m);
  std::printf("  SignToken in process (local)       %10.0f /s   PKCS#11 / local %.2f\n", local_m,
              pkcs11_m / local_m);
  std::printf("  IssueToken QPS, local backend      %10.0f /s\n", issue_local_m);
  std::printf("  IssueToken QPS, PKCS#11 backend    %10.0f /s   PKCS#11 / local %.2f\n",
              issue_pkcs11_m, issue_pkcs11_m / issue_local_m);
  return 0;
}

}  // namespace
}  // namespace signet

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return signet::Main();
}
