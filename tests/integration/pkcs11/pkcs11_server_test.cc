// signet-server with --key_backend=pkcs11 against a SoftHSM2 token each test initialises in a
// temporary folder: every RPC, rotation, revocation and restart as on the default backend, for
// EdDSA, ES256 and HS256; no private key in the database, the logs or out of the token; clear
// start-up errors (wrong PIN, absent token, a PIN file others can read); a key object deleted from
// the token; the token unreachable (a remote token behind `p11-kit server`, stopped and started
// again); kill -9 at random moments while keys are being made.
#include <fcntl.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/keys/pkcs11/pkcs11_key_backend.h"
#include "server/keys/pkcs11/pkcs11_token.h"
#include "server/store/store.h"
#include "signet/local_validator.h"
#include "tests/integration/ha/postgres_fleet.h"
#include "tests/integration/test_support.h"
#include "tests/support/softhsm_token.h"

namespace signet {
namespace {

namespace v1 = ::signet::v1;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::UnorderedElementsAreArray;

constexpr char kLabel[] = "signet-e2e";

// A SoftHSM2 token of the test's own, a PIN file for it, and a data folder.
class Pkcs11Fixture {
 public:
  explicit Pkcs11Fixture(const std::string& pin = "123456") {
    hsm_dir_ = dir_.path() + "/hsm";
    data_dir_ = dir_.path() + "/data";
    pin_file_ = dir_.path() + "/pin";
    mkdir(hsm_dir_.c_str(), 0700);
    absl::StatusOr<testing::SoftHsmToken> hsm =
        testing::SoftHsmToken::Create(hsm_dir_, kLabel, pin);
    EXPECT_TRUE(hsm.ok()) << hsm.status();
    if (hsm.ok()) hsm_ = *hsm;
    testing::WriteFile(pin_file_, hsm_.pin + "\n", 0600);
  }

  server::ServerConfig Config(Algorithm alg) const {
    server::ServerConfig config = testing::TestConfig(data_dir_);
    config.algorithm = alg;
    config.key_backend = "pkcs11";
    config.pkcs11_module = hsm_.module_path;
    config.pkcs11_token_label = hsm_.label;
    config.pkcs11_pin_file = pin_file_;
    config.http_listen = "127.0.0.1:0";
    return config;
  }

  std::vector<std::string> Flags() const {
    return {"--data_dir=" + data_dir_, "--key_backend=pkcs11",
            "--pkcs11_module=" + hsm_.module_path, "--pkcs11_token_label=" + hsm_.label,
            "--pkcs11_pin_file=" + pin_file_};
  }

  // A handle on the token of the test's own (the server's is separate), to look inside.
  std::unique_ptr<server::Pkcs11Token> OpenToken() const {
    server::Pkcs11Token::Options options;
    options.module_path = hsm_.module_path;
    options.token_label = hsm_.label;
    options.pin = hsm_.pin;
    absl::StatusOr<std::unique_ptr<server::Pkcs11Token>> token = server::Pkcs11Token::Open(options);
    EXPECT_TRUE(token.ok()) << token.status();
    return token.ok() ? *std::move(token) : nullptr;
  }

  std::vector<std::string> TokenKeyIds() const {
    std::unique_ptr<server::Pkcs11Token> token = OpenToken();
    std::vector<std::string> ids;
    if (token == nullptr) return ids;
    absl::StatusOr<std::vector<server::Pkcs11Token::KeyObject>> keys = token->ListKeys();
    EXPECT_TRUE(keys.ok()) << keys.status();
    if (keys.ok()) {
      for (const auto& k : *keys) ids.push_back(k.id);
    }
    return ids;
  }

  // The key rows as stored (the server must be stopped: SQLite is its alone).
  std::vector<server::KeyRecord> StoredKeys() const {
    absl::StatusOr<std::unique_ptr<server::Store>> store =
        server::OpenSqliteStore(data_dir_ + "/signet.db");
    EXPECT_TRUE(store.ok()) << store.status();
    if (!store.ok()) return {};
    absl::StatusOr<std::vector<server::KeyRecord>> keys = (*store)->LoadKeys();
    EXPECT_TRUE(keys.ok()) << keys.status();
    return keys.ok() ? *keys : std::vector<server::KeyRecord>{};
  }

