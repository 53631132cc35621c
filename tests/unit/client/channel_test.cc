#include "signet/channel.h"

#include <string>

#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "signet/client.h"
#include "tests/unit/client/fake_token_service.h"

namespace signet {
namespace {

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

TEST(MakeChannel, RefusesAnEmptyTarget) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> c = MakeChannel(ChannelOptions{});
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(MakeChannel, RefusesAClientCertificateWithoutItsKey) {
  ChannelOptions options;
  options.target = "127.0.0.1:1";
  options.client_cert_pem = "-----BEGIN CERTIFICATE-----";
  absl::StatusOr<std::shared_ptr<grpc::Channel>> c = MakeChannel(options);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(MakeChannel, RefusesAKeyWithoutItsCertificateAndNeverEchoesTheKey) {
  ChannelOptions options;
  options.target = "127.0.0.1:1";
  options.client_key_pem = "SECRET-KEY-MATERIAL";
  absl::StatusOr<std::shared_ptr<grpc::Channel>> c = MakeChannel(options);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(c.status().message(), ::testing::Not(HasSubstr("SECRET")));
}

TEST(MakeChannel, RefusesAServerNameOverrideWithoutTls) {
  ChannelOptions options;
  options.target = "127.0.0.1:1";
  options.server_name_override = "signet.test";
  EXPECT_EQ(MakeChannel(options).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(MakeChannel, MakesATlsChannelWithDefaultRoots) {
  ChannelOptions options;
  options.target = "127.0.0.1:1";
  options.use_tls = true;
  options.server_name_override = "signet.test";
  absl::StatusOr<std::shared_ptr<grpc::Channel>> c = MakeChannel(options);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_NE(*c, nullptr);
}

TEST(RetryServiceConfigJson, RetriesExactlyTheIdempotentMethodsOnUnavailable) {
  rapidjson::Document doc;
  doc.Parse(RetryServiceConfigJson().c_str());
  ASSERT_FALSE(doc.HasParseError());
  const rapidjson::Value& configs = doc["methodConfig"];
  ASSERT_EQ(configs.Size(), 1u);
  std::vector<std::string> methods;
  for (const rapidjson::Value& name : configs[0]["name"].GetArray()) {
    EXPECT_STREQ(name["service"].GetString(), "signet.v1.TokenService");
    methods.push_back(name["method"].GetString());
  }
  EXPECT_THAT(methods, UnorderedElementsAre("ValidateToken", "ListKeys", "GetJwks", "RevokeKey",
                                            "RevokeToken", "RevokeSubject"));
  const rapidjson::Value& retry = configs[0]["retryPolicy"];
  EXPECT_EQ(retry["maxAttempts"].GetInt(), 4);
  EXPECT_STREQ(retry["initialBackoff"].GetString(), "0.1s");
  EXPECT_STREQ(retry["maxBackoff"].GetString(), "1s");
  EXPECT_EQ(retry["backoffMultiplier"].GetDouble(), 2.0);
  ASSERT_EQ(retry["retryableStatusCodes"].Size(), 1u);
  EXPECT_STREQ(retry["retryableStatusCodes"][0].GetString(), "UNAVAILABLE");
}

TEST(MakeChannel, InstallsTheRetryServiceConfig) {
  testing::FakeTokenService service;
  testing::FakeServer server(&service);
  ChannelOptions options;
  options.target = server.target();
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = MakeChannel(options);
  ASSERT_TRUE(channel.ok()) << channel.status();
  // The service config is applied once the channel has resolved its target.
  ASSERT_TRUE(Client::Create(*channel)->ListKeys().ok());
  EXPECT_THAT((*channel)->GetServiceConfigJSON(), HasSubstr("retryPolicy"));
}

TEST(MakeChannel, LeavesRetriesOutWhenAskedTo) {
  testing::FakeTokenService service;
  testing::FakeServer server(&service);
  ChannelOptions options;
  options.target = server.target();
  options.enable_retries = false;
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = MakeChannel(options);
  ASSERT_TRUE(channel.ok()) << channel.status();
  ASSERT_TRUE(Client::Create(*channel)->ListKeys().ok());
  EXPECT_THAT((*channel)->GetServiceConfigJSON(), ::testing::Not(HasSubstr("retryPolicy")));
}

// The integer value of channel argument `key`, or -1 when absent.
int IntArg(const grpc::ChannelArguments& args, const char* key) {
  grpc_channel_args c = args.c_channel_args();
  for (size_t i = 0; i < c.num_args; ++i) {
    if (std::string(c.args[i].key) == key && c.args[i].type == GRPC_ARG_INTEGER) {
      return c.args[i].value.integer;
    }
  }
  return -1;
}

TEST(SignetChannelArguments, KeepAWatchOnlyConnectionPingedWithinTheServersPolicy) {
  ChannelOptions options;
  options.target = "127.0.0.1:1";
  grpc::ChannelArguments args = SignetChannelArguments(options);
  EXPECT_EQ(IntArg(args, GRPC_ARG_KEEPALIVE_TIME_MS), 20000);
  EXPECT_EQ(IntArg(args, GRPC_ARG_KEEPALIVE_TIMEOUT_MS), 10000);
  EXPECT_EQ(IntArg(args, GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS), 1);
  EXPECT_EQ(IntArg(args, GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA), 0);
  options.keepalive_time = absl::ZeroDuration();
  EXPECT_EQ(IntArg(SignetChannelArguments(options), GRPC_ARG_KEEPALIVE_TIME_MS), -1);
}

TEST(MakeChannel, RefusesAKeepaliveTheServerWouldPunish) {
  ChannelOptions options;
  options.target = "127.0.0.1:1";
  options.keepalive_time = absl::Seconds(5);
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = MakeChannel(options);
  EXPECT_EQ(channel.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(channel.status().message(), HasSubstr("too_many_pings"));
  options.keepalive_time = absl::Seconds(10);
  options.keepalive_timeout = absl::ZeroDuration();
  EXPECT_EQ(MakeChannel(options).status().code(), absl::StatusCode::kInvalidArgument);
  options.keepalive_timeout = absl::Seconds(1);
  EXPECT_TRUE(MakeChannel(options).ok());
}

}  // namespace
}  // namespace signet
