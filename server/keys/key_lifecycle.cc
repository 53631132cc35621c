#include "server/keys/key_lifecycle.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace signet::server {
namespace {

std::vector<KeyRecord*> InState(std::vector<KeyRecord>& keys, KeyState state) {
  std::vector<KeyRecord*> out;
  for (KeyRecord& k : keys) {
    if (k.state == state) out.push_back(&k);
  }
  return out;
}

KeyRecord* Newest(const std::vector<KeyRecord*>& keys, absl::Time KeyRecord::*field) {
  KeyRecord* best = nullptr;
  for (KeyRecord* k : keys) {
    if (best == nullptr || k->*field > best->*field ||
        (k->*field == best->*field && k->kid > best->kid)) {
      best = k;
    }
  }
  return best;
}

// Collects upserts in the order a store must apply them: keys leaving ACTIVE before the key
// entering it (PostgreSQL's one-ACTIVE-per-algorithm index checks each statement).
class ChangeList {
 public:
  void Demote(const KeyRecord& k) { demoted_.push_back(k); }
  void Promote(const KeyRecord& k) { promoted_.push_back(k); }
  void Add(const KeyRecord& k) { added_.push_back(k); }
  void Delete(const std::string& kid) { deleted_.push_back(kid); }
  // `from` (ACTIVE) retires and `to` (PENDING) signs, both from `now`.
  void HandOver(KeyRecord* from, KeyRecord* to, absl::Time now) {
    from->state = KeyState::kRetired;
    from->retired_at = now;
    Demote(*from);
    to->state = KeyState::kActive;
    to->activated_at = now;
    Promote(*to);
  }
  KeyChanges Build() && {
    KeyChanges c;
    c.deletes = std::move(deleted_);
    for (auto* list : {&demoted_, &promoted_, &added_}) {
      for (KeyRecord& k : *list) c.upserts.push_back(std::move(k));
    }
    return c;
  }

 private:
  std::vector<KeyRecord> demoted_, promoted_, added_;
  std::vector<std::string> deleted_;
};

}  // namespace

absl::StatusOr<KeyChanges> KeyLifecycle::Maintain(const std::vector<KeyRecord>& current,
                                                  absl::Time now) const {
  ChangeList changes;
  std::vector<KeyRecord> keys;
  // Keys whose every token has expired leave the store.
  for (const KeyRecord& k : current) {
    bool spent = (k.state == KeyState::kRetired && VerifiesUntil(k.retired_at) <= now) ||
                 (k.state == KeyState::kRevoked && VerifiesUntil(k.revoked_at) <= now);
    if (spent) {
      changes.Delete(k.kid);
    } else {
      keys.push_back(k);
    }
  }

  // More than one ACTIVE key cannot come from these decisions; repair it if a store holds it.
  std::vector<KeyRecord*> active = InState(keys, KeyState::kActive);
  KeyRecord* keep = Newest(active, &KeyRecord::activated_at);
  for (KeyRecord* k : active) {
    if (k == keep) continue;
    k->state = KeyState::kRetired;
    k->retired_at = now;
    changes.Demote(*k);
  }

  // A PENDING key never signed: one of another algorithm (the configuration changed), or a
  // surplus one, can simply go.
  std::vector<KeyRecord*> pending = InState(keys, KeyState::kPending);
  KeyRecord* next = nullptr;
  for (KeyRecord* k : pending) {
    if (k->algorithm == settings_.algorithm &&
        (next == nullptr || k->created_at > next->created_at)) {
      next = k;
    }
  }
  for (KeyRecord* k : pending) {
    if (k != next) changes.Delete(k->kid);
  }

  if (keep == nullptr) {
    if (next != nullptr) {
      next->state = KeyState::kActive;
      next->activated_at = now;
      changes.Promote(*next);
      next = nullptr;
    } else {
      // A new fleet: no token and no validator can exist yet, so its first key signs at once.
      absl::StatusOr<KeyRecord> first = FreshActiveKey(now);
      if (!first.ok()) return first.status();
      changes.Add(*first);
    }
  } else if (next != nullptr && keep->activated_at + settings_.rotation_period <= now &&
             next->created_at + settings_.publish_ahead <= now) {
    changes.HandOver(keep, next, now);
    next = nullptr;
  }

  if (next == nullptr) {
    absl::StatusOr<KeyRecord> fresh = factory_(settings_.algorithm, now);
    if (!fresh.ok()) return fresh.status();
    changes.Add(*fresh);
  }
  return std::move(changes).Build();
}

