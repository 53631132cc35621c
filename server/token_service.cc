#include "server/token_service.h"

#include <array>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "server/caller_claims.h"
#include "server/log.h"
#include "server/metrics/server_metrics.h"
#include "server/proto_convert.h"
#include "server/redaction.h"
#include "signet/reason.h"
#include "token/signing/token_signer.h"

namespace signet::server {
namespace {

constexpr size_t kMaxSubjectBytes = 256;
constexpr size_t kMaxBackendBytes = 256;
constexpr size_t kMaxAudiences = 16;
constexpr size_t kMaxAudienceBytes = 256;
constexpr size_t kMaxClaimsBytes = 4 * 1024;
constexpr size_t kMaxTokenIdBytes = 256;
constexpr size_t kMaxRevokeReasonBytes = 512;

grpc::Status ToGrpc(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

// A store that fails to write is a service fault the caller may retry: UNAVAILABLE, whatever the
// store's own code. Decisions (NotFound, FailedPrecondition, Aborted...) pass through.
grpc::Status ChangeStatus(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kDataLoss:
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kResourceExhausted:
      ServerMetrics::Global().RecordStoreError(ServerMetrics::StoreErrorSource::kChange);
      return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          absl::StrCat("key store unavailable: ", s.message()));
    case absl::StatusCode::kUnavailable:
      ServerMetrics::Global().RecordStoreError(ServerMetrics::StoreErrorSource::kChange);
      return ToGrpc(s);
    default:
      return ToGrpc(s);
  }
}

grpc::Status Invalid(std::string message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::move(message));
}

grpc::ServerUnaryReactor* Done(grpc::CallbackServerContext* context, grpc::Status status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(std::move(status));
  return reactor;
}

// Checks a required/optional bounded text field; returns a message naming it, or empty.
std::string CheckText(const char* field, const std::string& value, size_t max, bool required) {
  if (required && value.empty()) return absl::StrCat(field, " is required");
  if (value.size() > max) {
    return absl::StrCat(field, " is ", value.size(), " bytes; at most ", max, " are allowed");
  }
  return "";
}

// Free text that is logged and shown to other clients: one line of printable characters. The
// request is UTF-8 already (protobuf checks), so only control characters are left to refuse: C0,
// DEL and C1 (U+0080..U+009F, encoded C2 80..C2 9F).
std::string CheckPrintable(const char* field, const std::string& value) {
  for (size_t i = 0; i < value.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(value[i]);
    const bool c1 = c == 0xC2 && i + 1 < value.size() &&
                    static_cast<unsigned char>(value[i + 1]) >= 0x80 &&
                    static_cast<unsigned char>(value[i + 1]) <= 0x9F;
    if (c < 0x20 || c == 0x7F || c1) {
      return absl::StrCat(field, " has a control character at byte ", i,
                          "; only printable characters on one line are allowed");
    }
  }
  return "";
}

// The serialized ValidateTokenResponse of a valid token: made once per token, then served from the
// validation cache byte for byte.
std::string RenderValidResponse(const VerifiedToken& t) {
  signet::v1::ValidateTokenResponse response;
  response.set_valid(true);
  response.set_reason(ToProtoReason(Reason::kValid));
  response.set_subject(t.subject());
  response.set_backend(t.backend());
  for (const std::string& aud : t.audiences()) response.add_audience(aud);
  *response.mutable_issued_at() = ToProtoTime(t.issued_at());
  *response.mutable_expires_at() = ToProtoTime(t.expires_at());
  response.set_token_id(t.token_id());
  response.set_key_id(t.key_id());
  // Most tokens carry no caller claims: then the payload is not read again.
  if (t.has_caller_claims()) CallerClaimsToStruct(t, response.mutable_claims());
  return response.SerializeAsString();
}

// ValidateTokenResponse{valid: false, reason}, serialized once per reason.
const grpc::Slice& InvalidResponse(Reason reason) {
  constexpr int kReasons = kReasonCount;
  static const std::array<grpc::Slice, kReasons>* const responses = [] {
    auto* all = new std::array<grpc::Slice, kReasons>();
    for (int i = 0; i < kReasons; ++i) {
      signet::v1::ValidateTokenResponse r;
      r.set_reason(ToProtoReason(static_cast<Reason>(i)));
      (*all)[i] = grpc::Slice(r.SerializeAsString());
    }
    return all;
  }();
  const int i = static_cast<int>(reason);
  return (*responses)[i >= 0 && i < kReasons ? i : static_cast<int>(Reason::kMalformed)];
}