  testing::TempDir dir_;
  std::string hsm_dir_;
  std::string data_dir_;
  std::string pin_file_;
  testing::SoftHsmToken hsm_;
};

std::unique_ptr<server::SignetServer> StartWith(server::ServerConfig config) {
  server::SignetServer::Options options;
  options.config = std::move(config);
  return testing::StartServer(std::move(options));
}

int ReadyzStatus(int http_port, std::string* body = nullptr) {
  httplib::Client client("127.0.0.1", http_port);
  client.set_connection_timeout(5);
  client.set_read_timeout(5);
  httplib::Result result = client.Get("/readyz");
  if (!result) return -1;
  if (body != nullptr) *body = result->body;
  return result->status;
}

v1::ValidateTokenResponse Validate(v1::TokenService::Stub* stub, const std::string& token) {
  return testing::ValidateAnyAudience(stub, token);
}

grpc::Status Rotate(v1::TokenService::Stub* stub, v1::RotateKeyResponse* response) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  v1::RotateKeyRequest request;
  request.set_immediate(true);
  return stub->RotateKey(&context, request, response);
}

grpc::Status RevokeKey(v1::TokenService::Stub* stub, const std::string& kid) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  v1::RevokeKeyRequest request;
  request.set_key_id(kid);
  request.set_reason("test");
  v1::RevokeKeyResponse response;
  return stub->RevokeKey(&context, request, &response);
}

grpc::Status TryIssue(v1::TokenService::Stub* stub, v1::IssueTokenResponse* response) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  v1::IssueTokenRequest request;
  request.set_subject("probe");
  return stub->IssueToken(&context, request, response);
}

// --- Every RPC, per algorithm --------------------------------------------------------------------

class Pkcs11ServerTest : public ::testing::TestWithParam<Algorithm> {
 protected:
  Pkcs11Fixture f_;
};

INSTANTIATE_TEST_SUITE_P(Algorithms, Pkcs11ServerTest,
                         ::testing::Values(Algorithm::kEdDSA, Algorithm::kES256, Algorithm::kHS256),
                         [](const ::testing::TestParamInfo<Algorithm>& info) {
                           return std::string(AlgorithmName(info.param));
                         });

