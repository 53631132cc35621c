#include "signet/remote_validator.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "signet/channel.h"
#include "signet/client.h"
#include "signet/proto_time.h"
#include "tests/unit/client/fake_token_service.h"
#include "tests/unit/client/sample_identity.h"

namespace signet {
namespace {

using ::testing::ElementsAre;

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

google::protobuf::Timestamp At(absl::Time t) { return ToProtoTime(t); }

class RemoteValidatorTest : public ::testing::Test {
 protected:
  RemoteValidatorTest() {
    // Tokens "valid-<sub>" are valid until token_exp_; anything else is BAD_SIGNATURE.
    service_.validate = [this](const v1::ValidateTokenRequest& req,
                               v1::ValidateTokenResponse* resp) {
      if (req.token().rfind("valid-", 0) != 0) {
        resp->set_reason(v1::REASON_BAD_SIGNATURE);
        return grpc::Status::OK;
      }
      resp->set_valid(true);
      resp->set_subject(req.token().substr(6));
      resp->set_backend("django.contrib.auth.backends.ModelBackend");
      resp->add_audience("orders");
      *resp->mutable_issued_at() = At(kT0);
      *resp->mutable_expires_at() = At(token_exp_);
      resp->set_token_id("jti-1");
      resp->set_key_id("kid-1");
      (*resp->mutable_claims()->mutable_fields())["role"].set_string_value("admin");
      return grpc::Status::OK;
    };
  }

  std::unique_ptr<RemoteValidator> NewValidator(RemoteValidatorOptions options = {}) {
    options.clock = &clock_;
    ChannelOptions channel;
    channel.target = server_.target();
    return RemoteValidator::Create(*Client::Create(channel), options);
  }

  int ServerCalls() const { return service_.calls("ValidateToken"); }

  FakeClock clock_{kT0};
  absl::Time token_exp_ = kT0 + absl::Hours(1);
  testing::FakeTokenService service_;
  testing::FakeServer server_{&service_};
};

TEST_F(RemoteValidatorTest, ReturnsTheServersIdentity) {
  absl::StatusOr<Validation> v = NewValidator()->Validate("valid-42", Audience::Expect("orders"));
  ASSERT_TRUE(v.ok()) << v.status();
  ASSERT_TRUE(v->valid());
  testing::ExpectSampleIdentity(v->identity, kT0, "kid-1");
}

TEST_F(RemoteValidatorTest, ReturnsTheServersReason) {
  absl::StatusOr<Validation> v = NewValidator()->Validate("forged", Audience::Any());
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->reason, Reason::kBadSignature);
}

TEST_F(RemoteValidatorTest, AnswersAnEmptyTokenMalformedWithoutACall) {
  absl::StatusOr<Validation> v = NewValidator()->Validate("", Audience::Any());
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->reason, Reason::kMalformed);
  EXPECT_EQ(ServerCalls(), 0);
}

TEST_F(RemoteValidatorTest, ServesARepeatedTokenFromTheCache) {
  std::unique_ptr<RemoteValidator> validator = NewValidator();
  ASSERT_TRUE(validator->Validate("valid-42", Audience::Any())->valid());
  clock_.Advance(absl::Seconds(9));
  absl::StatusOr<Validation> again = validator->Validate("valid-42", Audience::Any());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->identity.subject, "42");
  EXPECT_EQ(ServerCalls(), 1);
  EXPECT_EQ(validator->stats().hits, 1u);
  EXPECT_EQ(validator->stats().server_calls, 1u);
}

TEST_F(RemoteValidatorTest, KeysTheCacheByAudienceToo) {
  std::unique_ptr<RemoteValidator> validator = NewValidator();
  ASSERT_TRUE(validator->Validate("valid-42", Audience::Expect("orders")).ok());
  ASSERT_TRUE(validator->Validate("valid-42", Audience::Expect("billing")).ok());
  ASSERT_TRUE(validator->Validate("valid-42", Audience::Any()).ok());
  EXPECT_EQ(ServerCalls(), 3);
}

TEST_F(RemoteValidatorTest,
       AnyAudienceAndAnEmptyExpectedAudienceAreAskedAsSuchAndNeverShareAnAnswer) {
  absl::Mutex mu;
  std::vector<std::pair<bool, std::string>> asked;
  auto inner = service_.validate;
  service_.validate = [&mu, &asked, inner](const v1::ValidateTokenRequest& req,
                                           v1::ValidateTokenResponse* resp) {
    absl::MutexLock lock(&mu);
    asked.emplace_back(req.any_audience(), req.audience());
    return inner(req, resp);
  };
  std::unique_ptr<RemoteValidator> validator = NewValidator();
  ASSERT_TRUE(validator->Validate("valid-42", Audience::Any()).ok());
  ASSERT_TRUE(validator->Validate("valid-42", Audience::Expect("")).ok());
  EXPECT_EQ(ServerCalls(), 2);
  absl::MutexLock lock(&mu);
  EXPECT_THAT(asked, ::testing::ElementsAre(std::pair<bool, std::string>(true, ""),
                                            std::pair<bool, std::string>(false, "")));
}