// What a request that protobuf refused to parse is answered.
grpc::Status NotA(const google::protobuf::MessageLite& message) {
  return Invalid(absl::StrCat("the request is not a ", message.GetTypeName(),
                              " (string fields must be UTF-8)"));
}

bool ParseRequest(const grpc::ByteBuffer& bytes, google::protobuf::MessageLite* message) {
  grpc::Slice slice;
  if (!bytes.TrySingleSlice(&slice).ok() && !bytes.DumpToSingleSlice(&slice).ok()) return false;
  return message->ParseFromArray(slice.begin(), static_cast<int>(slice.size()));
}

}  // namespace

TokenService::TokenService(Deps deps)
    : deps_(std::move(deps)),
      verifier_(deps_.ring,
                *TokenVerifier::Create(ValidationPolicy{deps_.config.issuer, deps_.config.leeway,
                                                        deps_.config.max_token_bytes}),
                deps_.clock, deps_.config.validation_cache_entries, RenderValidResponse) {}

absl::StatusOr<Caller> TokenService::Admit(const grpc::CallbackServerContext& context, Rpc rpc) {
  Caller caller = deps_.authorizer->Identify(context);
  if (absl::Status s = deps_.authorizer->Authorize(caller, rpc); !s.ok()) {
    deps_.audit->Record(AuditEvent("refused", caller, context.peer())
                            .Str("rpc", RpcName(rpc))
                            .Str("why", s.message()));
    return s;
  }
  return caller;
}

void TokenService::AuditChange(AuditEvent event, const absl::Status& status) {
  deps_.audit->Record(event.Str("result", status.ok() ? "ok" : status.ToString()));
}

template <typename Request, typename Response>
grpc::ServerUnaryReactor* TokenService::Unary(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request_bytes,
    grpc::ByteBuffer* response_bytes, Rpc rpc,
    grpc::Status (TokenService::*handle)(grpc::CallbackServerContext*, const Request*, Response*)) {
  Request request;
  if (!ParseRequest(*request_bytes, &request)) {
    absl::StatusOr<Caller> caller = Admit(*context, rpc);
    if (!caller.ok()) return Done(context, ToGrpc(caller.status()));
    return Done(context, NotA(request));
  }
  Response response;
  grpc::Status status = (this->*handle)(context, &request, &response);
  if (status.ok()) {
    grpc::Slice bytes(response.SerializeAsString());
    *response_bytes = grpc::ByteBuffer(&bytes, 1);
  }
  return Done(context, std::move(status));
}

grpc::ServerUnaryReactor* TokenService::IssueToken(grpc::CallbackServerContext* context,
                                                   const grpc::ByteBuffer* request,
                                                   grpc::ByteBuffer* response) {
  return Unary(context, request, response, Rpc::kIssueToken, &TokenService::HandleIssueToken);
}

grpc::ServerUnaryReactor* TokenService::RevokeKey(grpc::CallbackServerContext* context,
                                                  const grpc::ByteBuffer* request,
                                                  grpc::ByteBuffer* response) {
  return Unary(context, request, response, Rpc::kRevokeKey, &TokenService::HandleRevokeKey);
}

grpc::ServerUnaryReactor* TokenService::RotateKey(grpc::CallbackServerContext* context,
                                                  const grpc::ByteBuffer* request,
                                                  grpc::ByteBuffer* response) {
  return Unary(context, request, response, Rpc::kRotateKey, &TokenService::HandleRotateKey);
}

grpc::ServerUnaryReactor* TokenService::ListKeys(grpc::CallbackServerContext* context,
                                                 const grpc::ByteBuffer* request,
                                                 grpc::ByteBuffer* response) {
  return Unary(context, request, response, Rpc::kListKeys, &TokenService::HandleListKeys);
}

grpc::ServerUnaryReactor* TokenService::GetJwks(grpc::CallbackServerContext* context,
                                                const grpc::ByteBuffer* request,
                                                grpc::ByteBuffer* response) {
  return Unary(context, request, response, Rpc::kGetJwks, &TokenService::HandleGetJwks);
}