TEST_P(Pkcs11ServerTest, EveryRpcRotationRevocationAndRestartWorkWithKeysInTheToken) {
  const Algorithm alg = GetParam();
  std::string first_kid, rotated_kid, after_revoke_kid;
  v1::IssueTokenResponse alice, bob, carol;
  {
    std::unique_ptr<server::SignetServer> server = StartWith(f_.Config(alg));
    ASSERT_NE(server, nullptr);
    auto stub = testing::NewStub(server->port());
    EXPECT_EQ(ReadyzStatus(server->http_port()), 200);

    alice = testing::IssueFor(stub.get(), "alice");
    ASSERT_FALSE(alice.token().empty());
    first_kid = alice.key_id();
    v1::ValidateTokenResponse valid = Validate(stub.get(), alice.token());
    EXPECT_TRUE(valid.valid()) << valid.reason();
    EXPECT_EQ(valid.subject(), "alice");
    v1::ListKeysResponse keys = testing::ListKeysOf(stub.get());
    ASSERT_EQ(keys.keys_size(), 2);  // ACTIVE and PENDING, both in the token.
    std::vector<std::string> listed;
    for (const auto& k : keys.keys()) listed.push_back(k.key_id());
    EXPECT_THAT(f_.TokenKeyIds(), UnorderedElementsAreArray(listed));

    grpc::ClientContext jwks_context;
    v1::GetJwksResponse jwks;
    ASSERT_TRUE(stub->GetJwks(&jwks_context, v1::GetJwksRequest(), &jwks).ok());
    if (alg == Algorithm::kHS256) {
      EXPECT_THAT(jwks.jwks_json(), Not(HasSubstr(first_kid)));  // Secrets are never published.
    } else {
      EXPECT_THAT(jwks.jwks_json(), HasSubstr(first_kid));
    }

    // Rotation: the old key keeps verifying what it signed.
    v1::RotateKeyResponse rotated;
    ASSERT_TRUE(Rotate(stub.get(), &rotated).ok());
    rotated_kid = rotated.active().key_id();
    ASSERT_NE(rotated_kid, first_kid);
    bob = testing::IssueFor(stub.get(), "bob");
    EXPECT_EQ(bob.key_id(), rotated_kid);
    EXPECT_TRUE(Validate(stub.get(), alice.token()).valid());
    EXPECT_TRUE(Validate(stub.get(), bob.token()).valid());

    // Revocation: at once, and signing moves to a fresh key.
    ASSERT_TRUE(RevokeKey(stub.get(), rotated_kid).ok());
    EXPECT_EQ(Validate(stub.get(), bob.token()).reason(), v1::REASON_KEY_REVOKED);
    carol = testing::IssueFor(stub.get(), "carol");
    after_revoke_kid = carol.key_id();
    EXPECT_NE(after_revoke_kid, rotated_kid);
    EXPECT_TRUE(Validate(stub.get(), carol.token()).valid());
    ASSERT_TRUE(testing::RevokeTokenOf(stub.get(), carol.token()).ok());
    EXPECT_EQ(Validate(stub.get(), carol.token()).reason(), v1::REASON_TOKEN_REVOKED);

    if (alg != Algorithm::kHS256) {
      // The published public keys at work: a LocalValidator (WatchKeys) judges tokens offline.
      LocalValidatorOptions options;
      options.channel = testing::NewChannel(server->port());
      absl::StatusOr<std::unique_ptr<LocalValidator>> local =
          LocalValidator::Create(std::move(options));
      ASSERT_TRUE(local.ok()) << local.status();
      absl::StatusOr<Validation> a = (*local)->Validate(alice.token(), Audience::Any());
      ASSERT_TRUE(a.ok()) << a.status();
      EXPECT_TRUE(a->valid());
      absl::StatusOr<Validation> b = (*local)->Validate(bob.token(), Audience::Any());
      ASSERT_TRUE(b.ok()) << b.status();
      EXPECT_EQ(b->reason, Reason::kKeyRevoked);
    }

    // No key value leaves the token.
    std::unique_ptr<server::Pkcs11Token> token = f_.OpenToken();
    ASSERT_NE(token, nullptr);
    for (const std::string& kid : f_.TokenKeyIds()) {
      absl::Status extracted = token->TryExtract(kid);
      EXPECT_FALSE(extracted.ok()) << kid;
    }
  }

  // The rows hold a reference and a public key only.
  std::vector<server::KeyRecord> rows = f_.StoredKeys();
  ASSERT_GE(rows.size(), 4u);
  std::vector<std::string> row_kids;
  for (const server::KeyRecord& row : rows) {
    row_kids.push_back(row.kid);
    EXPECT_EQ(row.sealed_private, server::Pkcs11KeyBackend::kReference) << row.kid;
    EXPECT_THAT(row.public_jwk, Not(HasSubstr("\"d\""))) << row.kid;
    EXPECT_THAT(row.public_jwk, Not(HasSubstr("\"k\""))) << row.kid;
    if (alg == Algorithm::kHS256) {
      EXPECT_EQ(row.public_jwk, "") << row.kid;
    }
  }
  EXPECT_THAT(f_.TokenKeyIds(), UnorderedElementsAreArray(row_kids));

  // Restart: the same keys, the same revocations.
  std::unique_ptr<server::SignetServer> server = StartWith(f_.Config(alg));
  ASSERT_NE(server, nullptr);
  auto stub = testing::NewStub(server->port());
  EXPECT_TRUE(Validate(stub.get(), alice.token()).valid());
  EXPECT_EQ(Validate(stub.get(), bob.token()).reason(), v1::REASON_KEY_REVOKED);
  EXPECT_EQ(Validate(stub.get(), carol.token()).reason(), v1::REASON_TOKEN_REVOKED);
  v1::IssueTokenResponse dan = testing::IssueFor(stub.get(), "dan");
  EXPECT_EQ(dan.key_id(), after_revoke_kid);
  EXPECT_TRUE(Validate(stub.get(), dan.token()).valid());
}

