// A Validator that asks signet-server's ValidateToken, with a bounded cache of recent answers.
//
// Example:
//   std::shared_ptr<signet::Client> client = ...;           // validator role
//   signet::RemoteValidator::Options options;
//   options.cache_capacity = 50000;
//   std::unique_ptr<signet::RemoteValidator> validator =
//       signet::RemoteValidator::Create(client, options);
//   absl::StatusOr<signet::Validation> v =
//       validator->Validate(token, signet::Audience::Expect("orders"));
//   if (!v.ok()) return FailClosed(v.status());              // server unreachable
//
// The cache is keyed by a SHA-256 digest of (token, audience): tokens are not kept. A valid answer
// is served until the earlier of the token's exp and max_age after it was fetched, so a token
// revoked on the server can still pass here for up to max_age (10 s by default; 0 turns the cache
// off for valid answers); an invalid answer for invalid_max_age. Errors (the server unreachable, a
// fault) are never cached. Tokens of every algorithm, HS256 included, can be judged this way.
// Every call has the Client's deadline (ClientOptions::deadline, 5 s by default), so a network
// partition makes Validate fail with DEADLINE_EXCEEDED or UNAVAILABLE rather than hang.
#ifndef SIGNET_REMOTE_VALIDATOR_H_
#define SIGNET_REMOTE_VALIDATOR_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "signet/client.h"
#include "signet/clock.h"
#include "signet/validator.h"

namespace signet {

struct RemoteValidatorOptions {
  // Most answers kept (least recently used go first). 0 turns the cache off.
  size_t cache_capacity = 10000;
  // Longest a valid answer is reused, whatever the token's exp: the window in which a token
  // revoked on the server still passes here (docs/SECURITY.md, "Revocation windows").
  absl::Duration max_age = absl::Seconds(10);
  // Longest an invalid answer is reused (a key may be published, a token may become valid).
  absl::Duration invalid_max_age = absl::Seconds(1);
  // Must outlive the validator.
  const Clock* clock = &Clock::Real();
};

// Thread-safe.
class RemoteValidator final : public Validator {
 public:
  using Options = RemoteValidatorOptions;

  struct Stats {
    uint64_t hits = 0;          // answered from the cache
    uint64_t server_calls = 0;  // ValidateToken calls made (answers and errors)
    uint64_t evictions = 0;     // entries dropped to stay within capacity
    size_t size = 0;            // entries now held (some may have expired)
  };

  // `client` must be non-null.
  static std::unique_ptr<RemoteValidator> Create(std::shared_ptr<const Client> client,
                                                 RemoteValidatorOptions options = {});
  ~RemoteValidator() override;

  // An empty token is answered kMalformed without a call. Audience::Any() asks the server with
  // any_audience, Expect(name) with audience = name. Errors: the Client's status (e.g.
  // UNAVAILABLE, DEADLINE_EXCEEDED, PERMISSION_DENIED).
  absl::StatusOr<Validation> Validate(std::string_view token, Audience audience) override;

  Stats stats() const;

 private:
  class Cache;
  RemoteValidator(std::shared_ptr<const Client> client, RemoteValidatorOptions options);

  const std::shared_ptr<const Client> client_;
  const RemoteValidatorOptions options_;
  std::unique_ptr<Cache> cache_;
  std::atomic<uint64_t> hits_{0};
  std::atomic<uint64_t> server_calls_{0};
};

// A Validation from a ValidateToken answer (for code that calls the RPC itself). Reasons this
// client does not know read as kMalformed.
Validation ValidationFromResponse(const v1::ValidateTokenResponse& response);

}  // namespace signet

#endif  // SIGNET_REMOTE_VALIDATOR_H_