grpc::ServerUnaryReactor* TokenService::RevokeToken(grpc::CallbackServerContext* context,
                                                    const grpc::ByteBuffer* request,
                                                    grpc::ByteBuffer* response) {
  return Unary(context, request, response, Rpc::kRevokeToken, &TokenService::HandleRevokeToken);
}

grpc::ServerUnaryReactor* TokenService::RevokeSubject(grpc::CallbackServerContext* context,
                                                      const grpc::ByteBuffer* request,
                                                      grpc::ByteBuffer* response) {
  return Unary(context, request, response, Rpc::kRevokeSubject, &TokenService::HandleRevokeSubject);
}

namespace {

// The request's ttl (the default when unset or zero, in whole seconds) into *ttl; an error message,
// or "" when it is acceptable.
std::string CheckTtl(const signet::v1::IssueTokenRequest& request, const ServerConfig& config,
                     absl::Duration* ttl) {
  *ttl = config.default_ttl;
  if (!request.has_ttl()) return "";
  const google::protobuf::Duration& d = request.ttl();
  if (d.seconds() < 0 || d.nanos() < 0) return "ttl must not be negative";
  const absl::Duration asked = FromProtoDuration(d);
  if (asked <= absl::ZeroDuration()) return "";
  if (asked < absl::Seconds(1)) return "ttl must be at least 1s";
  if (asked > config.max_ttl) {
    return absl::StrCat("ttl ", absl::FormatDuration(asked), " exceeds the maximum of ",
                        absl::FormatDuration(config.max_ttl));
  }
  *ttl = absl::Seconds(absl::ToInt64Seconds(asked));
  return "";
}

// The caller claims as JSON into *json ("" when there are none); an error message, or "".
std::string EncodeCallerClaims(const signet::v1::IssueTokenRequest& request, std::string* json) {
  json->clear();
  if (!request.has_claims() || request.claims().fields_size() == 0) return "";
  google::protobuf::util::JsonPrintOptions options;
  if (!google::protobuf::util::MessageToJsonString(request.claims(), json, options).ok()) {
    return "claims cannot be encoded as JSON";
  }
  if (json->size() > kMaxClaimsBytes) {
    return absl::StrCat("claims are ", json->size(), " bytes as JSON; at most ", kMaxClaimsBytes,
                        " are allowed");
  }
  return "";
}

// Every field of an IssueToken request within its bounds: an error message, or "". Sets *ttl and
// *claims_json.
std::string CheckIssueRequest(const signet::v1::IssueTokenRequest& request,
                              const ServerConfig& config, absl::Duration* ttl,
                              std::string* claims_json) {
  if (std::string e = CheckText("subject", request.subject(), kMaxSubjectBytes, true); !e.empty()) {
    return e;
  }
  if (std::string e = CheckText("backend", request.backend(), kMaxBackendBytes, false);
      !e.empty()) {
    return e;
  }
  if (static_cast<size_t>(request.audience_size()) > kMaxAudiences) {
    return absl::StrCat("at most ", kMaxAudiences, " audiences, got ", request.audience_size());
  }
  for (const std::string& aud : request.audience()) {
    if (std::string e = CheckText("audience", aud, kMaxAudienceBytes, true); !e.empty()) return e;
  }
  if (std::string e = CheckTtl(request, config, ttl); !e.empty()) return e;
  return EncodeCallerClaims(request, claims_json);
}

// The claims of the token to issue at `now`, with a fresh jti.
TokenClaims ClaimsToIssue(const signet::v1::IssueTokenRequest& request, const std::string& issuer,
                          const RevocationSet& revocations, absl::Time now, absl::Duration ttl,
                          std::string claims_json) {
  TokenClaims claims;
  claims.issuer = issuer;
  claims.subject = request.subject();
  claims.backend = request.backend();
  claims.audiences.assign(request.audience().begin(), request.audience().end());
  claims.issued_at = absl::FromUnixSeconds(absl::ToUnixSeconds(now));
  // iat has whole seconds, and a subject revocation's not_before is rounded up to one: a token
  // issued in the same second as "log out everywhere", but after it, starts at the next second
  // (within the leeway) so it is not refused for its whole life.
  if (revocations.IsSubjectRevoked(claims.subject, claims.issued_at, now) &&
      !revocations.IsSubjectRevoked(claims.subject, claims.issued_at + absl::Seconds(1), now)) {
    claims.issued_at += absl::Seconds(1);
  }
  claims.expires_at = claims.issued_at + ttl;
  claims.token_id = NewTokenId();
  claims.caller_claims_json = std::move(claims_json);
  return claims;
}

}  // namespace