// --- Secrets stay secret -------------------------------------------------------------------------

TEST(Pkcs11SecretsTest, ThePinAndNoKeyValueAppearInTheLogsOrTheDatabase) {
  // A PIN that cannot occur by chance in a log or a database file.
  const std::string pin = "pin-7f3a9c51e2";
  Pkcs11Fixture g(pin);
  std::vector<std::string> flags = g.Flags();
  flags.push_back("--http_listen=");
  flags.push_back("--algorithm=HS256");
  flags.push_back("--audit_log=" + g.dir_.path() + "/audit.log");
  const std::string log_path = g.dir_.path() + "/server.log";
  std::unique_ptr<testing::ServerProcess> process = testing::ServerProcess::Start(flags, log_path);
  ASSERT_NE(process->port(), 0) << process->Log();
  auto stub = testing::NewStub(process->port());
  v1::IssueTokenResponse issued = testing::IssueFor(stub.get(), "erin");
  ASSERT_FALSE(issued.token().empty());
  v1::RotateKeyResponse rotated;
  ASSERT_TRUE(Rotate(stub.get(), &rotated).ok());
  EXPECT_TRUE(Validate(stub.get(), issued.token()).valid());
  ASSERT_EQ(process->Terminate(absl::Seconds(10)), 0);

  const std::string log = process->Log();
  EXPECT_THAT(log, HasSubstr("\"event\":\"key_backend_opened\""));
  EXPECT_THAT(log, Not(HasSubstr(pin)));
  EXPECT_THAT(testing::ReadFile(g.dir_.path() + "/audit.log"), Not(HasSubstr(pin)));
  for (const char* file : {"/signet.db", "/signet.db-wal"}) {
    std::string bytes;
    if (access((g.data_dir_ + file).c_str(), R_OK) == 0)
      bytes = testing::ReadFile(g.data_dir_ + file);
    EXPECT_THAT(bytes, Not(HasSubstr(pin))) << file;
  }
  // HMAC secrets are the easiest keys to leak (they sign and verify alike): the rows hold none.
  for (const server::KeyRecord& row : g.StoredKeys()) {
    EXPECT_EQ(row.sealed_private, server::Pkcs11KeyBackend::kReference);
    EXPECT_EQ(row.public_jwk, "");
  }
}

// --- Start-up errors -----------------------------------------------------------------------------

TEST(Pkcs11StartupTest, WrongPinAbsentTokenAndLoosePinFileAreClearErrors) {
  Pkcs11Fixture f;
  std::vector<std::string> flags = f.Flags();
  flags.push_back("--http_listen=");
  std::string out;

  testing::WriteFile(f.pin_file_, "wrong-4d2c8e\n", 0600);
  EXPECT_NE(testing::RunServerOnce(flags, &out), 0);
  EXPECT_THAT(out, HasSubstr("CKR_PIN_INCORRECT"));
  EXPECT_THAT(out, Not(HasSubstr("wrong-4d2c8e")));

  testing::WriteFile(f.pin_file_, f.hsm_.pin + "\n", 0644);
  chmod(f.pin_file_.c_str(), 0644);
  EXPECT_NE(testing::RunServerOnce(flags, &out), 0);
  EXPECT_THAT(out, HasSubstr("mode 0644"));
  EXPECT_THAT(out, Not(HasSubstr(f.hsm_.pin + "\n")));
  chmod(f.pin_file_.c_str(), 0600);

  std::vector<std::string> absent = flags;
  absent.push_back("--pkcs11_token_label=no-such-token");
  EXPECT_NE(testing::RunServerOnce(absent, &out), 0);
  EXPECT_THAT(out, HasSubstr("no token labelled 'no-such-token'"));

  std::vector<std::string> no_module = flags;
  no_module.push_back("--pkcs11_module=" + f.dir_.path() + "/missing.so");
  EXPECT_NE(testing::RunServerOnce(no_module, &out), 0);
  EXPECT_THAT(out, HasSubstr("cannot be loaded"));

  EXPECT_NE(testing::RunServerOnce(
                {"--data_dir=" + f.data_dir_, "--key_backend=pkcs11", "--http_listen="}, &out),
            0);
  EXPECT_THAT(out, HasSubstr("--key_backend=pkcs11 needs --pkcs11_module"));

  // Nothing was made by the failed starts.
  EXPECT_TRUE(f.TokenKeyIds().empty());
}

