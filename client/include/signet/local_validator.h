// A Validator that checks tokens offline against signet's public keys and revocations, kept
// current by a WatchKeys stream.
//
// Example:
//   signet::LocalValidator::Options options;
//   options.channel = *signet::MakeChannel(channel_options);
//   options.issuer = "signet";
//   options.fallback = signet::RemoteValidator::Create(client);  // for HS256 tokens (optional)
//   absl::StatusOr<std::unique_ptr<signet::LocalValidator>> validator =
//       signet::LocalValidator::Create(std::move(options));     // waits for the first state
//   if (!validator.ok()) return validator.status();
//   absl::StatusOr<signet::Validation> v =
//       (*validator)->Validate(token, signet::Audience::Expect("orders"));
//   if (!v.ok()) return FailClosed(v.status());   // keys stale past the bound, HS256 without
//                                                  // a fallback
//
// How it stays current: Create opens WatchKeys and waits for its first message, the whole state
// (keys, revoked keys, token and subject revocations); every later message is applied as it
// arrives. Validation never blocks on the stream: it reads an immutable state that the stream
// thread replaces atomically. When the stream breaks it is reopened with exponential backoff and
// jitter, and the new stream's first message replaces everything. A token whose kid is unknown
// causes one GetJwks refetch (at most one per refetch_interval) and is judged again.
//
// Staleness counts from the last message heard, heartbeats included (the server sends one every
// --watch_heartbeat_interval, 5 s by default, to every idle stream), not from a failure the client
// noticed: a network that silently stops delivering (no RST, no FIN) breaks nothing a client
// could notice. Once nothing has been heard for stale_after, Validate fails closed with
// UNAVAILABLE (or asks the fallback, with fallback_when_stale) and the silent stream is torn down
// and reopened. So a token revoked on the server passes here for at most stale_after + one
// heartbeat interval (docs/SECURITY.md, "Revocation windows"). Use a channel with HTTP/2
// keepalive (MakeChannel's default) so that the reopened stream does not wait on a dead
// connection.
//
// Why Create waits for WatchKeys rather than GetJwks: GetJwks carries no revocations, and a
// validator that started from it alone would accept revoked tokens until the stream caught up.
#ifndef SIGNET_LOCAL_VALIDATOR_H_
#define SIGNET_LOCAL_VALIDATOR_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/security/credentials.h"
#include "signet/caching_verifier.h"
#include "signet/client.h"
#include "signet/clock.h"
#include "signet/token_verifier.h"
#include "signet/validator.h"