grpc::Status TokenService::HandleIssueToken(grpc::CallbackServerContext* context,
                                            const signet::v1::IssueTokenRequest* request,
                                            signet::v1::IssueTokenResponse* response) {
  absl::StatusOr<Caller> caller = Admit(*context, Rpc::kIssueToken);
  if (!caller.ok()) return ToGrpc(caller.status());
  absl::Duration ttl;
  std::string claims_json;
  if (std::string e = CheckIssueRequest(*request, config_, &ttl, &claims_json); !e.empty()) {
    return Invalid(e);
  }
  IssueRequestView view{
      request->subject(), {request->audience().begin(), request->audience().end()}, ttl};
  if (absl::Status s = deps_.authorizer->AuthorizeIssue(*caller, view); !s.ok()) {
    deps_.audit->Record(AuditEvent("refused", *caller, context->peer())
                            .Str("rpc", "IssueToken")
                            .Str("why", s.message()));
    return ToGrpc(s);
  }
  std::shared_ptr<const StateSnapshot> snap = deps_.ring->Current();
  if (snap == nullptr || snap->active == nullptr) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "no active signing key");
  }
  const TokenClaims claims = ClaimsToIssue(*request, config_.issuer, snap->revocations,
                                           deps_.clock->Now(), ttl, std::move(claims_json));
  absl::StatusOr<std::string> token = SignToken(*snap->active, claims);
  if (!token.ok()) return ToGrpc(token.status());

  deps_.audit->Record(AuditEvent("issue", *caller, context->peer())
                          .Str("sub", claims.subject)
                          .Strs("aud", claims.audiences)
                          .Str("jti", claims.token_id)
                          .Str("kid", snap->active->kid())
                          .Int("ttl_s", absl::ToInt64Seconds(ttl)));
  response->set_token(*std::move(token));
  response->set_token_id(claims.token_id);
  response->set_key_id(snap->active->kid());
  *response->mutable_issued_at() = ToProtoTime(claims.issued_at);
  *response->mutable_expires_at() = ToProtoTime(claims.expires_at);
  return grpc::Status::OK;
}

grpc::ServerUnaryReactor* TokenService::ValidateToken(grpc::CallbackServerContext* context,
                                                      const grpc::ByteBuffer* request_bytes,
                                                      grpc::ByteBuffer* response) {
  absl::StatusOr<Caller> caller = Admit(*context, Rpc::kValidateToken);
  if (!caller.ok()) return Done(context, ToGrpc(caller.status()));
  signet::v1::ValidateTokenRequest request;
  if (!ParseRequest(*request_bytes, &request)) {
    return Done(context, NotA(request));
  }
  if (request.token().empty()) return Done(context, Invalid("token is required"));
  // No silent default: a validator that forgot its audience would accept tokens minted for any
  // other service (replay across services).
  if (request.audience().empty() == !request.any_audience()) {
    return Done(context, Invalid(request.any_audience()
                                     ? "give audience or any_audience, not both"
                                     : "name the audience you expect, or set any_audience"));
  }
  RingVerifier::Verdict v = verifier_.Verify(
      request.token(),
      request.any_audience() ? Audience::Any() : Audience::Expect(request.audience()));
  if (v.backend_unavailable) {
    return Done(context,
                grpc::Status(grpc::StatusCode::UNAVAILABLE,
                             "the HS256 key's PKCS#11 token cannot be reached to check the MAC"));
  }
  if (v.valid()) {
    grpc::Slice answer(v.answer.data(), v.answer.size());
    *response = grpc::ByteBuffer(&answer, 1);
  } else {
    *response = grpc::ByteBuffer(&InvalidResponse(v.reason), 1);
  }
  return Done(context, grpc::Status::OK);
}