// --- A key object gone from the token ------------------------------------------------------------

TEST(Pkcs11MissingObjectTest, AnActiveKeyDeletedFromTheTokenIsAClearErrorUntilItIsRevoked) {
  Pkcs11Fixture f;
  std::unique_ptr<server::SignetServer> server = StartWith(f.Config(Algorithm::kEdDSA));
  ASSERT_NE(server, nullptr);
  auto stub = testing::NewStub(server->port());
  v1::IssueTokenResponse before = testing::IssueFor(stub.get(), "fay");
  ASSERT_FALSE(before.token().empty());
  {
    std::unique_ptr<server::Pkcs11Token> token = f.OpenToken();
    ASSERT_NE(token, nullptr);
    ASSERT_TRUE(token->Destroy(before.key_id()).ok());
  }
  v1::IssueTokenResponse failed;
  grpc::Status status = TryIssue(stub.get(), &failed);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("missing from the PKCS#11 token"));
  // Verification needs only the public key, which the server holds.
  EXPECT_TRUE(Validate(stub.get(), before.token()).valid());

  // The operator's remedy: revoke it; signing moves to the next key.
  ASSERT_TRUE(RevokeKey(stub.get(), before.key_id()).ok());
  v1::IssueTokenResponse after = testing::IssueFor(stub.get(), "fay");
  EXPECT_NE(after.key_id(), before.key_id());
  EXPECT_TRUE(Validate(stub.get(), after.token()).valid());
  EXPECT_EQ(Validate(stub.get(), before.token()).reason(), v1::REASON_KEY_REVOKED);
}

// --- The token unreachable -----------------------------------------------------------------------

// `p11-kit server` exporting the SoftHSM2 token on a Unix socket: a remote token (as a network
// HSM is) that the test can take away and bring back. p11-kit's client module forwards ECDSA and
// HMAC (not EdDSA), so these tests sign with ES256.
class RemoteToken {
 public:
  RemoteToken(std::string socket, std::string module, std::string label)
      : socket_(std::move(socket)), module_(std::move(module)), label_(std::move(label)) {}
  ~RemoteToken() { Stop(); }

