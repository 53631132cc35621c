// Uses the installed signet package: the codec, the client and a validator, without a server.
#include <iostream>
#include <memory>

#include "signet/channel.h"
#include "signet/client.h"
#include "signet/remote_validator.h"
#include "signet/token_verifier.h"
#include "signet/v1/token_service.pb.h"

int main() {
  // {"alg":"EdDSA","kid":"k1","typ":"JWT"} . {} . (no signature needed to peek)
  absl::StatusOr<signet::TokenHeader> header =
      signet::PeekHeader("eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0.e30.c2ln");
  if (!header.ok() || header->kid != "k1" || header->algorithm != signet::Algorithm::kEdDSA) {
    std::cerr << "PeekHeader: " << header.status() << "\n";
    return 1;
  }
  signet::ChannelOptions channel;
  channel.target = "127.0.0.1:1";  // never contacted
  absl::StatusOr<std::unique_ptr<signet::Client>> client = signet::Client::Create(channel);
  if (!client.ok()) {
    std::cerr << "Client::Create: " << client.status() << "\n";
    return 1;
  }
  std::unique_ptr<signet::RemoteValidator> validator =
      signet::RemoteValidator::Create(std::shared_ptr<const signet::Client>(*std::move(client)));
  absl::StatusOr<signet::Validation> v = validator->Validate("", signet::Audience::Any());
  if (!v.ok() || v->reason != signet::Reason::kMalformed) return 1;
  signet::v1::IssueTokenRequest request;
  request.set_subject("42");
  std::cout << "consumer ok " << request.subject() << "\n";
  return 0;
}
