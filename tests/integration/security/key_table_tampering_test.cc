// The database as an attacker: whoever can write the key table (but does not hold the KEK) adds
// a key of their own, or edits an existing row, then signs a token for "admin" with a key they
// hold. signet-server (a real process on a real SQLite file) refuses every such row: the token
// does not validate, the key is not published, the refusal is logged and counted, and the keys
// the server made keep working.
#include <sqlite3.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "server/store/envelope.h"
#include "signet/base64url.h"
#include "signet/jwk.h"
#include "tests/integration/test_support.h"
#include "token/signing/signing_key.h"
#include "token/signing/token_signer.h"

namespace signet {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Runs SQL on the server's database file while the server is stopped, as the attacker would.
class Database {
 public:
  explicit Database(const std::string& path) {
    EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  }
  ~Database() { sqlite3_close(db_); }

  void Exec(const std::string& sql) {
    char* error = nullptr;
    EXPECT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK)
        << sql << ": " << (error ? error : "");
    sqlite3_free(error);
  }

  // Inserts a key row with the columns given (mac omitted when `mac` is null: the old schema).
  void InsertKey(const std::string& kid, Algorithm algorithm, server::KeyState state,
                 const std::string& public_jwk, const std::string& sealed, const std::string* mac) {
    const int64_t now = absl::ToUnixMicros(absl::Now());
    std::string sql = absl::StrCat(
        "INSERT INTO keys (kid, algorithm, state, created_at, activated_at, retired_at, "
        "revoked_at, revoke_reason, public_jwk, sealed_private",
        mac ? ", mac" : "", ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, '', ?7, ?8", mac ? ", ?9" : "",
        ")");
    sqlite3_stmt* stmt = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db_);
    sqlite3_bind_text(stmt, 1, kid.data(), static_cast<int>(kid.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(stmt, 2, static_cast<int64_t>(algorithm));
    sqlite3_bind_int64(stmt, 3, static_cast<int64_t>(state));
    sqlite3_bind_int64(stmt, 4, now - 7200'000'000LL);
    sqlite3_bind_int64(stmt, 5, now - 3600'000'000LL);
    if (state == server::KeyState::kRetired) {
      sqlite3_bind_int64(stmt, 6, now - 60'000'000LL);
    } else {
      sqlite3_bind_null(stmt, 6);
    }
    sqlite3_bind_text(stmt, 7, public_jwk.data(), static_cast<int>(public_jwk.size()),
                      SQLITE_TRANSIENT);
    sqlite3_bind_blob(stmt, 8, sealed.data(), static_cast<int>(sealed.size()), SQLITE_TRANSIENT);
    if (mac) {
      sqlite3_bind_blob(stmt, 9, mac->data(), static_cast<int>(mac->size()), SQLITE_TRANSIENT);
    }
    EXPECT_EQ(sqlite3_step(stmt), SQLITE_DONE) << sqlite3_errmsg(db_);
    sqlite3_finalize(stmt);
  }

  std::string Query(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK);
    std::string out;
    if (sqlite3_step(stmt) == SQLITE_ROW) {
      const void* blob = sqlite3_column_blob(stmt, 0);
      out.assign(static_cast<const char*>(blob ? blob : ""), sqlite3_column_bytes(stmt, 0));
    }
    sqlite3_finalize(stmt);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

// The attacker's own Ed25519 key: they hold its private half.
struct AttackerKey {
  std::unique_ptr<server::SigningKey> key;
  std::string jwk;
};

AttackerKey MakeAttackerKey() {
  AttackerKey attacker;
  absl::StatusOr<std::unique_ptr<server::SigningKey>> key =
      server::SigningKey::Generate(Algorithm::kEdDSA);
  EXPECT_TRUE(key.ok()) << key.status();
  attacker.key = *std::move(key);
  attacker.jwk = *ToJwk(*attacker.key->verify_key());
  return attacker;
}

// A token for sub=admin, any audience, 23 h, as the attacker signs it.
std::string AdminToken(const server::SigningKey& key) {
  server::TokenClaims claims;
  claims.issuer = "signet";
  claims.subject = "admin";
  claims.audiences = {"payments", "admin-console"};
  claims.issued_at = absl::Now();
  claims.expires_at = claims.issued_at + absl::Hours(23);
  claims.token_id = server::NewTokenId();
  absl::StatusOr<std::string> token = server::SignToken(key, claims);
  EXPECT_TRUE(token.ok()) << token.status();
  return *token;
}

class KeyTableTampering : public ::testing::Test {
 protected:
  std::string data() const { return dir_.path() + "/data"; }
  std::string db_path() const { return data() + "/signet.db"; }
  std::string log_path() const { return dir_.path() + "/server.log"; }

  void StartServer() {
    server_ = testing::ServerProcess::Start({"--data_dir=" + data(), "--http_listen=127.0.0.1:0"},
                                            log_path());
    ASSERT_NE(server_->port(), 0);
    ASSERT_NE(server_->http_port(), 0);
    stub_ = testing::NewStub(server_->port());
  }
  void StopServer() {
    ASSERT_EQ(server_->Terminate(absl::Seconds(15)), 0);
    server_.reset();
  }

  v1::ValidateTokenResponse Validate(const std::string& token) {
    return testing::ValidateAnyAudience(stub_.get(), token);
  }
  std::string Issue() {
    v1::IssueTokenRequest req;
    req.set_subject("alice");
    v1::IssueTokenResponse resp;
    grpc::ClientContext ctx;
    EXPECT_TRUE(stub_->IssueToken(&ctx, req, &resp).ok());
    return resp.token();
  }
  std::vector<v1::Key> Keys() {
    v1::ListKeysRequest req;
    req.set_include_revoked(true);
    v1::ListKeysResponse resp;
    grpc::ClientContext ctx;
    EXPECT_TRUE(stub_->ListKeys(&ctx, req, &resp).ok());
    return {resp.keys().begin(), resp.keys().end()};
  }
  std::string KidIn(v1::KeyState state) {
    for (const v1::Key& k : Keys()) {
      if (k.state() == state) return k.key_id();
    }
    return "";
  }
  std::string Jwks() {
    v1::GetJwksResponse resp;
    grpc::ClientContext ctx;
    EXPECT_TRUE(stub_->GetJwks(&ctx, v1::GetJwksRequest(), &resp).ok());
    return resp.jwks_json();
  }
  std::string Metrics() {
    httplib::Client http("127.0.0.1", server_->http_port());
    httplib::Result result = http.Get("/metrics");
    EXPECT_TRUE(result && result->status == 200);
    return result ? result->body : "";
  }

  // Everything the attack must not achieve for `kid`, and what the operator must see.
  void ExpectRefused(const std::string& kid, const std::string& token, const std::string& reason) {
    v1::ValidateTokenResponse resp = Validate(token);
    EXPECT_FALSE(resp.valid()) << kid;
    EXPECT_EQ(resp.reason(), v1::REASON_UNKNOWN_KEY) << kid;
    EXPECT_THAT(Jwks(), Not(HasSubstr(kid)));
    for (const v1::Key& k : Keys()) EXPECT_NE(k.key_id(), kid);
    const std::string log = server_->Log();
    EXPECT_THAT(log, HasSubstr(absl::StrCat("\"event\":\"key_record_refused\",\"kid\":\"", kid,
                                            "\",\"reason\":\"", reason, "\"")));
    EXPECT_THAT(Metrics(), HasSubstr(absl::StrCat("signet_key_records_refused_total{reason=\"",
                                                  reason, "\"}")));
    EXPECT_THAT(Metrics(), Not(HasSubstr(absl::StrCat("signet_key_records_refused_total{reason=\"",
                                                      reason, "\"} 0\n"))));
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::ServerProcess> server_;
  std::unique_ptr<v1::TokenService::Stub> stub_;
};

TEST_F(KeyTableTampering, AnInsertedAttackerKeyIsRefusedWithOrWithoutAForgedTag) {
  StartServer();
  const std::string legit_token = Issue();
  StopServer();

  AttackerKey untagged = MakeAttackerKey();
  AttackerKey forged = MakeAttackerKey();
  {
    Database db(db_path());
    db.InsertKey(untagged.key->kid(), Algorithm::kEdDSA, server::KeyState::kRetired, untagged.jwk,
                 "", nullptr);
    const std::string garbage(32, '\x5a');
    db.InsertKey(forged.key->kid(), Algorithm::kEdDSA, server::KeyState::kRetired, forged.jwk, "",
                 &garbage);
  }
  StartServer();
  ExpectRefused(untagged.key->kid(), AdminToken(*untagged.key), "legacy_unverified");
  ExpectRefused(forged.key->kid(), AdminToken(*forged.key), "bad_tag");

  // The server's own keys are untouched by the refusal.
  EXPECT_TRUE(Validate(legit_token).valid());
  EXPECT_TRUE(Validate(Issue()).valid());
  EXPECT_FALSE(KidIn(v1::KEY_STATE_ACTIVE).empty());
  EXPECT_THAT(server_->Log(), Not(HasSubstr(legit_token)));
}

TEST_F(KeyTableTampering, EditedRowsAreRefusedAndARevokedKeyStaysUnusable) {
  StartServer();
  const std::string signed_by_revoked = Issue();
  const std::string revoked_kid = KidIn(v1::KEY_STATE_ACTIVE);
  {
    v1::RevokeKeyRequest req;
    req.set_key_id(revoked_kid);
    v1::RevokeKeyResponse resp;
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->RevokeKey(&ctx, req, &resp).ok());
  }
  const std::string legit_token = Issue();
  const std::string pending_kid = KidIn(v1::KEY_STATE_PENDING);
  ASSERT_FALSE(pending_kid.empty());
  StopServer();

  // Two edits: un-revoke a key; swap the public key of a published one for the attacker's,
  // keeping its kid.
  AttackerKey attacker = MakeAttackerKey();
  std::string swapped_jwk = attacker.jwk;
  const std::string attacker_kid = attacker.key->kid();
  swapped_jwk.replace(swapped_jwk.find(attacker_kid), attacker_kid.size(), pending_kid);
  {
    Database db(db_path());
    db.Exec(absl::StrCat("UPDATE keys SET state = 3, revoked_at = NULL WHERE kid = '", revoked_kid,
                         "'"));
    db.Exec(absl::StrCat("UPDATE keys SET public_jwk = '", swapped_jwk, "' WHERE kid = '",
                         pending_kid, "'"));
  }
  StartServer();
  ExpectRefused(revoked_kid, signed_by_revoked, "bad_tag");
  // The attacker signs with their own key under the pending key's kid.
  const std::string signing_input = absl::StrCat(
      Base64UrlEncode(absl::StrCat(R"({"alg":"EdDSA","kid":")", pending_kid, R"(","typ":"JWT"})")),
      ".",
      Base64UrlEncode(absl::StrCat(R"({"iss":"signet","sub":"admin","aud":"payments","iat":)",
                                   absl::ToUnixSeconds(absl::Now()), R"(,"exp":)",
                                   absl::ToUnixSeconds(absl::Now() + absl::Hours(23)),
                                   R"(,"jti":"forged-by-the-database"})")));
  const std::string under_pending_kid =
      absl::StrCat(signing_input, ".", Base64UrlEncode(*attacker.key->Sign(signing_input)));
  EXPECT_EQ(Validate(under_pending_kid).reason(), v1::REASON_UNKNOWN_KEY);
  EXPECT_THAT(Jwks(), Not(HasSubstr(pending_kid)));
  EXPECT_THAT(Jwks(), Not(HasSubstr(attacker.jwk.substr(attacker.jwk.find("\"x\"")))));
  EXPECT_THAT(server_->Log(), HasSubstr(absl::StrCat("\"event\":\"key_record_refused\",\"kid\":\"",
                                                     pending_kid, "\",\"reason\":\"bad_tag\"")));
  EXPECT_TRUE(Validate(legit_token).valid());
  EXPECT_TRUE(Validate(Issue()).valid());
  StopServer();

  // Changing the algorithm of the server's ACTIVE key is refused too; a new key takes over.
  const std::string active_kid = [&] {
    Database db(db_path());
    return db.Query("SELECT kid FROM keys WHERE state = 2");
  }();
  ASSERT_FALSE(active_kid.empty());
  {
    Database db(db_path());
    db.Exec(absl::StrCat("UPDATE keys SET algorithm = 3 WHERE kid = '", active_kid, "'"));
  }
  StartServer();
  EXPECT_THAT(server_->Log(), HasSubstr(absl::StrCat("\"event\":\"key_record_refused\",\"kid\":\"",
                                                     active_kid, "\",\"reason\":\"bad_tag\"")));
  for (const v1::Key& k : Keys()) EXPECT_NE(k.key_id(), active_kid);
  EXPECT_FALSE(Validate(legit_token).valid());
  EXPECT_TRUE(Validate(Issue()).valid());
}

// A database written by the previous version (schema 1, no tag column) with a real key: the key
// upgrades (re-sealed, tagged) and keeps working; an attacker row in it is refused; and stripping
// the tag from an upgraded row does not pass it off as a legacy row again.
TEST_F(KeyTableTampering, ALegacyDatabaseUpgradesItsRealKeysAndRefusesAnAttackerRow) {
  const std::string kek_path = dir_.path() + "/kek";
  const std::string kek(32, 'K');
  testing::WriteFile(kek_path, kek);
  auto start = [&] {
    server_ = testing::ServerProcess::Start(
        {"--data_dir=" + data(), "--kek_file=" + kek_path, "--http_listen=127.0.0.1:0"},
        log_path());
    ASSERT_NE(server_->port(), 0);
    stub_ = testing::NewStub(server_->port());
  };
  start();
  StopServer();

  // The previous version's schema and rows: no tag column, private keys sealed with the kid alone.
  absl::StatusOr<std::unique_ptr<server::SigningKey>> real =
      server::SigningKey::Generate(Algorithm::kEdDSA);
  ASSERT_TRUE(real.ok());
  absl::StatusOr<server::Envelope> envelope = server::Envelope::Create(kek);
  ASSERT_TRUE(envelope.ok());
  std::string secret = (*real)->PrivateBytes();
  absl::StatusOr<std::string> sealed = envelope->Seal(secret, (*real)->kid());
  ASSERT_TRUE(sealed.ok());
  AttackerKey attacker = MakeAttackerKey();
  {
    Database db(db_path());
    db.Exec("DELETE FROM keys; ALTER TABLE keys DROP COLUMN mac; PRAGMA user_version = 1;");
    db.InsertKey((*real)->kid(), Algorithm::kEdDSA, server::KeyState::kActive,
                 *ToJwk(*(*real)->verify_key()), *sealed, nullptr);
    db.InsertKey(attacker.key->kid(), Algorithm::kEdDSA, server::KeyState::kRetired, attacker.jwk,
                 "", nullptr);
  }
  start();
  const std::string real_token = AdminToken(**real);
  EXPECT_TRUE(Validate(real_token).valid());
  EXPECT_EQ(KidIn(v1::KEY_STATE_ACTIVE), (*real)->kid());
  EXPECT_THAT(server_->Log(), HasSubstr(absl::StrCat("\"event\":\"key_record_upgraded\",\"kid\":\"",
                                                     (*real)->kid(), "\"")));
  ExpectRefused(attacker.key->kid(), AdminToken(*attacker.key), "legacy_unverified");
  StopServer();
  {
    Database db(db_path());
    EXPECT_EQ(db.Query("SELECT CAST(user_version AS BLOB) FROM pragma_user_version"), "2");
    EXPECT_EQ(
        db.Query(absl::StrCat("SELECT mac FROM keys WHERE kid = '", (*real)->kid(), "'")).size(),
        32u);
    EXPECT_NE(db.Query(absl::StrCat("SELECT sealed_private FROM keys WHERE kid = '", (*real)->kid(),
                                    "'")),
              *sealed);
  }
  start();
  EXPECT_TRUE(Validate(real_token).valid());
  StopServer();

  // Strip the tag of the upgraded row and make it RETIRED: not a legacy row any more.
  {
    Database db(db_path());
    db.Exec(
        absl::StrCat("UPDATE keys SET mac = x'', state = 3 WHERE kid = '", (*real)->kid(), "'"));
  }
  start();
  ExpectRefused((*real)->kid(), real_token, "legacy_unverified");
}

}  // namespace
}  // namespace signet