  bool Start() {
    unlink(socket_.c_str());
    pid_ = fork();
    if (pid_ == 0) {
      // Its own process group: the server forks a `p11-kit remote` per connection, and taking
      // the token away must take those too.
      setpgid(0, 0);
      // It prints shell commands naming its socket: not wanted in the test's output.
      const int null = open("/dev/null", O_WRONLY);
      if (null >= 0) dup2(null, STDOUT_FILENO);
      const std::string token = "pkcs11:token=" + label_;
      execlp("p11-kit", "p11-kit", "server", "-f", "-n", socket_.c_str(), "--provider",
             module_.c_str(), token.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 500; ++i) {
      if (access(socket_.c_str(), F_OK) == 0) return true;
      absl::SleepFor(absl::Milliseconds(10));
    }
    return false;
  }
  void Stop() {
    if (pid_ <= 0) return;
    kill(-pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  std::string socket_, module_, label_;
  pid_t pid_ = -1;
};

constexpr char kClientModule[] = "/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so";

// A SoftHSM2 token served by `p11-kit server`, and this process's PKCS#11 client module pointed
// at it (P11_KIT_SERVER_ADDRESS, inherited by the servers the test starts).
class RemoteTokenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(access(kClientModule, R_OK), 0) << "p11-kit's client module (libp11-kit0) is missing";
    const std::string socket = f_.dir_.path() + "/p11-kit.sock";
    remote_ = std::make_unique<RemoteToken>(socket, f_.hsm_.module_path, f_.hsm_.label);
    ASSERT_TRUE(remote_->Start()) << "p11-kit server did not start (apt package p11-kit)";
    setenv("P11_KIT_SERVER_ADDRESS", ("unix:path=" + socket).c_str(), 1);
  }
  void TearDown() override { unsetenv("P11_KIT_SERVER_ADDRESS"); }

  // An in-process server's configuration reaching the token through p11-kit.
  server::ServerConfig RemoteConfig(Algorithm alg) const {
    server::ServerConfig config = f_.Config(alg);
    config.pkcs11_module = kClientModule;
    config.maintenance_interval = absl::Milliseconds(200);
    return config;
  }

  Pkcs11Fixture f_;
  std::unique_ptr<RemoteToken> remote_;
};

TEST_F(RemoteTokenTest, IssuingIsUnavailableAndReadinessLostWhileTheTokenIsAwayThenBoth) {
  RemoteToken& remote = *remote_;
  std::unique_ptr<server::SignetServer> server = StartWith(RemoteConfig(Algorithm::kES256));
  ASSERT_NE(server, nullptr);
  auto stub = testing::NewStub(server->port());
  v1::IssueTokenResponse before = testing::IssueFor(stub.get(), "gus");
  ASSERT_FALSE(before.token().empty());
  EXPECT_EQ(ReadyzStatus(server->http_port()), 200);

  remote.Stop();
  v1::IssueTokenResponse none;
  grpc::Status status = TryIssue(stub.get(), &none);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("PKCS#11"));
  std::string why;
  EXPECT_EQ(ReadyzStatus(server->http_port(), &why), 503);
  EXPECT_THAT(why, HasSubstr("key backend"));
  // Validation needs no token (ES256 verifies from the public key).
  EXPECT_TRUE(Validate(stub.get(), before.token()).valid());
  // Nor does a revocation: the ACTIVE key is revoked at once, the PENDING key (published, but not
  // openable now) takes its place, and the next PENDING key is made once the token is back.
  ASSERT_TRUE(RevokeKey(stub.get(), before.key_id()).ok());
  EXPECT_EQ(Validate(stub.get(), before.token()).reason(), v1::REASON_KEY_REVOKED);

  ASSERT_TRUE(remote.Start());
  // Reconnection is tried at most once a second: ready again within a few.
  const absl::Time back = absl::Now();
  while (ReadyzStatus(server->http_port(), &why) != 200 && absl::Now() - back < absl::Seconds(5)) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(ReadyzStatus(server->http_port(), &why), 200) << why;
  v1::IssueTokenResponse after;
  status = TryIssue(stub.get(), &after);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_NE(after.key_id(), before.key_id());
  EXPECT_TRUE(Validate(stub.get(), after.token()).valid());
  EXPECT_TRUE(testing::WaitUntil(
      [&] {
        v1::ListKeysResponse keys = testing::ListKeysOf(stub.get());
        int pending = 0;
        for (const auto& k : keys.keys()) pending += k.state() == v1::KEY_STATE_PENDING;
        return pending == 1;
      },
      absl::Seconds(10)));
  server.reset();
}

TEST_F(RemoteTokenTest, Hs256ValidationIsUnavailableNotBadSignatureWhileTheTokenIsAway) {
  RemoteToken& remote = *remote_;
  std::unique_ptr<server::SignetServer> server = StartWith(RemoteConfig(Algorithm::kHS256));
  ASSERT_NE(server, nullptr);
  auto stub = testing::NewStub(server->port());
  // Never validated before: no cached answer stands in for the MAC check.
  v1::IssueTokenResponse unchecked = testing::IssueFor(stub.get(), "hal");
  ASSERT_FALSE(unchecked.token().empty());

  remote.Stop();
  auto validate = [&](v1::ValidateTokenResponse* response) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    v1::ValidateTokenRequest request;
    request.set_token(unchecked.token());
    request.set_any_audience(true);
    return stub->ValidateToken(&context, request, response);
  };
  v1::ValidateTokenResponse away;
  grpc::Status status = validate(&away);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << away.reason();
  EXPECT_THAT(status.error_message(), HasSubstr("PKCS#11 token cannot be reached"));

  ASSERT_TRUE(remote.Start());
  const absl::Time back = absl::Now();
  v1::ValidateTokenResponse again;
  while (!(status = validate(&again)).ok() && absl::Now() - back < absl::Seconds(5)) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(again.valid()) << again.reason();
  server.reset();
}

