#include "server/gateway/ext_authz_service.h"

#include <string>
#include <string_view>

#include "absl/strings/ascii.h"
#include "google/protobuf/arena.h"
#include "google/protobuf/io/coded_stream.h"

namespace signet::server {
namespace {

using envoy::config::core::v3::HeaderValueOption;
using envoy::service::auth::v3::CheckRequest;
using envoy::service::auth::v3::CheckResponse;

constexpr std::string_view kAuthorization = "authorization";

// CheckResponse field numbers and wire types, for the answer written around cached bytes.
constexpr char kStatusOk[] = {0x0a, 0x00};  // status (1): an empty google.rpc.Status, code 0.
constexpr char kOkResponseTag = 0x1a;       // ok_response (3), length-delimited.
constexpr char kHeadersToRemoveTag = 0x2a;  // OkHttpResponse.headers_to_remove (5).

void AddHeader(std::string_view name, std::string_view value,
               google::protobuf::RepeatedPtrField<HeaderValueOption>* out) {
  HeaderValueOption* option = out->Add();
  option->mutable_header()->set_key(std::string(name));
  option->mutable_header()->set_value(std::string(value));
  option->set_append_action(HeaderValueOption::OVERWRITE_IF_EXISTS_OR_ADD);
}

void AppendVarint(uint64_t n, std::string* out) {
  char buf[10];  // The longest varint of 64 bits.
  uint8_t* end = google::protobuf::io::CodedOutputStream::WriteVarint64ToArray(
      n, reinterpret_cast<uint8_t*>(buf));
  out->append(buf, reinterpret_cast<char*>(end) - buf);
}

// status OK and ok_response: the decision's identity bytes (OkHttpResponse.headers), then its
// headers_to_remove. Protobuf reads fields of a message from consecutive pieces alike.
std::string AllowedAnswer(const GatewayDecision& d) {
  std::string removals;
  for (const std::string& name : d.headers_to_remove) {
    removals.push_back(kHeadersToRemoveTag);
    AppendVarint(name.size(), &removals);
    removals.append(name);
  }
  std::string out(kStatusOk, sizeof(kStatusOk));
  out.push_back(kOkResponseTag);
  AppendVarint(d.identity.size() + removals.size(), &out);
  out.append(d.identity.data(), d.identity.size());
  out.append(removals);
  return out;
}

std::string DeniedAnswer(const GatewayDecision& d) {
  CheckResponse response;
  response.mutable_status()->set_code(static_cast<int>(grpc::StatusCode::UNAUTHENTICATED));
  response.mutable_status()->set_message(d.reason);
  envoy::service::auth::v3::DeniedHttpResponse* denied = response.mutable_denied_response();
  denied->mutable_status()->set_code(envoy::type::v3::Unauthorized);
  AddHeader("www-authenticate", d.www_authenticate, denied->mutable_headers());
  AddHeader("cache-control", "no-store", denied->mutable_headers());
  AddHeader("content-type", "text/plain; charset=utf-8", denied->mutable_headers());
  denied->set_body(d.reason + "\n");
  return response.SerializeAsString();
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

grpc::ServerUnaryReactor* Done(grpc::CallbackServerContext* context, grpc::Status status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(std::move(status));
  return reactor;
}

}  // namespace

grpc::ServerUnaryReactor* ExtAuthzService::Check(grpc::CallbackServerContext* context,
                                                 const grpc::ByteBuffer* request_bytes,
                                                 grpc::ByteBuffer* response) {
  const Caller caller = authorizer_->Identify(*context);
  if (absl::Status s = authorizer_->Authorize(caller, Rpc::kCheck); !s.ok()) {
    audit_->Record(AuditEvent("refused", caller, context->peer())
                       .Str("rpc", RpcName(Rpc::kCheck))
                       .Str("why", s.message()));
    return Done(context,
                grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message())));
  }
  // Envoy's request holds a map of every header: parsed on an arena, mostly on the stack.
  char initial[8192];
  google::protobuf::ArenaOptions arena_options;
  arena_options.initial_block = initial;
  arena_options.initial_block_size = sizeof(initial);
  google::protobuf::Arena arena(arena_options);
  CheckRequest* request = google::protobuf::Arena::CreateMessage<CheckRequest>(&arena);
  grpc::Slice slice;
  if ((!request_bytes->TrySingleSlice(&slice).ok() &&
       !request_bytes->DumpToSingleSlice(&slice).ok()) ||
      !request->ParseFromArray(slice.begin(), static_cast<int>(slice.size()))) {
    return Done(context, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                      "the request is not an envoy.service.auth.v3.CheckRequest "
                                      "(string fields must be UTF-8)"));
  }

  const envoy::service::auth::v3::AttributeContext::HttpRequest& http =
      request->attributes().request().http();
  GatewayRequest in;
  in.method = http.method();
  in.host = http.host();
  in.path = http.path();
  const GatewayRules& rules = gateway_->rules();
  for (const auto& [key, value] : http.headers()) Note(key, value, rules, &in);
  std::string lower;
  for (const envoy::config::core::v3::HeaderValue& h : http.header_map().headers()) {
    lower = absl::AsciiStrToLower(h.key());
    Note(lower, h.value().empty() ? h.raw_value() : h.value(), rules, &in);
  }
  const GatewayDecision d = gateway_->Decide(in);
  grpc::Slice answer(d.allowed ? AllowedAnswer(d) : DeniedAnswer(d));
  *response = grpc::ByteBuffer(&answer, 1);
  return Done(context, grpc::Status::OK);
}

}  // namespace signet::server