absl::StatusOr<KeyRecord> KeyLifecycle::FreshActiveKey(absl::Time now) const {
  absl::StatusOr<KeyRecord> key = factory_(settings_.algorithm, now);
  if (!key.ok()) return key.status();
  key->state = KeyState::kActive;
  key->activated_at = now;
  return key;
}

bool KeyLifecycle::MaintenanceDue(const std::vector<KeyRecord>& current, absl::Time now) const {
  KeyLifecycle dry_run(settings_, [](Algorithm alg, absl::Time at) -> absl::StatusOr<KeyRecord> {
    KeyRecord r;
    r.kid = "dry-run";
    r.algorithm = alg;
    r.created_at = at;
    return r;
  });
  absl::StatusOr<KeyChanges> changes = dry_run.Maintain(current, now);
  return !changes.ok() || !changes->upserts.empty() || !changes->deletes.empty();
}

absl::StatusOr<KeyChanges> KeyLifecycle::Rotate(const std::vector<KeyRecord>& current,
                                                absl::Time now, bool immediate) const {
  std::vector<KeyRecord> keys = current;
  KeyRecord* active = Newest(InState(keys, KeyState::kActive), &KeyRecord::activated_at);
  KeyRecord* next = Newest(InState(keys, KeyState::kPending), &KeyRecord::created_at);
  if (active == nullptr || next == nullptr) {
    return absl::FailedPreconditionError(
        "no ACTIVE and PENDING key pair to rotate; the server repairs this within one "
        "maintenance interval");
  }
  absl::Time ready_at = next->created_at + settings_.publish_ahead;
  if (!immediate && ready_at > now) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the PENDING key ", next->kid, " has been published for less than publish_ahead (",
        absl::FormatDuration(settings_.publish_ahead), "); it can sign from ",
        absl::FormatTime(absl::RFC3339_sec, ready_at, absl::UTCTimeZone()),
        ", or rotate with immediate=true"));
  }
  ChangeList changes;
  changes.HandOver(active, next, now);
  absl::StatusOr<KeyRecord> fresh = factory_(settings_.algorithm, now);
  if (!fresh.ok()) return fresh.status();
  changes.Add(*fresh);
  return std::move(changes).Build();
}

namespace {

// A revocation never waits for a new key: when none can be made now (a PKCS#11 token out of
// reach), the revocation stands without it and Maintain makes the missing keys once it can.
bool CanWait(const absl::Status& key_not_made) {
  return key_not_made.code() == absl::StatusCode::kUnavailable;
}

}  // namespace

absl::StatusOr<KeyChanges> KeyLifecycle::Revoke(const std::vector<KeyRecord>& current,
                                                std::string_view kid, std::string_view reason,
                                                absl::Time now) const {
  std::vector<KeyRecord> keys = current;
  auto it =
      std::find_if(keys.begin(), keys.end(), [&](const KeyRecord& k) { return k.kid == kid; });
  if (it == keys.end())
    return absl::NotFoundError(absl::StrCat("no key with key_id '", std::string(kid), "'"));
  if (it->state == KeyState::kRevoked) return KeyChanges{};

  ChangeList changes;
  KeyState was = it->state;
  it->state = KeyState::kRevoked;
  it->revoked_at = now;
  it->revoke_reason = std::string(reason);
  changes.Demote(*it);

  bool need_pending = was == KeyState::kPending;
  if (was == KeyState::kActive) {
    KeyRecord* next = Newest(InState(keys, KeyState::kPending), &KeyRecord::created_at);
    if (next != nullptr) {
      // Even when the PENDING key is younger than publish_ahead (two revocations in a row), it
      // is the key validators have had longest; the server logs how long it was published.
      next->state = KeyState::kActive;
      next->activated_at = now;
      changes.Promote(*next);
    } else {
      // No published successor (it cannot happen through these decisions): sign with a fresh key
      // rather than keep signing with a revoked one.
      absl::StatusOr<KeyRecord> emergency = FreshActiveKey(now);
      if (emergency.ok()) {
        changes.Promote(*emergency);
      } else if (!CanWait(emergency.status())) {
        return emergency.status();
      }
    }
    need_pending = true;
  }
  if (need_pending) {
    absl::StatusOr<KeyRecord> fresh = factory_(settings_.algorithm, now);
    if (fresh.ok()) {
      changes.Add(*fresh);
    } else if (!CanWait(fresh.status())) {
      return fresh.status();
    }
  }
  return std::move(changes).Build();
}

}  // namespace signet::server