// Two replicas on one PostgreSQL database and one token: replica "direct" reaches it directly,
// replica "remote" through `p11-kit server`, which the test takes away. A key revoked on "direct"
// while "remote" cannot reach the token is refused by "remote" all the same (its new ACTIVE key
// cannot be opened there, but the revocation is published without it); "remote" signs again once
// the token is back.
TEST_F(RemoteTokenTest, AReplicaCutOffFromTheTokenStillHearsRevocationsThenSignsAgain) {
  std::optional<std::string> admin = testing::TestPostgresDsn();
  if (!admin.has_value()) GTEST_SKIP() << testing::kNoPostgresMessage;
  testing::TestDatabase db(*admin);
  ASSERT_EQ(db.error(), "");
  const Pkcs11Fixture& f = f_;
  RemoteToken& remote = *remote_;
  testing::WriteFile(f.dir_.path() + "/kek", std::string(64, 'a'), 0600);
  testing::WriteFile(f.dir_.path() + "/dsn", db.dsn() + "\n", 0600);
  std::vector<std::string> common = {"--store=postgres",
                                     "--postgres_dsn_file=" + f.dir_.path() + "/dsn",
                                     "--kek_file=" + f.dir_.path() + "/kek",
                                     "--http_listen=",
                                     "--algorithm=ES256",
                                     "--maintenance_interval=200ms",
                                     "--key_backend=pkcs11",
                                     "--pkcs11_token_label=" + f.hsm_.label,
                                     "--pkcs11_pin_file=" + f.pin_file_};
  std::vector<std::string> direct_flags = common, remote_flags = common;
  direct_flags.push_back("--pkcs11_module=" + f.hsm_.module_path);
  remote_flags.push_back(std::string("--pkcs11_module=") + kClientModule);
  auto direct = testing::ServerProcess::Start(direct_flags, f.dir_.path() + "/direct.log");
  ASSERT_NE(direct->port(), 0) << direct->Log();
  auto cut_off = testing::ServerProcess::Start(remote_flags, f.dir_.path() + "/remote.log");
  ASSERT_NE(cut_off->port(), 0) << cut_off->Log();
  auto direct_stub = testing::NewStub(direct->port());
  auto cut_off_stub = testing::NewStub(cut_off->port());

  v1::IssueTokenResponse issued = testing::IssueFor(direct_stub.get(), "ivy");
  ASSERT_FALSE(issued.token().empty());
  EXPECT_TRUE(Validate(cut_off_stub.get(), issued.token()).valid());

  remote.Stop();
  v1::IssueTokenResponse none;
  EXPECT_EQ(TryIssue(cut_off_stub.get(), &none).error_code(), grpc::StatusCode::UNAVAILABLE);
  ASSERT_TRUE(RevokeKey(direct_stub.get(), issued.key_id()).ok());
  EXPECT_TRUE(testing::WaitUntil(
      [&] {
        return Validate(cut_off_stub.get(), issued.token()).reason() == v1::REASON_KEY_REVOKED;
      },
      absl::Seconds(5)))
      << cut_off->Log();
  // The new ACTIVE key's tokens verify there too (its public key is in the row).
  v1::IssueTokenResponse fresh = testing::IssueFor(direct_stub.get(), "ivy");
  EXPECT_TRUE(Validate(cut_off_stub.get(), fresh.token()).valid());

  ASSERT_TRUE(remote.Start());
  v1::IssueTokenResponse again;
  EXPECT_TRUE(testing::WaitUntil([&] { return TryIssue(cut_off_stub.get(), &again).ok(); },
                                 absl::Seconds(10)))
      << cut_off->Log();
  EXPECT_EQ(again.key_id(), fresh.key_id());
}

// --- kill -9 while keys are made -----------------------------------------------------------------

