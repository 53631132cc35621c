// The typed client against a fake TokenService: status mapping, deadlines, retries, WatchKeys.
#include "signet/client.h"

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "signet/channel.h"
#include "tests/unit/client/fake_token_service.h"

namespace signet {
namespace {

using ::testing::ElementsAre;

const grpc::Status kUnavailable(grpc::StatusCode::UNAVAILABLE, "try later");

class ClientTest : public ::testing::Test {
 protected:
  std::unique_ptr<Client> NewClient(ClientOptions options = {}) {
    ChannelOptions channel;
    channel.target = server_.target();
    absl::StatusOr<std::unique_ptr<Client>> client = Client::Create(channel, options);
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? *std::move(client) : nullptr;
  }

  testing::FakeTokenService service_;
  testing::FakeServer server_{&service_};
};

TEST_F(ClientTest, ReturnsTheServersResponse) {
  service_.issue = [](const v1::IssueTokenRequest& req, v1::IssueTokenResponse* resp) {
    resp->set_token_id("jti-for-" + req.subject());
    return grpc::Status::OK;
  };
  v1::IssueTokenRequest req;
  req.set_subject("42");
  absl::StatusOr<v1::IssueTokenResponse> resp = NewClient()->IssueToken(req);
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(resp->token_id(), "jti-for-42");
}

TEST_F(ClientTest, CarriesTheGrpcCodeAndMessageOver) {
  service_.rotate = [](const v1::RotateKeyRequest&, v1::RotateKeyResponse*) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "pending key too young");
  };
  absl::StatusOr<v1::RotateKeyResponse> resp = NewClient()->RotateKey(v1::RotateKeyRequest());
  EXPECT_EQ(resp.status(), absl::FailedPreconditionError("pending key too young"));
}

TEST_F(ClientTest, RetriesAnIdempotentCallOnUnavailable) {
  service_.FailNext("ValidateToken", 2, kUnavailable);
  service_.validate = [](const v1::ValidateTokenRequest&, v1::ValidateTokenResponse* resp) {
    resp->set_valid(true);
    return grpc::Status::OK;
  };
  v1::ValidateTokenRequest req;
  req.set_token("t");
  absl::StatusOr<v1::ValidateTokenResponse> resp = NewClient()->ValidateToken(req);
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_TRUE(resp->valid());
  EXPECT_EQ(service_.calls("ValidateToken"), 3);
}

TEST_F(ClientTest, GivesUpAfterFourAttempts) {
  service_.FailNext("ListKeys", 100, kUnavailable);
  absl::StatusOr<v1::ListKeysResponse> resp = NewClient()->ListKeys();
  EXPECT_EQ(resp.status(), absl::UnavailableError("try later"));
  EXPECT_EQ(service_.calls("ListKeys"), 4);
}

TEST_F(ClientTest, RetriesEveryIdempotentMethod) {
  std::unique_ptr<Client> client = NewClient();
  for (const char* m :
       {"ValidateToken", "ListKeys", "GetJwks", "RevokeKey", "RevokeToken", "RevokeSubject"}) {
    service_.FailNext(m, 1, kUnavailable);
  }
  EXPECT_TRUE(client->ValidateToken(v1::ValidateTokenRequest()).ok());
  EXPECT_TRUE(client->ListKeys().ok());
  EXPECT_TRUE(client->GetJwks().ok());
  EXPECT_TRUE(client->RevokeKey(v1::RevokeKeyRequest()).ok());
  EXPECT_TRUE(client->RevokeToken(v1::RevokeTokenRequest()).ok());
  EXPECT_TRUE(client->RevokeSubject(v1::RevokeSubjectRequest()).ok());
  for (const char* m :
       {"ValidateToken", "ListKeys", "GetJwks", "RevokeKey", "RevokeToken", "RevokeSubject"}) {
    EXPECT_EQ(service_.calls(m), 2) << m;
  }
}

