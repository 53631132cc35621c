// The PostgreSQL store's NOTIFY payloads, one JSON object per change: {"kind":"keys"},
// {"kind":"token_revocation","token_id":...,"expires_at":...},
// {"kind":"subject_revocation","subject":...,"not_before":...,"expires_at":...}; times in
// microseconds since the Unix epoch. A record too long for a payload (8000 bytes) is sent as
// {"kind":"reload"}, on which receivers reload everything.
//
// Example:
//   session.Command("notifying", "SELECT pg_notify($1, $2)", Params().Text(channel).Text(
//       TokenRevocationPayload(record)));
//   StoreChange change = ParseStoreChange(notify->extra);
#ifndef SIGNET_SERVER_STORE_INTERNAL_PG_NOTIFY_PAYLOAD_H_
#define SIGNET_SERVER_STORE_INTERNAL_PG_NOTIFY_PAYLOAD_H_

#include <string>
#include <string_view>

#include "server/store/store.h"

namespace signet::server::internal {

// Sent after a change of the keys table.
inline constexpr char kKeysPayload[] = R"({"kind":"keys"})";

std::string TokenRevocationPayload(const TokenRevocationRecord& record);
std::string SubjectRevocationPayload(const SubjectRevocationRecord& record);

// The change a payload announces; a StoreChange of kind kUnknown (reload everything) for
// {"kind":"reload"} and for anything malformed.
StoreChange ParseStoreChange(std::string_view payload);

}  // namespace signet::server::internal

#endif  // SIGNET_SERVER_STORE_INTERNAL_PG_NOTIFY_PAYLOAD_H_
