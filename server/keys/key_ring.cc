#include "server/keys/key_ring.h"

#include <openssl/crypto.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/keys/local_key_backend.h"
#include "server/log.h"
#include "server/metrics/server_metrics.h"
#include "signet/jwk.h"

namespace signet::server {
namespace {

// The stored revocations as a set, built in one call. Their strings are moved out of `stored`
// (a million of them would otherwise be held twice while the set is built).
RevocationSet RevocationsOf(StoreSnapshot* stored) {
  std::vector<RevocationSet::TokenEntry> tokens;
  tokens.reserve(stored->token_revocations.size());
  for (TokenRevocationRecord& t : stored->token_revocations) {
    tokens.push_back({std::move(t.token_id), t.expires_at});
  }
  stored->token_revocations = {};
  std::vector<RevocationSet::SubjectEntry> subjects;
  subjects.reserve(stored->subject_revocations.size());
  for (SubjectRevocationRecord& s : stored->subject_revocations) {
    subjects.push_back({std::move(s.subject), s.not_before, s.expires_at});
  }
  stored->subject_revocations = {};
  return RevocationSet().WithEntries(tokens, subjects);
}

template <typename Entry, typename Less, typename Equal>
bool SameEntries(std::vector<Entry> a, std::vector<Entry> b, Less less, Equal equal) {
  if (a.size() != b.size()) return false;
  std::sort(a.begin(), a.end(), less);
  std::sort(b.begin(), b.end(), less);
  return std::equal(a.begin(), a.end(), b.begin(), equal);
}

// True when the stored records and revocations are what `snapshot` already serves.
bool SameState(const StateSnapshot& snapshot, const std::vector<KeyRecord>& keys,
               const RevocationSet& revocations) {
  std::vector<KeyRecord> stored;
  stored.reserve(keys.size());
  for (const KeyRecord& k : keys) stored.push_back(PublicMetadata(k));
  auto by_kid = [](const KeyRecord& a, const KeyRecord& b) { return a.kid < b.kid; };
  if (!SameEntries(stored, snapshot.key_records, by_kid,
                   [](const KeyRecord& a, const KeyRecord& b) { return a == b; })) {
    return false;
  }
  using Token = RevocationSet::TokenEntry;
  using Subject = RevocationSet::SubjectEntry;
  return SameEntries(
             revocations.TokenEntries(), snapshot.revocations.TokenEntries(),
             [](const Token& a, const Token& b) { return a.token_id < b.token_id; },
             [](const Token& a, const Token& b) {
               return a.token_id == b.token_id && a.expires_at == b.expires_at;
             }) &&
         SameEntries(
             revocations.SubjectEntries(), snapshot.revocations.SubjectEntries(),
             [](const Subject& a, const Subject& b) { return a.subject < b.subject; },
             [](const Subject& a, const Subject& b) {
               return a.subject == b.subject && a.not_before == b.not_before &&
                      a.expires_at == b.expires_at;
             });
}

using Refusal = ServerMetrics::KeyRecordRefusal;

// A key the backend made longer ago than this with no row naming it is an orphan: no store
// transaction runs this long.
constexpr absl::Duration kOrphanGrace = absl::Minutes(10);

// Says loudly that a stored key row is not used, and counts it. Never silent: the row stays in the
// database, so this repeats at every load until an operator removes it.
void ReportRefusal(const std::string& kid, Refusal reason, const absl::Status& why) {
  ServerMetrics::Global().RecordKeyRecordRefused(reason);
  Log(LogLevel::kError, "key_record_refused")
      .Str("kid", kid)
      .Str("reason", ServerMetrics::KeyRecordRefusalName(reason))
      .Str("error", why.ToString())
      .Str("note",
           "the key row was not loaded nor published: it was written or changed without the "
           "key-encryption key (database tampering?)");
}

const KeyRecord* FindState(const std::vector<KeyRecord>& keys, KeyState state) {
  for (const KeyRecord& k : keys) {
    if (k.state == state) return &k;
  }
  return nullptr;
}

// What changed in the key rows from `prev` to `next`; nullopt when nothing did. A full change when
// asked for or when there is nothing before.
std::optional<StateDelta> DeltaBetween(const StateSnapshot* prev, const StateSnapshot& next,
                                       bool full_reload) {
  StateDelta delta;
  if (full_reload || prev == nullptr) {
    delta.full = true;
    return delta;
  }
  absl::flat_hash_map<std::string, const KeyRecord*> before;
  for (const KeyRecord& k : prev->key_records) before.emplace(k.kid, &k);
  for (const KeyRecord& k : next.key_records) {
    auto it = before.find(k.kid);
    if (it == before.end() || !(*it->second == k)) delta.keys.push_back(k);
    if (it != before.end()) before.erase(it);
  }
  for (const auto& [kid, unused] : before) delta.deleted_kids.push_back(kid);
  if (delta.keys.empty() && delta.deleted_kids.empty()) return std::nullopt;
  return delta;
}

}  // namespace

KeyRecord PublicMetadata(KeyRecord record) {
  OPENSSL_cleanse(record.sealed_private.data(), record.sealed_private.size());
  record.sealed_private.clear();
  record.mac.clear();
  return record;
}

std::unique_ptr<KeyRing> KeyRing::Create(Store* store, Envelope envelope,
                                         LifecycleSettings settings, const Clock* clock,
                                         std::shared_ptr<const KeyBackend> backend) {
  return std::unique_ptr<KeyRing>(
      new KeyRing(store, std::move(envelope), settings, clock, std::move(backend)));
}

KeyRing::KeyRing(Store* store, Envelope envelope, LifecycleSettings settings, const Clock* clock,
                 std::shared_ptr<const KeyBackend> backend)
    : store_(store),
      envelope_(std::move(envelope)),
      backend_(backend != nullptr ? std::move(backend)
                                  : std::make_shared<LocalKeyBackend>(&envelope_)),
      lifecycle_(settings,
                 [this](Algorithm alg, absl::Time now) { return backend_->MakeKey(alg, now); }),
      clock_(clock) {}

KeyRing::~KeyRing() { store_->SetChangeListener(nullptr); }

void KeyRing::AddListener(StateListener* listener) {
  absl::MutexLock lock(&writer_mu_);
  listeners_.push_back(listener);
}

absl::Status KeyRing::Start() {
  absl::StatusOr<KeyRecordAuthenticator> authenticator = KeyRecordAuthenticator::Create(envelope_);
  if (!authenticator.ok()) return authenticator.status();
  authenticator_.emplace(*authenticator);
  store_->SetChangeListener([this](const StoreChange& change) { OnStoreChange(change); });
  {
    absl::MutexLock lock(&writer_mu_);
    absl::StatusOr<StoreSnapshot> stored = store_->Load();
    if (!stored.ok()) return stored.status();
    RevocationSet revocations = RevocationsOf(&*stored);
    if (absl::Status s = PublishStored(stored->keys, /*full_reload=*/true, std::move(revocations));
        !s.ok()) {
      return s;
    }
  }
#ifdef __GLIBC__
  // The rows just read were freed below the set built from them: without this their pages stay
  // resident (a million revoked ids: some 150 MiB more RSS after every start than while running).
  malloc_trim(0);
#endif
  absl::Time now = clock_->Now();
  absl::StatusOr<std::vector<KeyRecord>> keys = ApplyKeyDecision(
      [&](const std::vector<KeyRecord>& current) { return lifecycle_.Maintain(current, now); });
  if (!keys.ok()) return keys.status();
  // A store no other process uses has no transaction running now: every orphan (a kill -9 between
  // making a key and committing its row) goes. A shared store's other replicas may be between the
  // two, so there only old orphans go.
  CollectOrphans(store_->shared() ? now - kOrphanGrace : absl::InfiniteFuture());
  std::shared_ptr<const StateSnapshot> snap = Current();
  Log(LogLevel::kInfo, "key_ring_started")
      .Str("active_kid", snap->active ? snap->active->kid() : "")
      .Int("keys", static_cast<int64_t>(snap->key_records.size()))
      .Int("token_revocations", static_cast<int64_t>(snap->revocations.token_count()))
      .Int("subject_revocations", static_cast<int64_t>(snap->revocations.subject_count()));
  return absl::OkStatus();
}

void KeyRing::CollectOrphans(absl::Time made_before) {
  if (!backend_->holds_keys_apart()) return;
  // Every stored row counts, refused ones too: an object is destroyed only when no row names it.
  absl::StatusOr<std::vector<KeyRecord>> stored = store_->LoadKeys();
  absl::StatusOr<int> orphans =
      stored.ok() ? backend_->CollectOrphans(*stored, made_before) : stored.status();
  if (!orphans.ok()) {
    Log(LogLevel::kWarning, "key_orphans_not_collected")
        .Str("backend", std::string(backend_->name()))
        .Str("error", orphans.status().ToString());
  } else if (*orphans > 0) {
    Log(LogLevel::kInfo, "key_orphans_collected")
        .Str("backend", std::string(backend_->name()))
        .Int("destroyed", *orphans);
  }
}

absl::StatusOr<KeyRing::OpenedKey> KeyRing::OpenKey(const KeyRecord& record) const {
  OpenedKey opened;
  // The ACTIVE key signs; HMAC keys verify with their secret: both need the private half.
  const bool needs_private =
      record.state == KeyState::kActive || record.algorithm == Algorithm::kHS256;
  if (needs_private) {
    if (auto it = signing_keys_.find(record.kid); it != signing_keys_.end()) {
      opened.signing = it->second;
    } else {
      // The tag held, so only a KEK holder could have made this row: still, a private key that
      // does not open or does not match the row's public key is refused, not used.
      absl::StatusOr<std::unique_ptr<SigningKey>> parsed = backend_->OpenKey(record);
      if (parsed.status().code() == absl::StatusCode::kUnavailable) {
        // A token that cannot be reached says nothing against the row, and the rest of the
        // change (a revocation heard from another replica) must be published now: the row's
        // tokens verify (public key, or the token's own MAC check once it answers), nothing
        // signs with it until it opens (Maintain retries).
        absl::StatusOr<std::shared_ptr<const VerifyKey>> verify = backend_->OpenVerifyKey(record);
        if (!verify.ok()) return verify.status();
        Log(LogLevel::kWarning, "key_signer_unavailable")
            .Str("kid", record.kid)
            .Str("error", parsed.status().ToString());
        opened.verify = *std::move(verify);
        opened.signer_unavailable = true;
        return opened;
      }
      if (!parsed.ok()) {
        ReportRefusal(record.kid, Refusal::kKeyMismatch, parsed.status());
        return opened;
      }
      opened.signing = *std::move(parsed);
    }
    opened.verify = opened.signing->verify_key();
    return opened;
  }
  if (auto it = verify_keys_.find(record.kid); it != verify_keys_.end()) {
    opened.verify = it->second;
    return opened;
  }
  // Screen() checked kid, algorithm and thumbprint.
  absl::StatusOr<std::shared_ptr<const VerifyKey>> parsed = ParseJwk(record.public_jwk);
  if (!parsed.ok()) {
    return absl::DataLossError(absl::StrCat("stored public key of ", record.kid, " is invalid"));
  }
  opened.verify = *std::move(parsed);
  return opened;
}

absl::Status KeyRing::PublishKeys(const std::vector<KeyRecord>& records, bool full_reload,
                                  RevocationSet revocations) {
  auto next = std::make_shared<StateSnapshot>();
  KeySet::Builder builder;
  std::vector<std::shared_ptr<const VerifyKey>> published;
  absl::flat_hash_map<std::string, std::shared_ptr<const SigningKey>> signing_keys;
  absl::flat_hash_map<std::string, std::shared_ptr<const VerifyKey>> verify_keys;
  bool signers_missing = false;
  for (const KeyRecord& record : records) {
    absl::StatusOr<OpenedKey> opened = OpenKey(record);
    if (!opened.ok()) return opened.status();
    if (opened->verify == nullptr) continue;  // Refused (reported).
    signers_missing |= opened->signer_unavailable;
    if (opened->signing != nullptr) signing_keys.emplace(record.kid, opened->signing);
    if (record.state == KeyState::kActive) next->active = opened->signing;
    verify_keys.emplace(record.kid, opened->verify);
    const bool revoked = record.state == KeyState::kRevoked;
    if (revoked) revoked_kids_.insert(record.kid);
    builder.Add(opened->verify, revoked ? KeySet::Status::kRevoked : KeySet::Status::kUsable);
    if (!revoked && record.algorithm != Algorithm::kHS256) published.push_back(opened->verify);
    next->key_records.push_back(PublicMetadata(record));
  }
  std::sort(next->key_records.begin(), next->key_records.end(),
            [](const KeyRecord& a, const KeyRecord& b) {
              return std::tie(a.created_at, a.kid) < std::tie(b.created_at, b.kid);
            });
  next->keys = builder.Build();
  next->jwks_json = ToJwks(published);
  next->revocations = std::move(revocations);

  signers_missing_.store(signers_missing);
  std::shared_ptr<const StateSnapshot> prev = Current();
  std::optional<StateDelta> delta = DeltaBetween(prev.get(), *next, full_reload);
  if (!delta.has_value()) return absl::OkStatus();
  signing_keys_ = std::move(signing_keys);
  verify_keys_ = std::move(verify_keys);
  Publish(std::move(next), *delta);
  return absl::OkStatus();
}

absl::StatusOr<KeyRecord> KeyRing::Authenticate(const KeyRecord& record, bool* upgraded,
                                                int* refusal) const {
  *upgraded = false;
  if (!record.mac.empty()) {
    if (absl::Status s = authenticator_->Verify(record); !s.ok()) {
      *refusal = static_cast<int>(Refusal::kBadTag);
      return s;
    }
    if (absl::Status s = CheckPublicKey(record, nullptr); !s.ok()) {
      *refusal = static_cast<int>(Refusal::kKeyMismatch);
      return s;
    }
    if (record.state != KeyState::kRevoked && revoked_kids_.contains(record.kid)) {
      *refusal = static_cast<int>(Refusal::kRolledBack);
      return absl::FailedPreconditionError(
          "this process saw the key revoked; the row is an earlier version put back");
    }
    return record;
  }
  // A row written before schema version 2: only the KEK could have sealed its private key (with
  // the kid as associated data), and that key must be exactly the row's kid and public key. Its
  // state and times are not proven (see SECURITY.md); the tag written back covers them from now.
  *refusal = static_cast<int>(Refusal::kLegacyUnverified);
  if (revoked_kids_.contains(record.kid) && record.state != KeyState::kRevoked) {
    return absl::FailedPreconditionError(
        "this process saw the key revoked; the untagged row says otherwise");
  }
  absl::StatusOr<std::string> secret = envelope_.Open(record.sealed_private, record.kid);
  if (!secret.ok()) {
    return absl::PermissionDeniedError(
        absl::StrCat("the row has no authentication tag and its private key does not open under "
                     "this key-encryption key: ",
                     secret.status().message()));
  }
  absl::StatusOr<std::unique_ptr<SigningKey>> parsed =
      SigningKey::FromPrivateBytes(record.algorithm, record.kid, *secret);
  absl::Status matches =
      parsed.ok() ? CheckPublicKey(record, (*parsed)->verify_key().get()) : parsed.status();
  KeyRecord result = record;
  absl::StatusOr<std::string> sealed =
      matches.ok() ? envelope_.Seal(*secret, SealedKeyAssociatedData(record.kid))
                   : absl::StatusOr<std::string>(matches);
  OPENSSL_cleanse(secret->data(), secret->size());
  if (!matches.ok()) {
    return absl::PermissionDeniedError(
        absl::StrCat("the row has no authentication tag and its private key does not prove it: ",
                     matches.message()));
  }
  if (!sealed.ok()) return sealed.status();
  result.sealed_private = *std::move(sealed);
  absl::StatusOr<std::string> tag = authenticator_->Tag(result);
  if (!tag.ok()) return tag.status();
  result.mac = *std::move(tag);
  *upgraded = true;
  return result;
}

KeyRing::Screened KeyRing::Screen(const std::vector<KeyRecord>& records, bool report) const {
  Screened screened;
  screened.trusted.reserve(records.size());
  for (const KeyRecord& record : records) {
    bool upgraded = false;
    int refusal = 0;
    absl::StatusOr<KeyRecord> trusted = Authenticate(record, &upgraded, &refusal);
    if (trusted.ok()) {
      if (upgraded) screened.upgrades.push_back(*trusted);
      screened.trusted.push_back(*std::move(trusted));
      continue;
    }
    if (report) ReportRefusal(record.kid, static_cast<Refusal>(refusal), trusted.status());
  }
  return screened;
}

absl::Status KeyRing::CheckSomeTrusted(const std::vector<KeyRecord>& records,
                                       const Screened& screened) const {
  if (records.empty() || !screened.trusted.empty()) return absl::OkStatus();
  return absl::PermissionDeniedError(absl::StrCat(
      "none of the ", records.size(),
      " key rows in the store authenticates under this key-encryption key (fingerprint ",
      envelope_.fingerprint(),
      "): wrong key-encryption key, or the key table was rewritten without it"));
}

absl::Status KeyRing::PublishStored(const std::vector<KeyRecord>& records, bool full_reload,
                                    RevocationSet revocations) {
  Screened screened = Screen(records, /*report=*/true);
  if (absl::Status s = CheckSomeTrusted(records, screened); !s.ok()) return s;
  return PublishKeys(screened.trusted, full_reload, std::move(revocations));
}

void KeyRing::Publish(std::shared_ptr<StateSnapshot> next, const StateDelta& delta) {
  std::shared_ptr<const StateSnapshot> prev = Current();
  next->version = prev == nullptr ? 1 : prev->version + 1;
  std::shared_ptr<const StateSnapshot> published = std::move(next);
  state_.Publish(published);
  for (StateListener* listener : listeners_) listener->OnStateChanged(published, delta);
}

absl::StatusOr<KeyChanges> KeyRing::DecideOnTrusted(const Store::KeyDecision& decide,
                                                    const std::vector<KeyRecord>& current) {
  Screened screened = Screen(current, /*report=*/false);
  absl::StatusOr<KeyChanges> changes = decide(screened.trusted);
  if (!changes.ok()) return changes;
  absl::flat_hash_set<std::string> touched(changes->deletes.begin(), changes->deletes.end());
  for (KeyRecord& record : changes->upserts) {
    touched.insert(record.kid);
    absl::StatusOr<std::string> tag = authenticator_->Tag(record);
    if (!tag.ok()) return tag.status();
    record.mac = *std::move(tag);
  }
  for (KeyRecord& upgraded : screened.upgrades) {
    if (touched.contains(upgraded.kid)) continue;
    Log(LogLevel::kInfo, "key_record_upgraded").Str("kid", upgraded.kid);
    changes->upserts.push_back(std::move(upgraded));
  }
  return changes;
}

absl::StatusOr<std::vector<KeyRecord>> KeyRing::ApplyKeyDecision(const Store::KeyDecision& decide) {
  absl::MutexLock lock(&writer_mu_);
  // The decision sees only trusted rows (a refused row is left as it is, for the operator to
  // inspect); every row it writes is tagged, and legacy rows are written back re-sealed and tagged.
  // The rows the committed decision deleted (the store may run the decision more than once).
  std::vector<KeyRecord> deleted;
  auto authenticated = [&](const std::vector<KeyRecord>& current) {
    absl::StatusOr<KeyChanges> changes = DecideOnTrusted(decide, current);
    deleted.clear();
    if (changes.ok()) {
      for (const KeyRecord& record : current) {
        if (std::find(changes->deletes.begin(), changes->deletes.end(), record.kid) !=
            changes->deletes.end()) {
          deleted.push_back(record);
        }
      }
    }
    return changes;
  };
  absl::StatusOr<std::vector<KeyRecord>> records = store_->UpdateKeys(authenticated);
  if (!records.ok()) return records.status();
  // Spent keys: their rows are gone, so their private halves go too. A failure leaves an orphan
  // for CollectOrphans, never a row without its key.
  for (const KeyRecord& record : deleted) {
    if (absl::Status s = backend_->Forget(record); !s.ok()) {
      Log(LogLevel::kWarning, "key_forget_failed")
          .Str("kid", record.kid)
          .Str("backend", std::string(backend_->name()))
          .Str("error", s.ToString());
    }
  }
  std::shared_ptr<const StateSnapshot> prev = Current();
  if (absl::Status s = PublishStored(*records, /*full_reload=*/false,
                                     prev ? prev->revocations : RevocationSet());
      !s.ok()) {
    // The store has the change; this replica could not load it. Say so loudly: the periodic
    // reload retries, and start-up refuses to serve with keys it cannot open.
    Log(LogLevel::kError, "key_publish_failed").Str("error", s.ToString());
    needs_reload_.store(true);
    return s;
  }
  return records;
}

absl::StatusOr<KeyRing::RotateResult> KeyRing::Rotate(bool immediate) {
  absl::Time now = clock_->Now();
  KeyChanges made;
  absl::StatusOr<std::vector<KeyRecord>> records =
      ApplyKeyDecision([&](const std::vector<KeyRecord>& current) -> absl::StatusOr<KeyChanges> {
        absl::StatusOr<KeyChanges> changes = lifecycle_.Rotate(current, now, immediate);
        if (changes.ok()) made = *changes;
        return changes;
      });
  if (!records.ok()) return records.status();
  RotateResult result;
  for (const KeyRecord& k : made.upserts) {
    if (k.state == KeyState::kRetired) result.retired = PublicMetadata(k);
    if (k.state == KeyState::kActive) result.active = PublicMetadata(k);
    if (k.state == KeyState::kPending) result.pending = PublicMetadata(k);
  }
  Log(LogLevel::kInfo, "key_rotated")
      .Str("active_kid", result.active.kid)
      .Str("retired_kid", result.retired.kid)
      .Str("pending_kid", result.pending.kid)
      .Bool("immediate", immediate);
  return result;
}

absl::StatusOr<KeyRing::RevokeKeyResult> KeyRing::RevokeKey(std::string_view kid,
                                                            std::string_view reason) {
  absl::Time now = clock_->Now();
  absl::StatusOr<std::vector<KeyRecord>> records =
      ApplyKeyDecision([&](const std::vector<KeyRecord>& current) -> absl::StatusOr<KeyChanges> {
        return lifecycle_.Revoke(current, kid, reason, now);
      });
  if (!records.ok()) return records.status();
  RevokeKeyResult result;
  for (const KeyRecord& k : *records) {
    if (k.kid == kid) result.key = PublicMetadata(k);
  }
  if (const KeyRecord* active = FindState(*records, KeyState::kActive)) {
    result.active_kid = active->kid;
  }
  Log(LogLevel::kWarning, "key_revoked")
      .Str("kid", result.key.kid)
      .Str("active_kid", result.active_kid)
      .Str("reason", reason);
  for (const KeyRecord& k : *records) {
    if (k.kid == result.active_kid && k.activated_at == now &&
        k.created_at + lifecycle_.settings().publish_ahead > now) {
      Log(LogLevel::kWarning, "young_key_promoted")
          .Str("kid", k.kid)
          .Str("published_for", absl::FormatDuration(now - k.created_at))
          .Str("note",
               "the promoted key was published for less than publish_ahead; JWKS caches may not "
               "know it yet (local validators and ValidateToken refetch unknown keys)");
    }
  }
  return result;
}

absl::Status KeyRing::RevokeToken(std::string_view token_id, absl::Time expires_at) {
  absl::MutexLock lock(&writer_mu_);
  if (absl::Status s = store_->AddTokenRevocation({std::string(token_id), expires_at}); !s.ok()) {
    return s;
  }
  PublishRevocations({{std::string(token_id), expires_at}}, {});
  return absl::OkStatus();
}

absl::Status KeyRing::RevokeSubject(std::string_view subject, absl::Time not_before,
                                    absl::Time expires_at) {
  absl::MutexLock lock(&writer_mu_);
  if (absl::Status s = store_->AddSubjectRevocation({std::string(subject), not_before, expires_at});
      !s.ok()) {
    return s;
  }
  PublishRevocations({}, {{std::string(subject), not_before, expires_at}});
  return absl::OkStatus();
}

void KeyRing::PublishRevocations(std::vector<RevocationSet::TokenEntry> tokens,
                                 std::vector<RevocationSet::SubjectEntry> subjects) {
  std::shared_ptr<const StateSnapshot> prev = Current();
  auto next = std::make_shared<StateSnapshot>(*prev);
  next->revocations = prev->revocations.WithEntries(tokens, subjects);
  StateDelta delta;
  delta.tokens = std::move(tokens);
  delta.subjects = std::move(subjects);
  Publish(std::move(next), delta);
}

absl::Status KeyRing::Maintain() {
  if (needs_reload_.load() || signers_missing_.load()) {
    if (absl::Status s = Reload(); !s.ok()) return s;
  }
  absl::Time now = clock_->Now();
  std::shared_ptr<const StateSnapshot> snap = Current();
  if (snap == nullptr) return absl::FailedPreconditionError("the key ring has not started");
  if (lifecycle_.MaintenanceDue(snap->key_records, now)) {
    absl::StatusOr<std::vector<KeyRecord>> records = ApplyKeyDecision(
        [&](const std::vector<KeyRecord>& current) { return lifecycle_.Maintain(current, now); });
    if (!records.ok()) return records.status();
    std::shared_ptr<const StateSnapshot> after = Current();
    Log(LogLevel::kInfo, "keys_maintained")
        .Str("active_kid", after->active ? after->active->kid() : "")
        .Int("keys", static_cast<int64_t>(after->key_records.size()));
  }
  // Older than any transaction still running could be.
  CollectOrphans(now - kOrphanGrace);
  RevocationSet pruned = Current()->revocations.Pruned(now);
  if (pruned.token_count() != snap->revocations.token_count() ||
      pruned.subject_count() != snap->revocations.subject_count()) {
    if (absl::Status s = store_->PruneRevocations(now); !s.ok()) return s;
    absl::MutexLock lock(&writer_mu_);
    auto next = std::make_shared<StateSnapshot>(*Current());
    next->revocations = next->revocations.Pruned(now);
    Publish(std::move(next), StateDelta{});
  }
  return absl::OkStatus();
}

absl::Status KeyRing::Reload() {
  absl::MutexLock lock(&writer_mu_);
  absl::StatusOr<StoreSnapshot> stored = store_->Load();
  if (!stored.ok()) return stored.status();
  RevocationSet revocations = RevocationsOf(&*stored);
  std::shared_ptr<const StateSnapshot> prev = Current();
  Screened screened = Screen(stored->keys, /*report=*/true);
  if (absl::Status s = CheckSomeTrusted(stored->keys, screened); !s.ok()) {
    needs_reload_.store(true);
    return s;
  }
  // The periodic safety-net reload usually finds nothing new: then watchers hear nothing, unless
  // keys that could not sign (their token unreachable) can now be opened.
  if (prev != nullptr && SameState(*prev, screened.trusted, revocations) &&
      (!signers_missing_.load() || !backend_->Check().ok())) {
    needs_reload_.store(false);
    return absl::OkStatus();
  }
  absl::Status s = PublishKeys(screened.trusted, /*full_reload=*/true, std::move(revocations));
  needs_reload_.store(!s.ok());
  return s;
}

absl::Status KeyRing::ReloadKeys() {
  absl::MutexLock lock(&writer_mu_);
  absl::StatusOr<std::vector<KeyRecord>> keys = store_->LoadKeys();
  if (!keys.ok()) return keys.status();
  std::shared_ptr<const StateSnapshot> prev = Current();
  return PublishStored(*keys, /*full_reload=*/false, prev ? prev->revocations : RevocationSet());
}

void KeyRing::OnStoreChange(const StoreChange& change) {
  if (Current() == nullptr) return;  // Start() loads everything anyway.
  absl::Status status;
  switch (change.kind) {
    case StoreChange::Kind::kKeys:
      status = ReloadKeys();
      break;
    case StoreChange::Kind::kTokenRevocation:
    case StoreChange::Kind::kSubjectRevocation: {
      if (!change.token && !change.subject) {
        status = Reload();
        break;
      }
      absl::MutexLock lock(&writer_mu_);
      std::vector<RevocationSet::TokenEntry> tokens;
      std::vector<RevocationSet::SubjectEntry> subjects;
      if (change.token) tokens.push_back({change.token->token_id, change.token->expires_at});
      if (change.subject) {
        subjects.push_back(
            {change.subject->subject, change.subject->not_before, change.subject->expires_at});
      }
      PublishRevocations(std::move(tokens), std::move(subjects));
      break;
    }
    case StoreChange::Kind::kUnknown:
      status = Reload();
      break;
  }
  if (!status.ok()) {
    Log(LogLevel::kError, "store_change_apply_failed").Str("error", status.ToString());
  }
}

}  // namespace signet::server
