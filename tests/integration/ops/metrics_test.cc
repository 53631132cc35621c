// The metric primitives, the server's counters, and the JWKS/discovery helpers, without a server.
#include "server/metrics/metrics.h"

#include <limits>
#include <map>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "server/http/http_server.h"
#include "server/http/well_known.h"
#include "server/metrics/server_metrics.h"
#include "server/metrics/state_metrics.h"
#include "tests/integration/ops/ops_test_util.h"

namespace signet::server {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(PrometheusWriter, WritesHelpTypeAndEscapedLabels) {
  PrometheusWriter out;
  out.Family("x_total", "counter", "Line one\nback\\slash");
  out.Sample("x_total", {{"path", "a\"b\\c\nd"}}, 7);
  out.Sample("x_total", {}, 0);
  EXPECT_EQ(out.Release(),
            "# HELP x_total Line one\\nback\\\\slash\n"
            "# TYPE x_total counter\n"
            "x_total{path=\"a\\\"b\\\\c\\nd\"} 7\n"
            "x_total 0\n");
}

TEST(PrometheusWriter, WritesSpecialDoubles) {
  PrometheusWriter out;
  out.SampleDouble("g", {}, 0.5);
  out.SampleDouble("g", {}, std::numeric_limits<double>::infinity());
  EXPECT_EQ(out.Release(), "g 0.5\ng +Inf\n");
}

TEST(LatencyHistogram, BucketsAreCumulativeWithSumAndCount) {
  LatencyHistogram h;
  h.Observe(absl::Microseconds(50));   // <= 0.0001
  h.Observe(absl::Microseconds(100));  // <= 0.0001 (bounds are inclusive)
  h.Observe(absl::Milliseconds(3));    // <= 0.005
  h.Observe(absl::Seconds(11));        // +Inf
  PrometheusWriter out;
  MetricLabel labels[] = {{"m", "X"}};
  WriteHistogram(&out, "lat_seconds", labels, h);
  std::map<std::string, double> m = testing::ParseMetrics(out.Release());
  EXPECT_EQ(m.at("lat_seconds_bucket{m=\"X\",le=\"0.0001\"}"), 2);
  EXPECT_EQ(m.at("lat_seconds_bucket{m=\"X\",le=\"0.0025\"}"), 2);
  EXPECT_EQ(m.at("lat_seconds_bucket{m=\"X\",le=\"0.005\"}"), 3);
  EXPECT_EQ(m.at("lat_seconds_bucket{m=\"X\",le=\"10\"}"), 3);
  EXPECT_EQ(m.at("lat_seconds_bucket{m=\"X\",le=\"+Inf\"}"), 4);
  EXPECT_EQ(m.at("lat_seconds_count{m=\"X\"}"), 4);
  EXPECT_DOUBLE_EQ(m.at("lat_seconds_sum{m=\"X\"}"), 11.00315);
  EXPECT_EQ(m.size(), LatencyHistogram::kBuckets + 3);
}

TEST(ServerMetrics, MapsMethodPathsAndCountsByCode) {
  ServerMetrics metrics;
  int issue = ServerMetrics::MethodIndex("/signet.v1.TokenService/IssueToken");
  int check = ServerMetrics::MethodIndex("/grpc.health.v1.Health/Check");
  int other = ServerMetrics::MethodIndex("/grpc.reflection.v1alpha.ServerReflection/X");
  EXPECT_EQ(issue, 0);
  EXPECT_EQ(check, 9);
  EXPECT_EQ(other, ServerMetrics::kOtherMethod);
  EXPECT_TRUE(
      ServerMetrics::IsStreaming(ServerMetrics::MethodIndex("/signet.v1.TokenService/WatchKeys")));

  metrics.RecordRpc(issue, grpc::StatusCode::OK, absl::Microseconds(80));
  metrics.RecordRpc(issue, grpc::StatusCode::OK, absl::Microseconds(90));
  metrics.RecordRpc(issue, grpc::StatusCode::INVALID_ARGUMENT, absl::Microseconds(10));
  metrics.RecordRpc(issue, static_cast<grpc::StatusCode>(99), absl::Microseconds(10));
  metrics.RecordAbandonedRpc(other);
  metrics.RecordValidation(Reason::kExpired);
  metrics.RecordStoreError(ServerMetrics::StoreErrorSource::kChange);
  EXPECT_EQ(metrics.rpc_count(issue, grpc::StatusCode::OK), 2u);
  EXPECT_EQ(metrics.rpc_count(issue, grpc::StatusCode::UNKNOWN), 1u);
  EXPECT_EQ(metrics.rpc_count(other, grpc::StatusCode::CANCELLED), 1u);

  PrometheusWriter out;
  metrics.WriteTo(&out);
  std::map<std::string, double> m = testing::ParseMetrics(out.Release());
  const std::string handled = "signet_grpc_server_handled_total";
  EXPECT_EQ(m.at(handled + "{grpc_service=\"signet.v1.TokenService\",grpc_method=\"IssueToken\","
                           "grpc_code=\"OK\"}"),
            2);
  EXPECT_EQ(m.at(handled + "{grpc_service=\"signet.v1.TokenService\",grpc_method=\"IssueToken\","
                           "grpc_code=\"INVALID_ARGUMENT\"}"),
            1);
  EXPECT_EQ(m.at(handled + "{grpc_service=\"signet.v1.TokenService\",grpc_method=\"RevokeKey\","
                           "grpc_code=\"OK\"}"),
            0);
  EXPECT_EQ(m.count(handled + "{grpc_service=\"signet.v1.TokenService\",grpc_method=\"RevokeKey\","
                              "grpc_code=\"INTERNAL\"}"),
            0u);
  EXPECT_EQ(
      m.at(handled + "{grpc_service=\"other\",grpc_method=\"other\",grpc_code=\"CANCELLED\"}"), 1);
  EXPECT_EQ(m.at("signet_grpc_server_handling_seconds_count{grpc_service=\"signet.v1.TokenService\""
                 ",grpc_method=\"IssueToken\"}"),
            4);
  EXPECT_EQ(m.at("signet_token_validations_total{reason=\"EXPIRED\"}"), 1);
  EXPECT_EQ(m.at("signet_token_validations_total{reason=\"VALID\"}"), 0);
  EXPECT_EQ(m.at("signet_store_errors_total{source=\"change\"}"), 1);
  EXPECT_EQ(m.at("signet_store_errors_total{source=\"maintenance\"}"), 0);
  EXPECT_EQ(m.at("signet_build_info{version=\"0.1.0\"}"), 1);
}

TEST(ServerMetrics, StreamingMethodsHaveNoLatencyHistogram) {
  ServerMetrics metrics;
  PrometheusWriter out;
  metrics.WriteTo(&out);
  std::string text = out.Release();
  EXPECT_THAT(text, Not(HasSubstr("grpc_method=\"WatchKeys\",le=")));
  EXPECT_THAT(text, Not(HasSubstr("grpc_method=\"Watch\",le=")));
  EXPECT_THAT(text, HasSubstr("grpc_method=\"Check\",le=\"+Inf\"} 0\n"));
}

TEST(StateMetrics, CountsKeysByStateAndRevocations) {
  StateSnapshot snap;
  snap.version = 42;
  KeyRecord k;
  k.state = KeyState::kActive;
  snap.key_records.push_back(k);
  k.state = KeyState::kPending;
  snap.key_records.push_back(k);
  k.state = KeyState::kRevoked;
  snap.key_records.push_back(k);
  snap.key_records.push_back(k);
  PrometheusWriter out;
  WriteStateMetrics(&snap, 3, &out);
  std::map<std::string, double> m = testing::ParseMetrics(out.Release());
  EXPECT_EQ(m.at("signet_keys{state=\"ACTIVE\"}"), 1);
  EXPECT_EQ(m.at("signet_keys{state=\"PENDING\"}"), 1);
  EXPECT_EQ(m.at("signet_keys{state=\"RETIRED\"}"), 0);
  EXPECT_EQ(m.at("signet_keys{state=\"REVOKED\"}"), 2);
  EXPECT_EQ(m.at("signet_revoked_tokens"), 0);
  EXPECT_EQ(m.at("signet_revoked_subjects"), 0);
  EXPECT_EQ(m.at("signet_state_version"), 42);
  EXPECT_EQ(m.at("signet_watchkeys_watchers"), 3);
}

TEST(StateMetrics, NoSnapshotMeansZeroKeys) {
  PrometheusWriter out;
  WriteStateMetrics(nullptr, 0, &out);
  std::map<std::string, double> m = testing::ParseMetrics(out.Release());
  EXPECT_EQ(m.at("signet_keys{state=\"ACTIVE\"}"), 0);
}

TEST(ProcessMetrics, ReportsCpuMemoryAndDescriptors) {
  PrometheusWriter out;
  WriteProcessMetrics(&out);
  std::map<std::string, double> m = testing::ParseMetrics(out.Release());
  EXPECT_EQ(m.count("process_cpu_seconds_total"), 1u);
  EXPECT_GT(m.at("process_resident_memory_bytes"), 0);
  EXPECT_GT(m.at("process_open_fds"), 0);
}

TEST(StrongEtag, IsAQuotedHashThatChangesWithTheBody) {
  std::string a = StrongEtag("{\"keys\":[]}");
  EXPECT_EQ(a, StrongEtag("{\"keys\":[]}"));
  EXPECT_NE(a, StrongEtag("{\"keys\":[1]}"));
  ASSERT_EQ(a.size(), 45u);  // 32 bytes of SHA-256 in base64url, quoted.
  EXPECT_EQ(a.front(), '"');
  EXPECT_EQ(a.back(), '"');
}

TEST(IfNoneMatch, MatchesExactWeakListedAndStar) {
  const std::string etag = "\"abc\"";
  EXPECT_TRUE(IfNoneMatchMatches("\"abc\"", etag));
  EXPECT_TRUE(IfNoneMatchMatches("W/\"abc\"", etag));
  EXPECT_TRUE(IfNoneMatchMatches("\"x\", \"abc\"", etag));
  EXPECT_TRUE(IfNoneMatchMatches(" * ", etag));
  EXPECT_FALSE(IfNoneMatchMatches("\"abcd\"", etag));
  EXPECT_FALSE(IfNoneMatchMatches("abc", etag));
  EXPECT_FALSE(IfNoneMatchMatches("", etag));
}

TEST(JwksMaxAge, IsHalfOfPublishAheadAndAtMostFiveMinutes) {
  EXPECT_EQ(JwksMaxAgeSeconds(absl::Minutes(10)), 300);
  EXPECT_EQ(JwksMaxAgeSeconds(absl::Hours(1)), 300);
  EXPECT_EQ(JwksMaxAgeSeconds(absl::Minutes(4)), 120);
  EXPECT_EQ(JwksMaxAgeSeconds(absl::Seconds(1)), 0);
  EXPECT_EQ(JwksMaxAgeSeconds(absl::ZeroDuration()), 0);
  EXPECT_EQ(JwksCacheControl(absl::Minutes(2)), "public, max-age=60");
}

TEST(DiscoveryJson, ListsIssuerJwksUriAndAlgorithmsOfPublishedKeys) {
  StateSnapshot snap;
  KeyRecord k;
  k.algorithm = Algorithm::kES256;
  k.state = KeyState::kActive;
  snap.key_records.push_back(k);
  k.algorithm = Algorithm::kEdDSA;
  k.state = KeyState::kRetired;
  snap.key_records.push_back(k);
  k.algorithm = Algorithm::kHS256;  // Never published.
  k.state = KeyState::kPending;
  snap.key_records.push_back(k);
  std::string json = DiscoveryJson("https://issuer.example", "https://signet.example/", snap);
  EXPECT_EQ(json,
            "{\"issuer\":\"https://issuer.example\","
            "\"jwks_uri\":\"https://signet.example/.well-known/jwks.json\","
            "\"response_types_supported\":[],"
            "\"subject_types_supported\":[\"public\"],"
            "\"id_token_signing_alg_values_supported\":[\"EdDSA\",\"ES256\"],"
            "\"claims_supported\":[\"iss\",\"sub\",\"aud\",\"exp\",\"nbf\",\"iat\",\"jti\","
            "\"backend\"]}");
}

TEST(DiscoveryPaths, FollowTheIssuersPathForOpenIdConnectAndRfc8414) {
  using ::testing::ElementsAre;
  EXPECT_THAT(DiscoveryPaths("signet"),
              ElementsAre(std::string(kDiscoveryPath), std::string(kOAuthMetadataPath)));
  EXPECT_THAT(DiscoveryPaths("https://auth.example.com/"),
              ElementsAre(std::string(kDiscoveryPath), std::string(kOAuthMetadataPath)));
  EXPECT_THAT(DiscoveryPaths("https://auth.example.com/a/b/"),
              ElementsAre(std::string(kDiscoveryPath), std::string(kOAuthMetadataPath),
                          "/a/b/.well-known/openid-configuration",
                          "/.well-known/oauth-authorization-server/a/b"));
  // Not an issuer (RFC 8414 section 2), or a path a router would read otherwise: root only.
  for (const char* odd :
       {"https://h/a?x=1", "https://h/a#f", "https://h//a", "https://h/a/../b", "https://h/a/.."}) {
    EXPECT_THAT(DiscoveryPaths(odd),
                ElementsAre(std::string(kDiscoveryPath), std::string(kOAuthMetadataPath)))
        << odd;
  }
}

TEST(DiscoveryPaths, WildcardHostsAreTheOnesNoClientCanReach) {
  for (const char* wildcard : {"", "0.0.0.0", "::", "[::]"}) EXPECT_TRUE(IsWildcardHost(wildcard));
  for (const char* host : {"127.0.0.1", "::1", "signet.example.com"}) {
    EXPECT_FALSE(IsWildcardHost(host)) << host;
  }
}

TEST(DiscoveryJson, RevokedKeysNameNoAlgorithm) {
  StateSnapshot snap;
  KeyRecord k;
  k.algorithm = Algorithm::kES256;
  k.state = KeyState::kRevoked;
  snap.key_records.push_back(k);
  rapidjson::Document doc;
  doc.Parse(DiscoveryJson("signet", "http://h:1", snap).c_str());
  ASSERT_TRUE(doc.IsObject());
  EXPECT_EQ(doc["id_token_signing_alg_values_supported"].Size(), 0u);
}

TEST(ParseHttpListen, AcceptsHostPortAndBracketedV6) {
  absl::StatusOr<HostPort> a = ParseHttpListen("0.0.0.0:8080");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->host, "0.0.0.0");
  EXPECT_EQ(a->port, 8080);
  absl::StatusOr<HostPort> b = ParseHttpListen("[::1]:0");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->port, 0);
}

TEST(ParseHttpListen, RefusesMalformedAddressesNamingTheFlag) {
  for (const char* bad : {"8080", "localhost", "localhost:", ":8080", "host:65536", "host:-1",
                          "host:80a", "::1:8080", "[::1]8080", "[::1", "host:+80"}) {
    absl::StatusOr<HostPort> r = ParseHttpListen(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(r.status().message(), HasSubstr("--http_listen=")) << bad;
  }
}

}  // namespace
}  // namespace signet::server
