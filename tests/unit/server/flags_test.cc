#include "server/flags.h"

#include <string>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "gtest/gtest.h"

ABSL_DECLARE_FLAG(std::string, issuer);
ABSL_DECLARE_FLAG(std::string, public_url);

namespace signet::server {
namespace {

class FlagsTest : public ::testing::Test {
 private:
  absl::FlagSaver saver_;  // Every flag set in a test is restored after it.
};

TEST_F(FlagsTest, IssuerDefaultsToSignetWithoutAPublicUrl) {
  absl::StatusOr<ServerConfig> c = ConfigFromFlags();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->issuer, "signet");
}

TEST_F(FlagsTest, IssuerDefaultsToThePublicUrlSoDiscoveryClientsFindIt) {
  absl::SetFlag(&FLAGS_public_url, "https://auth.example.com/signet/");
  absl::StatusOr<ServerConfig> c = ConfigFromFlags();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->issuer, "https://auth.example.com/signet");
  EXPECT_EQ(c->public_url, "https://auth.example.com/signet/");
}

TEST_F(FlagsTest, AnIssuerGivenWinsOverThePublicUrl) {
  absl::SetFlag(&FLAGS_public_url, "https://auth.example.com");
  absl::SetFlag(&FLAGS_issuer, "https://issuer.example.com");
  absl::StatusOr<ServerConfig> c = ConfigFromFlags();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->issuer, "https://issuer.example.com");
}

}  // namespace
}  // namespace signet::server
