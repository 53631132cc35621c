#include "signet/client.h"

#include <utility>

#include "absl/time/clock.h"

namespace signet {

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

void WatchCancellation::Cancel() {
  absl::MutexLock lock(&mu_);
  cancelled_ = true;
  if (context_ != nullptr) context_->TryCancel();
}

bool WatchCancellation::cancelled() const {
  absl::MutexLock lock(&mu_);
  return cancelled_;
}

bool WatchCancellation::Attach(grpc::ClientContext* context) {
  absl::MutexLock lock(&mu_);
  if (cancelled_) return false;
  context_ = context;
  return true;
}

void WatchCancellation::Detach() {
  absl::MutexLock lock(&mu_);
  context_ = nullptr;
}

Client::Client(std::shared_ptr<grpc::Channel> channel, ClientOptions options)
    : channel_(std::move(channel)),
      stub_(v1::TokenService::NewStub(channel_)),
      options_(std::move(options)) {}

std::unique_ptr<Client> Client::Create(std::shared_ptr<grpc::Channel> channel,
                                       ClientOptions options) {
  return std::unique_ptr<Client>(new Client(std::move(channel), std::move(options)));
}

absl::StatusOr<std::unique_ptr<Client>> Client::Create(const ChannelOptions& channel_options,
                                                       ClientOptions options) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = MakeChannel(channel_options);
  if (!channel.ok()) return channel.status();
  return Create(*std::move(channel), std::move(options));
}

void Client::Prepare(grpc::ClientContext* context, bool with_deadline) const {
  // gRPC deadlines are wall-clock instants; this is transport, not token logic.
  if (with_deadline) context->set_deadline(absl::ToChronoTime(absl::Now() + options_.deadline));
  if (options_.call_credentials != nullptr) context->set_credentials(options_.call_credentials);
}

template <typename Request, typename Response>
absl::StatusOr<Response> Client::Call(
    grpc::Status (v1::TokenService::Stub::*method)(grpc::ClientContext*, const Request&, Response*),
    const Request& request) const {
  grpc::ClientContext context;
  Prepare(&context, /*with_deadline=*/true);
  Response response;
  grpc::Status status = (stub_.get()->*method)(&context, request, &response);
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}

absl::StatusOr<v1::IssueTokenResponse> Client::IssueToken(
    const v1::IssueTokenRequest& request) const {
  return Call(&v1::TokenService::Stub::IssueToken, request);
}

absl::StatusOr<v1::ValidateTokenResponse> Client::ValidateToken(
    const v1::ValidateTokenRequest& request) const {
  return Call(&v1::TokenService::Stub::ValidateToken, request);
}

absl::StatusOr<v1::RevokeKeyResponse> Client::RevokeKey(const v1::RevokeKeyRequest& request) const {
  return Call(&v1::TokenService::Stub::RevokeKey, request);
}

absl::StatusOr<v1::RotateKeyResponse> Client::RotateKey(const v1::RotateKeyRequest& request) const {
  return Call(&v1::TokenService::Stub::RotateKey, request);
}

absl::StatusOr<v1::ListKeysResponse> Client::ListKeys(const v1::ListKeysRequest& request) const {
  return Call(&v1::TokenService::Stub::ListKeys, request);
}

absl::StatusOr<v1::GetJwksResponse> Client::GetJwks(const v1::GetJwksRequest& request) const {
  return Call(&v1::TokenService::Stub::GetJwks, request);
}

absl::StatusOr<v1::RevokeTokenResponse> Client::RevokeToken(
    const v1::RevokeTokenRequest& request) const {
  return Call(&v1::TokenService::Stub::RevokeToken, request);
}

absl::StatusOr<v1::RevokeSubjectResponse> Client::RevokeSubject(
    const v1::RevokeSubjectRequest& request) const {
  return Call(&v1::TokenService::Stub::RevokeSubject, request);
}

absl::Status Client::WatchKeys(const std::function<bool(const v1::WatchKeysResponse&)>& on_message,
                               WatchCancellation* cancellation) const {
  grpc::ClientContext context;
  Prepare(&context, /*with_deadline=*/false);
  if (cancellation != nullptr && !cancellation->Attach(&context)) {
    return absl::CancelledError("WatchKeys cancelled");
  }
  std::unique_ptr<grpc::ClientReader<v1::WatchKeysResponse>> reader =
      stub_->WatchKeys(&context, v1::WatchKeysRequest());
  v1::WatchKeysResponse message;
  bool stopped = false;
  while (reader->Read(&message)) {
    if (stopped) continue;  // Drain what is in flight after TryCancel.
    if (!on_message(message)) {
      stopped = true;
      context.TryCancel();
    }
  }
  grpc::Status status = reader->Finish();
  bool cancelled = false;
  if (cancellation != nullptr) {
    cancellation->Detach();
    cancelled = cancellation->cancelled();
  }
  if (stopped) return absl::OkStatus();
  if (cancelled) return absl::CancelledError("WatchKeys cancelled");
  return FromGrpcStatus(status);
}

}  // namespace signet
