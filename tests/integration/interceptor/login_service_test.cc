// The example login service: argon2id password checks and POST /login against a real signet
// server in process.
#include "examples/login_service.h"

#include <sodium.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "rapidjson/document.h"
#include "signet/client.h"
#include "tests/integration/test_support.h"

namespace signet::examples {
namespace {

using ::testing::HasSubstr;

// Cheapest argon2id cost: these tests are about the logic, not the cost.
std::string CheapHash(const std::string& password) {
  absl::StatusOr<std::string> hash =
      PasswordTable::Hash(password, crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN);
  EXPECT_TRUE(hash.ok()) << hash.status();
  return hash.ok() ? *hash : "";
}

TEST(PasswordTable, ChecksThePasswordOfEachUser) {
  absl::StatusOr<PasswordTable> table = PasswordTable::Parse(
      absl::StrCat("# demo\n\nalice:", CheapHash("wonderland"), "\nbob:", CheapHash("builder")));
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->size(), 2u);
  EXPECT_TRUE(table->Check("alice", "wonderland"));
  EXPECT_TRUE(table->Check("bob", "builder"));
  EXPECT_FALSE(table->Check("alice", "builder"));
  EXPECT_FALSE(table->Check("alice", ""));
  EXPECT_FALSE(table->Check("carol", "wonderland"));
}

TEST(PasswordTable, TwoHashesOfOnePasswordDifferByTheirSalt) {
  EXPECT_NE(CheapHash("same"), CheapHash("same"));
}

TEST(PasswordTable, RefusesLinesItCannotUse) {
  EXPECT_EQ(PasswordTable::Parse("alice").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PasswordTable::Parse(":hash").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PasswordTable::Parse("alice:plaintext").status().code(),
            absl::StatusCode::kInvalidArgument);
}

class LoginServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server::SignetServer::Options options;
    options.config = testing::TestConfig(dir_.path());
    options.run_maintenance = false;
    signet_ = testing::StartServer(std::move(options));
    ASSERT_NE(signet_, nullptr);
    signet_client_ = Client::Create(testing::NewChannel(signet_->port()));
    absl::StatusOr<PasswordTable> users =
        PasswordTable::Parse(absl::StrCat("alice:", CheapHash("wonderland")));
    ASSERT_TRUE(users.ok());
    handler_ = std::make_unique<LoginHandler>(signet_client_, *std::move(users), LoginOptions{});
    absl::StatusOr<std::unique_ptr<LoginHttpServer>> http =
        LoginHttpServer::Start(handler_.get(), "127.0.0.1", 0);
    ASSERT_TRUE(http.ok()) << http.status();
    http_ = *std::move(http);
  }
  void TearDown() override {
    http_.reset();
    signet_->Shutdown(absl::Seconds(1));
  }

  httplib::Result Post(const std::string& body, const std::string& type) {
    httplib::Client client("127.0.0.1", http_->port());
    return client.Post("/login", body, type.c_str());
  }

  testing::TempDir dir_;
  std::unique_ptr<server::SignetServer> signet_;
  std::shared_ptr<Client> signet_client_;
  std::unique_ptr<LoginHandler> handler_;
  std::unique_ptr<LoginHttpServer> http_;
};

TEST_F(LoginServiceTest, TheRightPasswordGetsATokenForTheUser) {
  httplib::Result res =
      Post("username=alice&password=wonderland", "application/x-www-form-urlencoded");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  rapidjson::Document doc;
  doc.Parse(res->body.c_str());
  ASSERT_TRUE(doc.IsObject()) << res->body;
  v1::ValidateTokenRequest request;
  request.set_token(doc["token"].GetString());
  request.set_audience("greeter");
  absl::StatusOr<v1::ValidateTokenResponse> v = signet_client_->ValidateToken(request);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_TRUE(v->valid());
  EXPECT_EQ(v->subject(), "alice");
  EXPECT_EQ(v->backend(), "signet.examples.PasswordBackend");
  EXPECT_EQ(v->token_id(), doc["token_id"].GetString());
}

TEST_F(LoginServiceTest, AJsonBodyWorksToo) {
  httplib::Result res = Post(R"({"username":"alice","password":"wonderland"})", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_THAT(res->body, HasSubstr("\"token\":\"ey"));
}

TEST_F(LoginServiceTest, AWrongPasswordAndAnUnknownUserGetTheSameRefusal) {
  httplib::Result wrong = Post("username=alice&password=nope", "application/x-www-form-urlencoded");
  httplib::Result unknown =
      Post("username=mallory&password=wonderland", "application/x-www-form-urlencoded");
  ASSERT_TRUE(wrong);
  ASSERT_TRUE(unknown);
  EXPECT_EQ(wrong->status, 401);
  EXPECT_EQ(unknown->status, 401);
  EXPECT_EQ(wrong->body, unknown->body);
  EXPECT_EQ(wrong->body, "{\"error\":\"invalid username or password\"}\n");
}

TEST_F(LoginServiceTest, MissingCredentialsAreABadRequest) {
  httplib::Result res = Post("username=alice", "application/x-www-form-urlencoded");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
}

TEST_F(LoginServiceTest, SignetDownIsServiceUnavailable) {
  signet_->Shutdown(absl::Seconds(1));
  httplib::Result res =
      Post("username=alice&password=wonderland", "application/x-www-form-urlencoded");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_EQ(res->body, "{\"error\":\"cannot issue tokens right now\"}\n");
}

}  // namespace
}  // namespace signet::examples
