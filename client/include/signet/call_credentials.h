// gRPC call credentials that send "authorization: Bearer <token>" on every call, from a fixed
// token or from a source that is asked again shortly before the token expires.
//
// Example (a service calling other services under its own identity):
//   std::shared_ptr<signet::Client> signet_client = ...;    // plain, without call credentials
//   signet::v1::IssueTokenRequest who;
//   who.set_subject("svc:billing");
//   who.add_audience("orders");
//   std::shared_ptr<grpc::CallCredentials> creds = signet::RefreshingTokenCredentials(
//       std::make_shared<signet::IssueTokenSource>(signet_client, who), absl::Minutes(1));
//   grpc::ClientContext context;
//   context.set_credentials(creds);                          // or CompositeChannelCredentials
//   orders_stub->PlaceOrder(&context, request, &response);
//
// gRPC sends call credentials only over a channel at least as secure as `min_security_level`:
// TLS by default. Over a plaintext loopback channel pass GRPC_SECURITY_NONE explicitly.
// Tokens are secrets: nothing here logs them or puts them in a status message.
#ifndef SIGNET_CALL_CREDENTIALS_H_
#define SIGNET_CALL_CREDENTIALS_H_

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpc/grpc_security_constants.h"
#include "grpcpp/security/credentials.h"
#include "signet/client.h"
#include "signet/clock.h"
#include "signet/v1/token_service.pb.h"

namespace signet {

// A bearer token and when it stops being accepted.
struct Token {
  std::string token;  // A secret.
  absl::Time expires_at = absl::InfiniteFuture();
};

// Where tokens come from. Implementations must be thread-safe.
class TokenSource {
 public:
  virtual ~TokenSource() = default;
  // A fresh token, or why none can be had now.
  virtual absl::StatusOr<Token> Fetch() = 0;
};

// Tokens minted by signet's IssueToken for a fixed request (a service identity). The client needs
// the issuer role; it must not itself use credentials fed by this source.
class IssueTokenSource final : public TokenSource {
 public:
  IssueTokenSource(std::shared_ptr<const Client> client, v1::IssueTokenRequest request);
  absl::StatusOr<Token> Fetch() override;

 private:
  const std::shared_ptr<const Client> client_;
  const v1::IssueTokenRequest request_;
};

// Caches another source's token and asks it again once now >= expires_at - margin. When that
// refresh fails while the cached token is still valid (now < expires_at), the cached token is
// returned and the next Fetch tries again; with no valid token the error is UNAUTHENTICATED.
// Only one refresh runs at a time; callers holding a still-valid token do not wait for it.
// Thread-safe.
class CachedTokenSource final : public TokenSource {
 public:
  CachedTokenSource(std::shared_ptr<TokenSource> source, absl::Duration margin,
                    const Clock* clock = &Clock::Real());
  absl::StatusOr<Token> Fetch() override;

 private:
  const std::shared_ptr<TokenSource> source_;
  const absl::Duration margin_;
  const Clock* const clock_;
  absl::Mutex mu_;
  std::optional<Token> cached_ ABSL_GUARDED_BY(mu_);
  bool refreshing_ ABSL_GUARDED_BY(mu_) = false;
};

// The gRPC plugin behind the functions below: asks `source` on every call and attaches
// "authorization: Bearer <token>"; a source error fails the call (UNAUTHENTICATED from the
// plugin; gRPC may report it to the caller under another code) and the token is not sent.
class BearerTokenPlugin final : public grpc::MetadataCredentialsPlugin {
 public:
  // `blocking`: the source may block (e.g. an RPC), so gRPC must call it off its I/O threads.
  BearerTokenPlugin(std::shared_ptr<TokenSource> source, bool blocking);
  bool IsBlocking() const override { return blocking_; }
  const char* GetType() const override { return "signet.bearer"; }
  grpc::Status GetMetadata(grpc::string_ref service_url, grpc::string_ref method_name,
                           const grpc::AuthContext& channel_auth_context,
                           std::multimap<grpc::string, grpc::string>* metadata) override;
  grpc::string DebugString() override { return "signet bearer token credentials"; }

 private:
  const std::shared_ptr<TokenSource> source_;
  const bool blocking_;
};

// Attaches a fixed token (which never expires as far as the client knows).
std::shared_ptr<grpc::CallCredentials> BearerTokenCredentials(
    std::string token, grpc_security_level min_security_level = GRPC_PRIVACY_AND_INTEGRITY);

// Attaches the token of CachedTokenSource(source, margin, clock).
std::shared_ptr<grpc::CallCredentials> RefreshingTokenCredentials(
    std::shared_ptr<TokenSource> source, absl::Duration margin = absl::Minutes(1),
    const Clock* clock = &Clock::Real(),
    grpc_security_level min_security_level = GRPC_PRIVACY_AND_INTEGRITY);

}  // namespace signet

#endif  // SIGNET_CALL_CREDENTIALS_H_