TEST_F(RemoteValidatorTest, AsksAgainOnceMaxAgeHasPassed) {
  std::unique_ptr<RemoteValidator> validator = NewValidator();
  ASSERT_TRUE(validator->Validate("valid-42", Audience::Any()).ok());
  clock_.Advance(absl::Seconds(10));
  ASSERT_TRUE(validator->Validate("valid-42", Audience::Any()).ok());
  EXPECT_EQ(ServerCalls(), 2);
}

TEST_F(RemoteValidatorTest, NeverServesAnAnswerPastTheTokensExpiry) {
  token_exp_ = kT0 + absl::Seconds(3);
  std::unique_ptr<RemoteValidator> validator = NewValidator();
  ASSERT_TRUE(validator->Validate("valid-42", Audience::Any())->valid());
  clock_.Advance(absl::Seconds(2));
  ASSERT_TRUE(validator->Validate("valid-42", Audience::Any()).ok());
  EXPECT_EQ(ServerCalls(), 1);
  clock_.Advance(absl::Seconds(1));
  ASSERT_TRUE(validator->Validate("valid-42", Audience::Any()).ok());
  EXPECT_EQ(ServerCalls(), 2);
}

TEST_F(RemoteValidatorTest, DoesNotCacheAnAnswerForAnAlreadyExpiredToken) {
  token_exp_ = kT0;
  std::unique_ptr<RemoteValidator> validator = NewValidator();
  ASSERT_TRUE(validator->Validate("valid-42", Audience::Any()).ok());
  ASSERT_TRUE(validator->Validate("valid-42", Audience::Any()).ok());
  EXPECT_EQ(ServerCalls(), 2);
}

TEST_F(RemoteValidatorTest, CachesInvalidAnswersOnlyBriefly) {
  std::unique_ptr<RemoteValidator> validator = NewValidator();
  ASSERT_EQ(validator->Validate("forged", Audience::Any())->reason, Reason::kBadSignature);
  clock_.Advance(absl::Milliseconds(999));
  ASSERT_EQ(validator->Validate("forged", Audience::Any())->reason, Reason::kBadSignature);
  EXPECT_EQ(ServerCalls(), 1);
  clock_.Advance(absl::Milliseconds(1));
  ASSERT_EQ(validator->Validate("forged", Audience::Any())->reason, Reason::kBadSignature);
  EXPECT_EQ(ServerCalls(), 2);
}

TEST_F(RemoteValidatorTest, ReturnsTransportErrorsAndNeverCachesThem) {
  service_.FailNext("ValidateToken", 1, grpc::Status(grpc::StatusCode::INTERNAL, "boom"));
  std::unique_ptr<RemoteValidator> validator = NewValidator();
  EXPECT_EQ(validator->Validate("valid-42", Audience::Any()).status(), absl::InternalError("boom"));
  absl::StatusOr<Validation> v = validator->Validate("valid-42", Audience::Any());
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_TRUE(v->valid());
  EXPECT_EQ(ServerCalls(), 2);
}

TEST_F(RemoteValidatorTest, EvictsTheLeastRecentlyUsedBeyondCapacity) {
  RemoteValidatorOptions options;
  options.cache_capacity = 1;
  std::unique_ptr<RemoteValidator> validator = NewValidator(options);
  ASSERT_TRUE(validator->Validate("valid-1", Audience::Any()).ok());
  ASSERT_TRUE(validator->Validate("valid-2", Audience::Any()).ok());
  EXPECT_EQ(validator->stats().size, 1u);
  EXPECT_EQ(validator->stats().evictions, 1u);
  ASSERT_TRUE(validator->Validate("valid-2", Audience::Any()).ok());  // cached
  ASSERT_TRUE(validator->Validate("valid-1", Audience::Any()).ok());  // evicted: asked again
  EXPECT_EQ(ServerCalls(), 3);
}

TEST_F(RemoteValidatorTest, HoldsAtMostCapacityEntries) {
  RemoteValidatorOptions options;
  options.cache_capacity = 40;
  std::unique_ptr<RemoteValidator> validator = NewValidator(options);
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(validator->Validate("valid-" + std::to_string(i), Audience::Any()).ok());
  }
  RemoteValidator::Stats stats = validator->stats();
  EXPECT_LE(stats.size, 40u);
  EXPECT_EQ(stats.size + stats.evictions, 100u);
}

TEST_F(RemoteValidatorTest, CallsTheServerEveryTimeWithoutACache) {
  RemoteValidatorOptions options;
  options.cache_capacity = 0;
  std::unique_ptr<RemoteValidator> validator = NewValidator(options);
  ASSERT_TRUE(validator->Validate("valid-42", Audience::Any()).ok());
  ASSERT_TRUE(validator->Validate("valid-42", Audience::Any()).ok());
  EXPECT_EQ(ServerCalls(), 2);
}

TEST(ValidationFromResponse, ReadsAReasonFromANewerServerAsMalformed) {
  v1::ValidateTokenResponse resp;
  resp.set_reason(static_cast<v1::Reason>(99));
  EXPECT_EQ(ValidationFromResponse(resp).reason, Reason::kMalformed);
}

TEST(ValidationFromResponse, ReadsEveryKnownReason) {
  for (int r = 1; r < kReasonCount; ++r) {
    v1::ValidateTokenResponse resp;
    resp.set_reason(static_cast<v1::Reason>(r));
    EXPECT_EQ(ValidationFromResponse(resp).reason, static_cast<Reason>(r));
  }
}

}  // namespace
}  // namespace signet