TEST_F(ClientTest, NeverRetriesIssueTokenOrRotateKey) {
  std::unique_ptr<Client> client = NewClient();
  service_.FailNext("IssueToken", 1, kUnavailable);
  service_.FailNext("RotateKey", 1, kUnavailable);
  EXPECT_EQ(client->IssueToken(v1::IssueTokenRequest()).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(client->RotateKey(v1::RotateKeyRequest()).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(service_.calls("IssueToken"), 1);
  EXPECT_EQ(service_.calls("RotateKey"), 1);
}

TEST_F(ClientTest, DoesNotRetryOtherCodes) {
  service_.FailNext("GetJwks", 1, grpc::Status(grpc::StatusCode::INTERNAL, "boom"));
  EXPECT_EQ(NewClient()->GetJwks().status(), absl::InternalError("boom"));
  EXPECT_EQ(service_.calls("GetJwks"), 1);
}

TEST_F(ClientTest, EndsACallAtItsDeadline) {
  // Shared: the handler may still be waking up when the test ends.
  auto release = std::make_shared<absl::Notification>();
  service_.list_keys = [release](const v1::ListKeysRequest&, v1::ListKeysResponse*) {
    release->WaitForNotificationWithTimeout(absl::Seconds(30));
    return grpc::Status::OK;
  };
  ClientOptions options;
  options.deadline = absl::Milliseconds(200);
  absl::StatusOr<v1::ListKeysResponse> resp = NewClient(options)->ListKeys();
  release->Notify();
  EXPECT_EQ(resp.status().code(), absl::StatusCode::kDeadlineExceeded);
}

TEST(ClientWithoutServer, AnswersUnavailableBeforeTheDeadline) {
  int port;
  {
    testing::FakeTokenService service;
    testing::FakeServer server(&service);
    port = server.port();
  }  // Nothing listens there now.
  ChannelOptions channel;
  channel.target = "127.0.0.1:" + std::to_string(port);
  ClientOptions options;
  options.deadline = absl::Seconds(30);
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Create(channel, options);
  ASSERT_TRUE(client.ok()) << client.status();
  // UNAVAILABLE (not DEADLINE_EXCEEDED): the retries gave up on their own.
  EXPECT_EQ((*client)->ValidateToken(v1::ValidateTokenRequest()).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ((*client)->IssueToken(v1::IssueTokenRequest()).status().code(),
            absl::StatusCode::kUnavailable);
}

v1::WatchKeysResponse Message(uint64_t version, bool snapshot = false) {
  v1::WatchKeysResponse m;
  m.set_version(version);
  m.set_snapshot(snapshot);
  return m;
}

TEST_F(ClientTest, WatchKeysDeliversMessagesInOrderUntilTheCallbackStops) {
  service_.SetInitialWatchMessage(Message(1, true));
  std::unique_ptr<Client> client = NewClient();
  std::vector<uint64_t> versions;
  absl::Status s = client->WatchKeys([&](const v1::WatchKeysResponse& m) {
    versions.push_back(m.version());
    if (m.version() == 1) {
      service_.PushWatchMessage(Message(2));
      service_.PushWatchMessage(Message(3));
    }
    return m.version() < 3;
  });
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_THAT(versions, ElementsAre(1, 2, 3));
}

TEST_F(ClientTest, WatchKeysEndsWithTheServersStatus) {
  service_.SetInitialWatchMessage(Message(1, true));
  std::unique_ptr<Client> client = NewClient();
  absl::Status s = client->WatchKeys([&](const v1::WatchKeysResponse&) {
    service_.EndWatchStreams(grpc::Status(grpc::StatusCode::UNAVAILABLE, "draining"));
    return true;
  });
  EXPECT_EQ(s, absl::UnavailableError("draining"));
}

TEST_F(ClientTest, WatchKeysEndsWhenCancelledFromAnotherThread) {
  service_.SetInitialWatchMessage(Message(1, true));
  std::unique_ptr<Client> client = NewClient();
  WatchCancellation cancellation;
  absl::Notification first;
  absl::Status result;
  std::thread watcher([&] {
    result = client->WatchKeys(
        [&](const v1::WatchKeysResponse&) {
          first.Notify();
          return true;
        },
        &cancellation);
  });
  first.WaitForNotification();
  cancellation.Cancel();
  watcher.join();
  EXPECT_EQ(result.code(), absl::StatusCode::kCancelled);
  EXPECT_TRUE(cancellation.cancelled());
}

TEST_F(ClientTest, WatchKeysWithAnAlreadyCancelledCancellationNeverCalls) {
  WatchCancellation cancellation;
  cancellation.Cancel();
  absl::Status s =
      NewClient()->WatchKeys([](const v1::WatchKeysResponse&) { return true; }, &cancellation);
  EXPECT_EQ(s.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(service_.calls("WatchKeys"), 0);
}

}  // namespace
}  // namespace signet
