// greeter_client: calls the example greeter's two methods, with or without a bearer token.
//
//   greeter_client --target=127.0.0.1:50061                 # anonymous
//   greeter_client --target=127.0.0.1:50061 --token=-       # token read from stdin
//
// Exit code: 0 when both calls succeed, 1 when a call is refused, 2 on a usage error.
#include <iostream>
#include <iterator>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "examples/greeter.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "signet/call_credentials.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50061", "The greeter's address.");
ABSL_FLAG(std::string, token, "", "Bearer token to send; '-' reads it from stdin; empty: none.");
ABSL_FLAG(std::string, note, "", "Note for the guest book.");

namespace {

std::string StatusText(const grpc::Status& status) {
  // gRPC's codes are absl's (both follow google.rpc.Code).
  std::string name = absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code()));
  if (name.empty()) name = std::to_string(status.error_code());
  return status.error_message().empty() ? name : name + ": " + status.error_message();
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("Calls the example greeter, with or without a signet token.");
  absl::ParseCommandLine(argc, argv);

  std::string token = absl::GetFlag(FLAGS_token);
  if (token == "-") {
    token.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    token = std::string(absl::StripAsciiWhitespace(token));
    if (token.empty()) {
      std::cerr << "greeter_client: no token on stdin\n";
      return 2;
    }
  }
  auto stub = signet::examples::Greeter::NewStub(
      grpc::CreateChannel(absl::GetFlag(FLAGS_target), grpc::InsecureChannelCredentials()));
  // Plaintext is for this loopback demo only: gRPC sends call credentials over it only when told
  // the channel's security level may be NONE.
  std::shared_ptr<grpc::CallCredentials> credentials =
      token.empty() ? nullptr : signet::BearerTokenCredentials(token, GRPC_SECURITY_NONE);

  int exit_code = 0;
  {
    grpc::ClientContext context;
    if (credentials) context.set_credentials(credentials);
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    signet::examples::SayHelloResponse response;
    grpc::Status status = stub->SayHello(&context, {}, &response);
    if (status.ok()) {
      std::cout << "SayHello: " << response.message();
      if (!response.authenticated()) std::cout << " (" << response.anonymous_reason() << ")";
      std::cout << "\n";
    } else {
      std::cout << "SayHello: " << StatusText(status) << "\n";
      exit_code = 1;
    }
  }
  {
    grpc::ClientContext context;
    if (credentials) context.set_credentials(credentials);
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    signet::examples::SignGuestBookRequest request;
    request.set_note(absl::GetFlag(FLAGS_note));
    signet::examples::SignGuestBookResponse response;
    grpc::Status status = stub->SignGuestBook(&context, request, &response);
    if (status.ok()) {
      std::cout << "SignGuestBook: signed as " << response.subject() << " (entry "
                << response.entries() << ")\n";
    } else {
      std::cout << "SignGuestBook: " << StatusText(status) << "\n";
      exit_code = 1;
    }
  }
  return exit_code;
}