grpc::Status TokenService::HandleRevokeKey(grpc::CallbackServerContext* context,
                                           const signet::v1::RevokeKeyRequest* request,
                                           signet::v1::RevokeKeyResponse* response) {
  absl::StatusOr<Caller> caller = Admit(*context, Rpc::kRevokeKey);
  if (!caller.ok()) return ToGrpc(caller.status());
  if (request->key_id().empty()) return Invalid("key_id is required");
  if (std::string e = CheckText("reason", request->reason(), kMaxRevokeReasonBytes, false);
      !e.empty()) {
    return Invalid(e);
  }
  if (std::string e = CheckPrintable("reason", request->reason()); !e.empty()) return Invalid(e);
  // The reason is stored, logged and sent to every ListKeys/WatchKeys client: a token or key
  // pasted into it must not travel that far.
  const std::string reason = Redacted(request->reason());
  absl::StatusOr<KeyRing::RevokeKeyResult> result =
      deps_.ring->RevokeKey(request->key_id(), reason);
  AuditChange(AuditEvent("revoke_key", *caller, context->peer())
                  .Str("kid", request->key_id())
                  .Str("reason", reason)
                  .Str("active_kid", result.ok() ? result->active_kid : ""),
              result.status());
  if (!result.ok()) return ChangeStatus(result.status());
  ToProtoKey(result->key, response->mutable_key());
  response->set_active_key_id(result->active_kid);
  return grpc::Status::OK;
}

grpc::Status TokenService::HandleRotateKey(grpc::CallbackServerContext* context,
                                           const signet::v1::RotateKeyRequest* request,
                                           signet::v1::RotateKeyResponse* response) {
  absl::StatusOr<Caller> caller = Admit(*context, Rpc::kRotateKey);
  if (!caller.ok()) return ToGrpc(caller.status());
  absl::StatusOr<KeyRing::RotateResult> result = deps_.ring->Rotate(request->immediate());
  AuditChange(AuditEvent("rotate_key", *caller, context->peer())
                  .Str("immediate", request->immediate() ? "true" : "false")
                  .Str("active_kid", result.ok() ? result->active.kid : "")
                  .Str("retired_kid", result.ok() ? result->retired.kid : ""),
              result.status());
  if (!result.ok()) return ChangeStatus(result.status());
  ToProtoKey(result->active, response->mutable_active());
  ToProtoKey(result->pending, response->mutable_pending());
  ToProtoKey(result->retired, response->mutable_retired());
  return grpc::Status::OK;
}

grpc::Status TokenService::HandleListKeys(grpc::CallbackServerContext* context,
                                          const signet::v1::ListKeysRequest* request,
                                          signet::v1::ListKeysResponse* response) {
  absl::StatusOr<Caller> caller = Admit(*context, Rpc::kListKeys);
  if (!caller.ok()) return ToGrpc(caller.status());
  std::shared_ptr<const StateSnapshot> snap = deps_.ring->Current();
  for (const KeyRecord& k : snap->key_records) {
    if (k.state == KeyState::kRevoked && !request->include_revoked()) continue;
    ToProtoKey(k, response->add_keys());
  }
  return grpc::Status::OK;
}

grpc::Status TokenService::HandleGetJwks(grpc::CallbackServerContext* context,
                                         const signet::v1::GetJwksRequest*,
                                         signet::v1::GetJwksResponse* response) {
  absl::StatusOr<Caller> caller = Admit(*context, Rpc::kGetJwks);
  if (!caller.ok()) return ToGrpc(caller.status());
  std::shared_ptr<const StateSnapshot> snap = deps_.ring->Current();
  response->set_jwks_json(snap->jwks_json);
  for (const KeyRecord& k : snap->key_records) {
    if (k.state == KeyState::kRevoked || k.algorithm == Algorithm::kHS256) continue;
    ToProtoKey(k, response->add_keys());
  }
  return grpc::Status::OK;
}

grpc::ServerWriteReactor<signet::v1::WatchKeysResponse>* TokenService::WatchKeys(
    grpc::CallbackServerContext* context, const signet::v1::WatchKeysRequest*) {
  absl::StatusOr<Caller> caller = Admit(*context, Rpc::kWatchKeys);
  if (!caller.ok()) return WatchHub::Refuse(ToGrpc(caller.status()));
  return deps_.hub->Watch(context, caller->Name());
}

