// Conversions between the API's google.protobuf time messages and absl's time types.
//
// Example:
//   absl::Time expires = signet::FromProtoTime(response.expires_at());
//   *request.mutable_not_before() = signet::ToProtoTime(absl::Now());
#ifndef SIGNET_PROTO_TIME_H_
#define SIGNET_PROTO_TIME_H_

#include "absl/time/time.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/timestamp.pb.h"

namespace signet {

google::protobuf::Timestamp ToProtoTime(absl::Time t);
absl::Time FromProtoTime(const google::protobuf::Timestamp& t);
absl::Duration FromProtoDuration(const google::protobuf::Duration& d);

// Within google.protobuf.Timestamp's range: 0001-01-01 to 9999-12-31, nanos 0..999999999.
bool IsValidProtoTime(const google::protobuf::Timestamp& t);

}  // namespace signet

#endif  // SIGNET_PROTO_TIME_H_