// The server is killed at random moments while a client rotates keys as fast as it can (each
// rotation makes a key in the token, then commits its row). After every restart: one ACTIVE and
// one PENDING key, and the token holds exactly the keys the rows name (the objects of rows that
// never committed were destroyed at start), and the server issues and validates.
TEST(Pkcs11CrashTest, KillNineWhileKeysAreMadeLeavesNoKeyWithoutARowAndNoRowWithoutItsKey) {
  Pkcs11Fixture f;
  std::vector<std::string> flags = f.Flags();
  flags.push_back("--http_listen=");
  flags.push_back("--algorithm=ES256");
  std::mt19937 random(20261207);
  std::vector<v1::IssueTokenResponse> acknowledged;
  int rotations_acknowledged = 0;
  int unfinished_by_the_token = 0;
  for (int round = 0; round < 8; ++round) {
    const std::string log = absl::StrCat(f.dir_.path(), "/server-", round, ".log");
    std::unique_ptr<testing::ServerProcess> process = testing::ServerProcess::Start(flags, log);
    ASSERT_NE(process->port(), 0) << process->Log();
    auto stub = testing::NewStub(process->port());

    // What the last round left: consistent.
    v1::ListKeysResponse keys = testing::ListKeysOf(stub.get());
    int active = 0, pending = 0;
    std::vector<std::string> kids;
    for (const auto& k : keys.keys()) {
      kids.push_back(k.key_id());
      active += k.state() == v1::KEY_STATE_ACTIVE;
      pending += k.state() == v1::KEY_STATE_PENDING;
    }
    EXPECT_EQ(active, 1) << "round " << round;
    EXPECT_EQ(pending, 1) << "round " << round;
    std::vector<std::string> in_token;
    {
      std::unique_ptr<server::Pkcs11Token> token = f.OpenToken();
      ASSERT_NE(token, nullptr);
      absl::StatusOr<std::vector<server::Pkcs11Token::KeyObject>> objects = token->ListKeys();
      ASSERT_TRUE(objects.ok()) << objects.status();
      unfinished_by_the_token = 0;
      for (const server::Pkcs11Token::KeyObject& o : *objects) {
        // SoftHSM2 makes an object, then writes its attributes: killed in between, it keeps an
        // object with no id and no label, which nothing can name or sign with (a hardware token
        // makes objects atomically). Counted, and left alone as signet leaves anything it did not
        // label.
        if (o.id.empty() && o.label.empty()) {
          ++unfinished_by_the_token;
          continue;
        }
        in_token.push_back(o.id);
      }
    }
    std::sort(in_token.begin(), in_token.end());
    std::sort(kids.begin(), kids.end());
    std::vector<std::string> without_row, without_key;
    std::set_difference(in_token.begin(), in_token.end(), kids.begin(), kids.end(),
                        std::back_inserter(without_row));
    std::set_difference(kids.begin(), kids.end(), in_token.begin(), in_token.end(),
                        std::back_inserter(without_key));
    EXPECT_THAT(without_row, ::testing::IsEmpty())
        << "keys in the token without a row, round " << round;
    EXPECT_THAT(without_key, ::testing::IsEmpty()) << "rows without their key, round " << round;
    for (const v1::IssueTokenResponse& t : acknowledged) {
      EXPECT_TRUE(Validate(stub.get(), t.token()).valid()) << "round " << round;
    }
    v1::IssueTokenResponse issued = testing::IssueFor(stub.get(), absl::StrCat("round-", round));
    ASSERT_FALSE(issued.token().empty());
    acknowledged.push_back(issued);

    std::atomic<bool> stop{false};
    std::atomic<int> rotations{0};
    std::thread rotator([&] {
      auto own = testing::NewStub(process->port());
      while (!stop.load()) {
        v1::RotateKeyResponse rotated;
        if (Rotate(own.get(), &rotated).ok()) ++rotations;
      }
    });
    // Killed while rotations run: once the first has been acknowledged, at a random moment.
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (rotations.load() == 0 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
    absl::SleepFor(absl::Milliseconds(std::uniform_int_distribution<int>(0, 400)(random)));
    process->Kill9();
    stop.store(true);
    rotator.join();
    rotations_acknowledged += rotations.load();
  }
  // The kills did land while keys were being made.
  EXPECT_GE(rotations_acknowledged, 8);
  std::cout << "rotations acknowledged: " << rotations_acknowledged
            << "; objects SoftHSM2 left unfinished (no id, no label): " << unfinished_by_the_token
            << "\n";
}

}  // namespace
}  // namespace signet
