// The example greeter: a gRPC service protected by signet's interceptor, as a library so tests can
// run it in process.
//
// Example:
//   signet::examples::GreeterService service;
//   signet::examples::GreeterServerOptions options;
//   options.listen = "127.0.0.1:0";
//   options.validator = validator;  // e.g. a signet::LocalValidator
//   absl::StatusOr<signet::examples::RunningGreeter> server =
//       signet::examples::StartGreeterServer(&service, options);
//   if (!server.ok()) return server.status();
//   std::cout << "greeter on port " << server->port << "\n";
//   server->server->Wait();
#ifndef SIGNET_EXAMPLES_GREETER_SERVICE_H_
#define SIGNET_EXAMPLES_GREETER_SERVICE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "examples/greeter.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "signet/auth_policy.h"
#include "signet/validator.h"

namespace signet::examples {

// The guest book: plain logic that knows nothing of gRPC or tokens. Thread-safe.
class GuestBook {
 public:
  struct Entry {
    std::string subject;
    std::string note;
  };

  // Adds an entry; returns the number of entries after it.
  int64_t Sign(std::string subject, std::string note);
  std::vector<Entry> Entries() const;

 private:
  mutable absl::Mutex mu_;
  std::vector<Entry> entries_ ABSL_GUARDED_BY(mu_);
};

// SayHello is OPTIONAL, SignGuestBook REQUIRED (see GreeterAuthOptions). Thread-safe.
class GreeterService final : public Greeter::CallbackService {
 public:
  grpc::ServerUnaryReactor* SayHello(grpc::CallbackServerContext* context,
                                     const SayHelloRequest* request,
                                     SayHelloResponse* response) override;
  grpc::ServerUnaryReactor* SignGuestBook(grpc::CallbackServerContext* context,
                                          const SignGuestBookRequest* request,
                                          SignGuestBookResponse* response) override;

  const GuestBook& book() const { return book_; }

  // How many times each handler was entered, whatever the outcome. gRPC runs a handler even for a
  // call the interceptor has refused; these counters let tests see that the guard, not luck, kept
  // the book untouched.
  int64_t say_hello_calls() const;
  int64_t sign_calls() const;
  // True once sign_calls() >= n; false if `timeout` passes first.
  bool WaitForSignCalls(int64_t n, absl::Duration timeout) const;

 private:
  GuestBook book_;
  mutable absl::Mutex mu_;
  int64_t say_hello_calls_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t sign_calls_ ABSL_GUARDED_BY(mu_) = 0;
};

inline constexpr char kSayHelloMethod[] = "/signet.examples.Greeter/SayHello";
inline constexpr char kSignGuestBookMethod[] = "/signet.examples.Greeter/SignGuestBook";

// The greeter's auth rules: SayHello OPTIONAL; everything else (SignGuestBook, and any method the
// server might grow) REQUIRED. Tokens must carry `audience`, or any audience with `any_audience`.
AuthOptions GreeterAuthOptions(std::shared_ptr<Validator> validator, std::string audience,
                               bool any_audience = false);

struct GreeterServerOptions {
  std::string listen = "127.0.0.1:50061";
  // Judges tokens. Required.
  std::shared_ptr<Validator> validator;
  // Tokens must carry this audience; leave it empty and set any_audience to accept any.
  std::string audience = "greeter";
  bool any_audience = false;
  // Insecure when null.
  std::shared_ptr<grpc::ServerCredentials> credentials;
  // Also install a BearerAuthMetadataProcessor on `credentials` (which must be TLS or local):
  // REQUIRED calls without a valid token are then refused before any handler runs.
  bool use_auth_metadata_processor = false;
};

struct RunningGreeter {
  std::unique_ptr<grpc::Server> server;
  int port = 0;
};

// Builds and starts the server: the service, the interceptor, optionally the processor.
absl::StatusOr<RunningGreeter> StartGreeterServer(GreeterService* service,
                                                  const GreeterServerOptions& options);

}  // namespace signet::examples

#endif  // SIGNET_EXAMPLES_GREETER_SERVICE_H_
