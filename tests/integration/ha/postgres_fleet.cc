#include "tests/integration/ha/postgres_fleet.h"

#include <cstdlib>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "signet/v1/token_service.pb.h"

namespace signet::testing {
namespace {

namespace v1 = ::signet::v1;

std::string KeyStateName(v1::KeyState state) {
  switch (state) {
    case v1::KEY_STATE_PENDING:
      return "PENDING";
    case v1::KEY_STATE_ACTIVE:
      return "ACTIVE";
    case v1::KEY_STATE_RETIRED:
      return "RETIRED";
    case v1::KEY_STATE_REVOKED:
      return "REVOKED";
    default:
      return "UNSPECIFIED";
  }
}

}  // namespace

// --- PostgresInstance ----------------------------------------------------------------------------

std::unique_ptr<PostgresInstance> PostgresInstance::Start() {
  std::unique_ptr<PostgresInstance> instance(new PostgresInstance());
  instance->dir_ = std::make_unique<TempDir>();
  if (!instance->Run("start")) return nullptr;
  // The env file holds: export SIGNET_TEST_POSTGRES_DSN='host=DIR port=... dbname=... user=...'
  const std::string env = ReadFile(instance->dir_->path() + "/env");
  const std::string prefix = "export SIGNET_TEST_POSTGRES_DSN='";
  const size_t begin = env.find(prefix);
  const size_t end = begin == std::string::npos ? begin : env.find('\'', begin + prefix.size());
  if (end == std::string::npos) {
    ADD_FAILURE() << "no DSN in " << instance->dir_->path() << "/env:\n" << env;
    return nullptr;
  }
  instance->dsn_ = env.substr(begin + prefix.size(), end - begin - prefix.size());
  return instance;
}

PostgresInstance::~PostgresInstance() { Run("stop"); }

bool PostgresInstance::Stop() { return Run("stop"); }

bool PostgresInstance::Restart() { return Run("start"); }

bool PostgresInstance::Run(const std::string& command) {
  const std::string out = dir_->path() + "/script.out";
  const std::string line =
      absl::StrCat("bash '", SIGNET_SOURCE_DIR, "/scripts/postgres-test-instance.sh' ", command,
                   " '", dir_->path(), "' >'", out, "' 2>&1");
  const int status = std::system(line.c_str());
  if (status != 0) {
    ADD_FAILURE() << "postgres-test-instance.sh " << command << " failed (" << status << "):\n"
                  << ReadFile(out);
    return false;
  }
  return true;
}

// --- Fleet ---------------------------------------------------------------------------------------

Fleet::Fleet(std::string dsn, int size, std::vector<std::string> extra_args)
    : dsn_(std::move(dsn)), extra_args_(std::move(extra_args)) {
  // 32 random bytes as hex; every replica must open the others' keys.
  WriteFile(dir_.path() + "/kek", RandomHex(32), 0600);
  WriteFile(dir_.path() + "/dsn", dsn_ + "\n", 0600);
  for (int i = 0; i < size; ++i) {
    replicas_.push_back(StartReplica(i));
    stubs_.push_back(NewStub(replicas_.back()->port()));
  }
}

Fleet::~Fleet() {
  for (std::unique_ptr<ServerProcess>& replica : replicas_) replica->Kill9();
}

bool Fleet::started() const {
  for (const std::unique_ptr<ServerProcess>& replica : replicas_) {
    if (replica->port() == 0) return false;
  }
  return true;
}

std::unique_ptr<ServerProcess> Fleet::StartReplica(int replica) {
  std::vector<std::string> args = {
      "--store=postgres",
      "--postgres_dsn_file=" + dir_.path() + "/dsn",
      "--kek_file=" + dir_.path() + "/kek",
      "--http_listen=",
      "--postgres_connect_timeout=3s",
  };
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  return ServerProcess::Start(args, absl::StrCat(dir_.path(), "/replica-", replica, ".log"));
}

void Fleet::Kill9(int replica) { replicas_[replica]->Kill9(); }

bool Fleet::Restart(int replica) {
  replicas_[replica]->Kill9();
  replicas_[replica] = StartReplica(replica);
  stubs_[replica] = NewStub(replicas_[replica]->port());
  return replicas_[replica]->port() != 0;
}

// --- Calls ---------------------------------------------------------------------------------------

bool WaitUntil(const std::function<bool()>& done, absl::Duration max) {
  const absl::Time deadline = absl::Now() + max;
  while (true) {
    if (done()) return true;
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
}

std::unique_ptr<grpc::ClientContext> CallContext(absl::Duration deadline) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  return context;
}

v1::IssueTokenResponse Issue(v1::TokenService::Stub* stub, const std::string& subject) {
  v1::IssueTokenRequest request;
  request.set_subject(subject);
  v1::IssueTokenResponse response;
  grpc::Status status = stub->IssueToken(CallContext().get(), request, &response);
  if (!status.ok()) {
    ADD_FAILURE() << "IssueToken failed: " << status.error_code() << " " << status.error_message();
    return v1::IssueTokenResponse();
  }
  return response;
}

std::optional<v1::ValidateTokenResponse> Validate(v1::TokenService::Stub* stub,
                                                  const std::string& token) {
  v1::ValidateTokenRequest request;
  request.set_token(token);
  request.set_any_audience(true);
  v1::ValidateTokenResponse response;
  if (!stub->ValidateToken(CallContext().get(), request, &response).ok()) return std::nullopt;
  return response;
}

int ReasonOn(v1::TokenService::Stub* stub, const std::string& token) {
  std::optional<v1::ValidateTokenResponse> response = Validate(stub, token);
  return response.has_value() ? response->reason() : -1;
}

std::vector<std::string> KeyStates(v1::TokenService::Stub* stub) {
  v1::ListKeysRequest request;
  request.set_include_revoked(true);
  v1::ListKeysResponse response;
  grpc::Status status = stub->ListKeys(CallContext().get(), request, &response);
  if (!status.ok()) return {absl::StrCat("ERROR: ", status.error_message())};
  std::vector<std::string> states;
  for (const v1::Key& key : response.keys()) {
    states.push_back(absl::StrCat(key.key_id(), "=", KeyStateName(key.state())));
  }
  return states;
}

int HealthStatus(int port) {
  grpc::GenericStub generic(NewChannel(port));
  std::unique_ptr<grpc::ClientContext> context = CallContext(absl::Seconds(5));
  // grpc.health.v1.HealthCheckRequest{service: ""}: the whole server.
  grpc::Slice empty("", 0);
  grpc::ByteBuffer request(&empty, 1);
  grpc::ByteBuffer response;
  grpc::Status status;
  absl::Notification done;
  generic.UnaryCall(context.get(), "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request,
                    &response, [&](grpc::Status s) {
                      status = std::move(s);
                      done.Notify();
                    });
  done.WaitForNotification();
  if (!status.ok()) return -1;
  std::vector<grpc::Slice> slices;
  if (!response.Dump(&slices).ok()) return -1;
  std::string bytes;
  for (const grpc::Slice& s : slices)
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  // HealthCheckResponse{status} is field 1 as a varint: 0x08 then the value (0 is omitted).
  if (bytes.empty()) return 0;
  if (bytes.size() != 2 || bytes[0] != 0x08) return -1;
  return bytes[1];
}

}  // namespace signet::testing
