#include "examples/greeter_service.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "signet/auth_interceptor.h"
#include "signet/auth_metadata_processor.h"
#include "signet/call_identity.h"

namespace signet::examples {

int64_t GuestBook::Sign(std::string subject, std::string note) {
  absl::MutexLock lock(&mu_);
  entries_.push_back(Entry{std::move(subject), std::move(note)});
  return static_cast<int64_t>(entries_.size());
}

std::vector<GuestBook::Entry> GuestBook::Entries() const {
  absl::MutexLock lock(&mu_);
  return entries_;
}

grpc::ServerUnaryReactor* GreeterService::SayHello(grpc::CallbackServerContext* context,
                                                   const SayHelloRequest* /*request*/,
                                                   SayHelloResponse* response) {
  {
    absl::MutexLock lock(&mu_);
    ++say_hello_calls_;
  }
  // OPTIONAL: a missing or bad token makes the caller anonymous; the handler decides.
  CallIdentity call = IdentityOf(context);
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (call.Rejected()) {  // Only if the server was set up without the interceptor.
    reactor->Finish(call.status());
    return reactor;
  }
  if (const Identity* who = call.identity(); who != nullptr) {
    response->set_message(absl::StrCat("Hello, ", who->subject, "!"));
    response->set_authenticated(true);
  } else {
    response->set_message("Hello, anonymous!");
    response->set_anonymous_reason(std::string(call.message()));
  }
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* GreeterService::SignGuestBook(grpc::CallbackServerContext* context,
                                                        const SignGuestBookRequest* request,
                                                        SignGuestBookResponse* response) {
  {
    absl::MutexLock lock(&mu_);
    ++sign_calls_;
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // REQUIRED: the guard. The identity is reachable only through it.
  CallIdentity call = IdentityOf(context);
  const Identity* who = call.identity();
  if (who == nullptr) {
    reactor->Finish(call.status());  // The client already has UNAUTHENTICATED and the reason.
    return reactor;
  }
  if (request->note().size() > 256) {
    reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "note over 256 bytes"));
    return reactor;
  }
  response->set_subject(who->subject);
  response->set_backend(who->backend);
  response->set_token_id(who->token_id);
  response->set_entries(book_.Sign(who->subject, request->note()));
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

int64_t GreeterService::say_hello_calls() const {
  absl::MutexLock lock(&mu_);
  return say_hello_calls_;
}

int64_t GreeterService::sign_calls() const {
  absl::MutexLock lock(&mu_);
  return sign_calls_;
}

bool GreeterService::WaitForSignCalls(int64_t n, absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto reached = [this, n]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return sign_calls_ >= n; };
  return mu_.AwaitWithTimeout(absl::Condition(&reached), timeout);
}

AuthOptions GreeterAuthOptions(std::shared_ptr<Validator> validator, std::string audience,
                               bool any_audience) {
  AuthOptions options;
  options.validator = std::move(validator);
  options.audience = std::move(audience);
  options.any_audience = any_audience;
  options.default_requirement = Requirement::kRequired;
  options.methods[kSayHelloMethod] = Requirement::kOptional;
  options.methods[kSignGuestBookMethod] = Requirement::kRequired;
  return options;
}

absl::StatusOr<RunningGreeter> StartGreeterServer(GreeterService* service,
                                                  const GreeterServerOptions& options) {
  absl::StatusOr<std::shared_ptr<const AuthPolicy>> policy = AuthPolicy::Create(
      GreeterAuthOptions(options.validator, options.audience, options.any_audience));
  if (!policy.ok()) return policy.status();
  std::shared_ptr<grpc::ServerCredentials> credentials = options.credentials;
  if (credentials == nullptr) {
    if (options.use_auth_metadata_processor) {
      return absl::InvalidArgumentError(
          "an auth metadata processor needs TLS or local server credentials");
    }
    credentials = grpc::InsecureServerCredentials();
  }
  if (options.use_auth_metadata_processor) {
    credentials->SetAuthMetadataProcessor(std::make_shared<BearerAuthMetadataProcessor>(*policy));
  }

  RunningGreeter running;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, credentials, &running.port);
  builder.RegisterService(service);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
  creators.push_back(std::make_unique<AuthInterceptorFactory>(*policy));
  builder.experimental().SetInterceptorCreators(std::move(creators));
  running.server = builder.BuildAndStart();
  if (running.server == nullptr || running.port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.listen));
  }
  return running;
}

}  // namespace signet::examples