grpc::Status TokenService::HandleRevokeToken(grpc::CallbackServerContext* context,
                                             const signet::v1::RevokeTokenRequest* request,
                                             signet::v1::RevokeTokenResponse* response) {
  absl::StatusOr<Caller> caller = Admit(*context, Rpc::kRevokeToken);
  if (!caller.ok()) return ToGrpc(caller.status());
  absl::Time now = deps_.clock->Now();
  std::string token_id;
  absl::Time expires_at;
  switch (request->target_case()) {
    case signet::v1::RevokeTokenRequest::kToken: {
      // Expired, revoked or for another audience: still revocable, so only the signature counts.
      Reason why = Reason::kMalformed;
      std::optional<SignedClaims> signed_claims = verifier_.ReadSigned(request->token(), &why);
      if (!signed_claims.has_value()) {
        return Invalid(absl::StrCat("token is not signed by a known key (",
                                    std::string(ReasonName(why)), ")"));
      }
      if (signed_claims->token_id().empty()) return Invalid("token has no jti");
      token_id = signed_claims->token_id();
      expires_at = signed_claims->expires_at() + config_.leeway;
      break;
    }
    case signet::v1::RevokeTokenRequest::kTokenId:
      if (std::string e = CheckText("token_id", request->token_id(), kMaxTokenIdBytes, true);
          !e.empty()) {
        return Invalid(e);
      }
      token_id = request->token_id();
      expires_at = now + config_.max_ttl + config_.leeway;
      break;
    case signet::v1::RevokeTokenRequest::TARGET_NOT_SET:
      return Invalid("token or token_id is required");
  }
  absl::Status s = deps_.ring->RevokeToken(token_id, expires_at);
  AuditChange(AuditEvent("revoke_token", *caller, context->peer())
                  .Str("jti", token_id)
                  .Time("until", expires_at),
              s);
  if (!s.ok()) return ChangeStatus(s);
  response->set_token_id(token_id);
  *response->mutable_expires_at() = ToProtoTime(expires_at);
  return grpc::Status::OK;
}

grpc::Status TokenService::HandleRevokeSubject(grpc::CallbackServerContext* context,
                                               const signet::v1::RevokeSubjectRequest* request,
                                               signet::v1::RevokeSubjectResponse* response) {
  absl::StatusOr<Caller> caller = Admit(*context, Rpc::kRevokeSubject);
  if (!caller.ok()) return ToGrpc(caller.status());
  if (std::string e = CheckText("subject", request->subject(), kMaxSubjectBytes, true);
      !e.empty()) {
    return Invalid(e);
  }
  absl::Time now = deps_.clock->Now();
  absl::Time not_before = now;
  if (request->has_not_before()) {
    if (!IsValidProtoTime(request->not_before())) {
      return Invalid(
          "not_before is not a valid timestamp (years 1 to 9999, nanos "
          "0 to 999999999)");
    }
    not_before = FromProtoTime(request->not_before());
    // No skew allowance: the contract says a future time is refused, and a not_before ahead of
    // the server's clock would also refuse tokens issued after the call.
    if (not_before > now) {
      return Invalid(
          absl::StrCat("not_before is in the future (",
                       absl::FormatTime(absl::RFC3339_sec, not_before, absl::UTCTimeZone()),
                       " is after the server's now, ",
                       absl::FormatTime(absl::RFC3339_sec, now, absl::UTCTimeZone()),
                       "); revoke when that time comes"));
    }
  }
  // Token iat values are whole seconds: round up so every token issued before the call is
  // refused, including those from earlier in the same second.
  not_before = absl::Ceil(not_before - absl::UnixEpoch(), absl::Seconds(1)) + absl::UnixEpoch();
  absl::Time expires_at = not_before + config_.max_ttl + config_.leeway;
  absl::Status s = deps_.ring->RevokeSubject(request->subject(), not_before, expires_at);
  AuditChange(AuditEvent("revoke_subject", *caller, context->peer())
                  .Str("sub", request->subject())
                  .Time("not_before", not_before),
              s);
  if (!s.ok()) return ChangeStatus(s);
  response->set_subject(request->subject());
  *response->mutable_not_before() = ToProtoTime(not_before);
  *response->mutable_expires_at() = ToProtoTime(expires_at);
  return grpc::Status::OK;
}

}  // namespace signet::server
