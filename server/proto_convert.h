// Conversions between signet's domain types and the v1 API's messages (times: signet/proto_time.h).
#ifndef SIGNET_SERVER_PROTO_CONVERT_H_
#define SIGNET_SERVER_PROTO_CONVERT_H_

#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"
#include "server/keys/state_snapshot.h"
#include "server/store/store.h"
#include "signet/proto_time.h"
#include "signet/reason.h"
#include "signet/v1/token_service.pb.h"

namespace signet::server {

// Key metadata; timestamps that are "never" (InfinitePast) stay unset.
void ToProtoKey(const KeyRecord& record, signet::v1::Key* key);

signet::v1::Reason ToProtoReason(Reason reason);

// The full-state message a watcher starts with.
signet::v1::WatchKeysResponse SnapshotMessage(const StateSnapshot& snapshot, absl::Time now);
// The message for one change; `has_content` is false when it carries nothing a watcher needs.
signet::v1::WatchKeysResponse DeltaMessage(const StateSnapshot& snapshot, const StateDelta& delta,
                                           bool* has_content);

}  // namespace signet::server

#endif  // SIGNET_SERVER_PROTO_CONVERT_H_
