#include "server/gateway/ext_authz_service.h"

#include <string>
#include <string_view>

#include "absl/strings/ascii.h"

namespace signet::server {
namespace {

using envoy::config::core::v3::HeaderValueOption;

constexpr std::string_view kAuthorization = "authorization";

void AddHeader(std::string_view name, std::string_view value,
               google::protobuf::RepeatedPtrField<HeaderValueOption>* out) {
  HeaderValueOption* option = out->Add();
  option->mutable_header()->set_key(std::string(name));
  option->mutable_header()->set_value(std::string(value));
  // Replace whatever the request carried under this name (Envoy's default would append).
  option->set_append_action(HeaderValueOption::OVERWRITE_IF_EXISTS_OR_ADD);
}

// Gathers what the decision needs from one request header (key lower case, as Envoy sends).
void Note(std::string_view key, std::string_view value, const GatewayRules& rules,
          GatewayRequest* request) {
  if (key == kAuthorization) {
    request->authorization.push_back(value);
  } else if (rules.IsIdentityHeader(absl::string_view(key.data(), key.size()))) {
    request->identity_headers.emplace_back(key);
  }
}

}  // namespace

grpc::ServerUnaryReactor* ExtAuthzService::Check(
    grpc::CallbackServerContext* context, const envoy::service::auth::v3::CheckRequest* request,
    envoy::service::auth::v3::CheckResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const Caller caller = authorizer_->Identify(*context);
  if (absl::Status s = authorizer_->Authorize(caller, Rpc::kCheck); !s.ok()) {
    audit_->Record(AuditEvent("refused", caller, context->peer())
                       .Str("rpc", RpcName(Rpc::kCheck))
                       .Str("why", s.message()));
    reactor->Finish(
        grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message())));
    return reactor;
  }

  const envoy::service::auth::v3::AttributeContext::HttpRequest& http =
      request->attributes().request().http();
  GatewayRequest in;
  in.method = http.method();
  in.host = http.host();
  in.path = http.path();
  const GatewayRules& rules = gateway_->rules();
  std::string lower;
  for (const auto& [key, value] : http.headers()) Note(key, value, rules, &in);
  for (const envoy::config::core::v3::HeaderValue& h : http.header_map().headers()) {
    lower = absl::AsciiStrToLower(h.key());
    Note(lower, h.value().empty() ? h.raw_value() : h.value(), rules, &in);
  }
  const GatewayDecision d = gateway_->Decide(in);

  if (d.allowed) {
    response->mutable_status()->set_code(static_cast<int>(grpc::StatusCode::OK));
    envoy::service::auth::v3::OkHttpResponse* ok = response->mutable_ok_response();
    for (const auto& [name, value] : d.headers_to_set)
      AddHeader(name, value, ok->mutable_headers());
    for (const std::string& name : d.headers_to_remove) ok->add_headers_to_remove(name);
  } else {
    response->mutable_status()->set_code(static_cast<int>(grpc::StatusCode::UNAUTHENTICATED));
    response->mutable_status()->set_message(d.reason);
    envoy::service::auth::v3::DeniedHttpResponse* denied = response->mutable_denied_response();
    denied->mutable_status()->set_code(envoy::type::v3::Unauthorized);
    AddHeader("www-authenticate", d.www_authenticate, denied->mutable_headers());
    AddHeader("cache-control", "no-store", denied->mutable_headers());
    AddHeader("content-type", "text/plain; charset=utf-8", denied->mutable_headers());
    denied->set_body(d.reason + "\n");
  }
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace signet::server
