#include "server/proto_convert.h"

namespace signet::server {

void ToProtoKey(const KeyRecord& record, signet::v1::Key* key) {
  key->set_key_id(record.kid);
  key->set_algorithm(std::string(AlgorithmName(record.algorithm)));
  key->set_state(static_cast<signet::v1::KeyState>(record.state));
  auto set_time = [](absl::Time t, google::protobuf::Timestamp* out) {
    if (t != absl::InfinitePast()) *out = ToProtoTime(t);
  };
  set_time(record.created_at, key->mutable_created_at());
  set_time(record.activated_at, key->mutable_activated_at());
  set_time(record.retired_at, key->mutable_retired_at());
  set_time(record.revoked_at, key->mutable_revoked_at());
  key->set_revoke_reason(record.revoke_reason);
  key->set_public_jwk(record.public_jwk);
}

signet::v1::Reason ToProtoReason(Reason reason) {
  return static_cast<signet::v1::Reason>(static_cast<int>(reason));
}

namespace {

void AddTokens(const std::vector<RevocationSet::TokenEntry>& tokens,
               signet::v1::WatchKeysResponse* msg) {
  for (const RevocationSet::TokenEntry& t : tokens) {
    signet::v1::TokenRevocation* r = msg->add_token_revocations();
    r->set_token_id(t.token_id);
    *r->mutable_expires_at() = ToProtoTime(t.expires_at);
  }
}

void AddSubjects(const std::vector<RevocationSet::SubjectEntry>& subjects,
                 signet::v1::WatchKeysResponse* msg) {
  for (const RevocationSet::SubjectEntry& s : subjects) {
    signet::v1::SubjectRevocation* r = msg->add_subject_revocations();
    r->set_subject(s.subject);
    *r->mutable_not_before() = ToProtoTime(s.not_before);
    *r->mutable_expires_at() = ToProtoTime(s.expires_at);
  }
}

}  // namespace

signet::v1::WatchKeysResponse SnapshotMessage(const StateSnapshot& snapshot, absl::Time now) {
  signet::v1::WatchKeysResponse msg;
  msg.set_snapshot(true);
  msg.set_version(snapshot.version);
  msg.set_jwks_json(snapshot.jwks_json);
  for (const KeyRecord& k : snapshot.key_records) {
    if (k.algorithm == Algorithm::kHS256 && k.state != KeyState::kRevoked) continue;
    ToProtoKey(k, msg.add_keys());
  }
  RevocationSet live = snapshot.revocations.Pruned(now);
  AddTokens(live.TokenEntries(), &msg);
  AddSubjects(live.SubjectEntries(), &msg);
  return msg;
}

signet::v1::WatchKeysResponse DeltaMessage(const StateSnapshot& snapshot, const StateDelta& delta,
                                           bool* has_content) {
  signet::v1::WatchKeysResponse msg;
  msg.set_version(snapshot.version);
  bool keys_changed = !delta.keys.empty() || !delta.deleted_kids.empty();
  if (keys_changed) msg.set_jwks_json(snapshot.jwks_json);
  for (const KeyRecord& k : delta.keys) {
    if (k.algorithm == Algorithm::kHS256 && k.state != KeyState::kRevoked) continue;
    ToProtoKey(k, msg.add_keys());
  }
  for (const std::string& kid : delta.deleted_kids) msg.add_deleted_key_ids(kid);
  AddTokens(delta.tokens, &msg);
  AddSubjects(delta.subjects, &msg);
  *has_content = keys_changed || !delta.tokens.empty() || !delta.subjects.empty();
  return msg;
}

}  // namespace signet::server