namespace signet {
namespace internal {
class KeyStateFollower;
}  // namespace internal

struct LocalValidatorOptions {
  // Required. A channel to signet-server (e.g. from MakeChannel).
  std::shared_ptr<grpc::Channel> channel;
  // Credentials for GetJwks and WatchKeys (the validator role), if the server wants a token.
  std::shared_ptr<grpc::CallCredentials> call_credentials;
  // The iss every token must carry (signet-server's --issuer).
  std::string issuer = "signet";
  // Clock skew tolerated on exp, nbf and iat (0 to 5 minutes).
  absl::Duration leeway = absl::Seconds(30);
  size_t max_token_bytes = 8 * 1024;
  // Fail closed once nothing (no change, no heartbeat) has been heard from signet-server for this
  // long. Must be longer than the server's heartbeat interval, which every stream announces: a
  // shorter one is refused (FAILED_PRECONDITION from Create), since idle streams would then go
  // stale between heartbeats. The bound on how long a revoked token can still pass.
  absl::Duration stale_after = absl::Seconds(15);
  // Optional (typically a RemoteValidator): judges HS256 tokens, which cannot be checked offline,
  // and, with fallback_when_stale, every token while the keys are stale. Its calls must carry a
  // deadline (a RemoteValidator's Client has one, 5 s by default): the partition that made the
  // keys stale would otherwise hang every call it is asked.
  std::shared_ptr<Validator> fallback;
  bool fallback_when_stale = false;
  // Must outlive the validator. Decides token times, staleness and the refetch rate.
  const Clock* clock = &Clock::Real();
  // How long Create waits for the first state.
  absl::Duration initial_timeout = absl::Seconds(10);
  // At most one GetJwks refetch for unknown kids per interval, each with this deadline.
  absl::Duration refetch_interval = absl::Seconds(1);
  absl::Duration refetch_timeout = absl::Seconds(2);
  // Tokens found valid are remembered (keyed by a digest of their bytes) so that the next time
  // the same token comes its signature is not checked again; every hit is checked again against
  // the keys and revocations of the moment, its times and the audience asked for, so a
  // revocation takes effect at once. 512 bytes per entry, allocated up front; 0 turns it off.
  size_t cache_entries = 8192;
  // Stream reconnects: the first waits about initial_backoff, each next one twice as long up to
  // max_backoff (real time, with jitter).
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(5);
};

struct LocalValidatorStats {
  uint64_t stream_connects = 0;  // streams that delivered their first message
  uint64_t snapshots = 0;        // full states applied
  uint64_t deltas = 0;           // changes applied
  uint64_t refetches = 0;        // GetJwks calls made for unknown kids
  uint64_t stream_failures = 0;  // streams that failed to open, broke, or sent bad data
  uint64_t heartbeats = 0;       // heartbeats heard
  uint64_t silent_resets = 0;    // streams torn down because nothing came for stale_after
  bool stream_up = false;        // a stream is open and has delivered its full state
  // When the last message (heartbeat included) was heard, by options.clock.
  absl::Time last_heard = absl::InfinitePast();
  // The heartbeat interval the server announced (zero: none announced).
  absl::Duration server_heartbeat_interval = absl::ZeroDuration();
  uint64_t version = 0;     // the server state version last applied
  uint64_t cache_hits = 0;  // validations answered from the cache (no signature check)
};

// Thread-safe. Validate never takes a lock unless the token's kid is unknown (cache hits included).
class LocalValidator final : public Validator {
 public:
  using Options = LocalValidatorOptions;

  using Stats = LocalValidatorStats;

  // InvalidArgument for bad options. Otherwise waits up to initial_timeout for the first full
  // state: the stream's error if it is refused for good (UNAUTHENTICATED, PERMISSION_DENIED,
  // UNIMPLEMENTED...), the last stream error or DEADLINE_EXCEEDED if the time runs out, or the
  // error in the server's data (e.g. a JWK Set that does not parse).
  static absl::StatusOr<std::unique_ptr<LocalValidator>> Create(LocalValidatorOptions options);

  // Cancels the stream and joins its threads.
  ~LocalValidator() override;

  // Errors: UNAVAILABLE when nothing was heard from signet-server for stale_after (and no
  // fallback is used for that);
  // FAILED_PRECONDITION("HS256 tokens need a remote validator") for an HS256 token without a
  // fallback; the fallback's own errors.
  absl::StatusOr<Validation> Validate(std::string_view token, Audience audience) override;

  Stats stats() const;

  // True once the applied state version is >= `version` (a full state from a restarted server may
  // bring it lower again); false if `timeout` passes first. For tests and operational checks.
  bool WaitForVersion(uint64_t version, absl::Duration timeout);

 private:
  LocalValidator(LocalValidatorOptions options, TokenVerifier verifier);

  // A token whose kid the state does not know (`result`): HS256 goes to the fallback, a revoked
  // kid is refused, anything else causes one JWK Set refetch and is judged again. Not cached.
  absl::StatusOr<Validation> JudgeUnknownKey(std::string_view token, Audience audience,
                                             const VerifyResult& result, absl::Time now);

  const LocalValidatorOptions options_;
  // The verifier and its cache (options.cache_entries; none when 0).
  const internal::CachingVerifier verifier_;
  // Follows the server's key state; created once options_ is in place.
  std::unique_ptr<internal::KeyStateFollower> follower_;
  std::atomic<uint64_t> cache_hits_{0};
};

}  // namespace signet

#endif  // SIGNET_LOCAL_VALIDATOR_H_
