#include "signet/call_credentials.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "signet/proto_time.h"

namespace signet {
namespace {

// A source that always answers the same token.
class FixedTokenSource final : public TokenSource {
 public:
  explicit FixedTokenSource(std::string token) : token_{std::move(token)} {}
  absl::StatusOr<Token> Fetch() override { return token_; }

 private:
  const Token token_;
};

std::shared_ptr<grpc::CallCredentials> FromPlugin(std::unique_ptr<BearerTokenPlugin> plugin,
                                                  grpc_security_level min_security_level) {
  return grpc::experimental::MetadataCredentialsFromPlugin(std::move(plugin), min_security_level);
}

}  // namespace

IssueTokenSource::IssueTokenSource(std::shared_ptr<const Client> client,
                                   v1::IssueTokenRequest request)
    : client_(std::move(client)), request_(std::move(request)) {}

absl::StatusOr<Token> IssueTokenSource::Fetch() {
  absl::StatusOr<v1::IssueTokenResponse> issued = client_->IssueToken(request_);
  if (!issued.ok()) return issued.status();
  Token token;
  token.token = std::move(*issued->mutable_token());
  token.expires_at =
      issued->has_expires_at() ? FromProtoTime(issued->expires_at()) : absl::InfiniteFuture();
  return token;
}

CachedTokenSource::CachedTokenSource(std::shared_ptr<TokenSource> source, absl::Duration margin,
                                     const Clock* clock)
    : source_(std::move(source)), margin_(margin), clock_(clock) {}

absl::StatusOr<Token> CachedTokenSource::Fetch() {
  absl::MutexLock lock(&mu_);
  while (true) {
    absl::Time now = clock_->Now();
    bool valid = cached_.has_value() && now < cached_->expires_at;
    if (valid && now < cached_->expires_at - margin_) return *cached_;
    if (!refreshing_) break;
    // Someone else is refreshing: a still-valid token will do meanwhile; otherwise wait for it.
    if (valid) return *cached_;
    mu_.Await(absl::Condition(
        +[](bool* refreshing) { return !*refreshing; }, &refreshing_));
  }
  refreshing_ = true;
  mu_.Unlock();
  absl::StatusOr<Token> fresh = source_->Fetch();
  mu_.Lock();
  refreshing_ = false;
  if (fresh.ok()) {
    cached_ = *fresh;
    return fresh;
  }
  absl::Time now = clock_->Now();
  if (cached_.has_value() && now < cached_->expires_at) return *cached_;
  return absl::UnauthenticatedError(
      absl::StrCat("no valid bearer token: refresh failed: ", fresh.status().ToString()));
}

BearerTokenPlugin::BearerTokenPlugin(std::shared_ptr<TokenSource> source, bool blocking)
    : source_(std::move(source)), blocking_(blocking) {}

grpc::Status BearerTokenPlugin::GetMetadata(grpc::string_ref, grpc::string_ref,
                                            const grpc::AuthContext&,
                                            std::multimap<grpc::string, grpc::string>* metadata) {
  absl::StatusOr<Token> token = source_->Fetch();
  if (!token.ok()) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, std::string(token.status().message()));
  }
  metadata->emplace("authorization", absl::StrCat("Bearer ", token->token));
  return grpc::Status::OK;
}

std::shared_ptr<grpc::CallCredentials> BearerTokenCredentials(
    std::string token, grpc_security_level min_security_level) {
  return FromPlugin(std::make_unique<BearerTokenPlugin>(
                        std::make_shared<FixedTokenSource>(std::move(token)), /*blocking=*/false),
                    min_security_level);
}

std::shared_ptr<grpc::CallCredentials> RefreshingTokenCredentials(
    std::shared_ptr<TokenSource> source, absl::Duration margin, const Clock* clock,
    grpc_security_level min_security_level) {
  return FromPlugin(
      std::make_unique<BearerTokenPlugin>(
          std::make_shared<CachedTokenSource>(std::move(source), margin, clock), /*blocking=*/true),
      min_security_level);
}

}  // namespace signet
