// The identity the client tests' sample tokens carry, checked field by field.
//
// Example:
//   ASSERT_TRUE(r->valid());
//   ExpectSampleIdentity(r->identity, kT0, "kid-1");
#ifndef SIGNET_TESTS_UNIT_CLIENT_SAMPLE_IDENTITY_H_
#define SIGNET_TESTS_UNIT_CLIENT_SAMPLE_IDENTITY_H_

#include <string>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "signet/validator.h"

namespace signet::testing {

// Subject "42", the Django model backend, audience "orders", valid for an hour from `issued_at`,
// token id "jti-1", signed by `key_id`, caller claims {"role":"admin"}.
inline void ExpectSampleIdentity(const Identity& identity, absl::Time issued_at,
                                 const std::string& key_id) {
  EXPECT_EQ(identity.subject, "42");
  EXPECT_EQ(identity.backend, "django.contrib.auth.backends.ModelBackend");
  EXPECT_THAT(identity.audiences, ::testing::ElementsAre("orders"));
  EXPECT_EQ(identity.issued_at, issued_at);
  EXPECT_EQ(identity.expires_at, issued_at + absl::Hours(1));
  EXPECT_EQ(identity.token_id, "jti-1");
  EXPECT_EQ(identity.key_id, key_id);
  EXPECT_EQ(identity.claims_json, R"({"role":"admin"})");
}

}  // namespace signet::testing

#endif  // SIGNET_TESTS_UNIT_CLIENT_SAMPLE_IDENTITY_H_
