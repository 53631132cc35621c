#include "tests/unit/client/fake_token_service.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace signet::testing {

void FakeTokenService::FailNext(const std::string& method, int times, grpc::Status status) {
  absl::MutexLock lock(&mu_);
  failures_[method] = {times, std::move(status)};
}

grpc::Status FakeTokenService::Enter(const char* method, const grpc::ServerContext& context) {
  std::string authorization;
  auto it = context.client_metadata().find("authorization");
  if (it != context.client_metadata().end()) {
    authorization = std::string(it->second.data(), it->second.size());
  }
  absl::MutexLock lock(&mu_);
  calls_.emplace_back(method, std::move(authorization));
  auto failure = failures_.find(method);
  if (failure != failures_.end() && failure->second.first > 0) {
    --failure->second.first;
    return failure->second.second;
  }
  return grpc::Status::OK;
}

int FakeTokenService::calls(const std::string& method) const {
  absl::MutexLock lock(&mu_);
  int n = 0;
  for (const auto& [m, unused] : calls_) n += (m == method) ? 1 : 0;
  return n;
}

std::vector<std::string> FakeTokenService::authorizations() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> out;
  for (const auto& [unused, a] : calls_) out.push_back(a);
  return out;
}

void FakeTokenService::SetInitialWatchMessage(v1::WatchKeysResponse initial) {
  absl::MutexLock lock(&mu_);
  initial_ = std::make_unique<v1::WatchKeysResponse>(std::move(initial));
}

void FakeTokenService::PushWatchMessage(const v1::WatchKeysResponse& message) {
  absl::MutexLock lock(&mu_);
  for (Stream* s : streams_) s->queue.push_back(message);
}

void FakeTokenService::EndWatchStreams(grpc::Status status) {
  absl::MutexLock lock(&mu_);
  for (Stream* s : streams_) {
    s->end = true;
    s->status = status;
  }
}

void FakeTokenService::RefuseWatchStreams(grpc::Status status) {
  absl::MutexLock lock(&mu_);
  refuse_ = std::move(status);
}

int FakeTokenService::open_watch_streams() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(streams_.size());
}

void FakeTokenService::Stop() {
  absl::MutexLock lock(&mu_);
  stopped_ = true;
}

grpc::Status FakeTokenService::WatchKeys(grpc::ServerContext* context, const v1::WatchKeysRequest*,
                                         grpc::ServerWriter<v1::WatchKeysResponse>* writer) {
  if (grpc::Status s = Enter("WatchKeys", *context); !s.ok()) return s;
  Stream stream;
  {
    absl::MutexLock lock(&mu_);
    if (!refuse_.ok()) return refuse_;
    if (initial_ != nullptr) stream.queue.push_back(*initial_);
    streams_.push_back(&stream);
  }
  grpc::Status result = grpc::Status::OK;
  while (true) {
    std::deque<v1::WatchKeysResponse> batch;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [&] { return stopped_ || stream.end || !stream.queue.empty(); };
      mu_.AwaitWithTimeout(absl::Condition(&ready), absl::Milliseconds(20));
      if (stopped_) {
        result = grpc::Status(grpc::StatusCode::UNAVAILABLE, "fake stopped");
        break;
      }
      if (stream.queue.empty() && stream.end) {
        result = stream.status;
        break;
      }
      batch.swap(stream.queue);
    }
    if (context->IsCancelled()) {
      result = grpc::Status::CANCELLED;
      break;
    }
    bool ok = true;
    for (const v1::WatchKeysResponse& m : batch) ok = ok && writer->Write(m);
    if (!ok) {
      result = grpc::Status::CANCELLED;
      break;
    }
  }
  absl::MutexLock lock(&mu_);
  streams_.erase(std::find(streams_.begin(), streams_.end(), &stream));
  return result;
}

#define SIGNET_FAKE_UNARY(Method, field)                                    \
  grpc::Status FakeTokenService::Method(grpc::ServerContext* context,       \
                                        const v1::Method##Request* request, \
                                        v1::Method##Response* response) {   \
    if (grpc::Status s = Enter(#Method, *context); !s.ok()) return s;       \
    if (field) return field(*request, response);                            \
    return grpc::Status::OK;                                                \
  }

SIGNET_FAKE_UNARY(IssueToken, issue)
SIGNET_FAKE_UNARY(ValidateToken, validate)
SIGNET_FAKE_UNARY(RotateKey, rotate)
SIGNET_FAKE_UNARY(GetJwks, get_jwks)
SIGNET_FAKE_UNARY(ListKeys, list_keys)
#undef SIGNET_FAKE_UNARY

grpc::Status FakeTokenService::RevokeKey(grpc::ServerContext* context,
                                         const v1::RevokeKeyRequest* request,
                                         v1::RevokeKeyResponse* response) {
  if (grpc::Status s = Enter("RevokeKey", *context); !s.ok()) return s;
  response->mutable_key()->set_key_id(request->key_id());
  return grpc::Status::OK;
}

grpc::Status FakeTokenService::RevokeToken(grpc::ServerContext* context,
                                           const v1::RevokeTokenRequest* request,
                                           v1::RevokeTokenResponse* response) {
  if (grpc::Status s = Enter("RevokeToken", *context); !s.ok()) return s;
  response->set_token_id(request->token_id());
  return grpc::Status::OK;
}

grpc::Status FakeTokenService::RevokeSubject(grpc::ServerContext* context,
                                             const v1::RevokeSubjectRequest* request,
                                             v1::RevokeSubjectResponse* response) {
  if (grpc::Status s = Enter("RevokeSubject", *context); !s.ok()) return s;
  response->set_subject(request->subject());
  return grpc::Status::OK;
}

FakeServer::FakeServer(grpc::Service* service, int port,
                       std::shared_ptr<grpc::ServerCredentials> credentials) {
  grpc::ServerBuilder builder;
  if (credentials == nullptr) credentials = grpc::InsecureServerCredentials();
  builder.AddListeningPort(absl::StrCat("127.0.0.1:", port), credentials, &port_);
  builder.RegisterService(service);
  server_ = builder.BuildAndStart();
}

FakeServer::~FakeServer() { Shutdown(); }

std::string FakeServer::target() const { return absl::StrCat("127.0.0.1:", port_); }

void FakeServer::Shutdown() {
  if (server_ == nullptr) return;
  server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
  server_->Wait();
  server_.reset();
}

}  // namespace signet::testing
