// Helpers shared by the reliability tests: process memory, hostile JSON shapes, HMAC for forged
// tokens, and small RPC wrappers.
#ifndef SIGNET_TESTS_INTEGRATION_RELIABILITY_RELIABILITY_UTIL_H_
#define SIGNET_TESTS_INTEGRATION_RELIABILITY_RELIABILITY_UTIL_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "grpcpp/grpcpp.h"
#include "signet/v1/token_service.grpc.pb.h"

namespace signet::reliability {

// True in ASan/UBSan/TSan builds, where RSS measures the sanitizer more than signet.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kSanitizedBuild = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr bool kSanitizedBuild = true;
#else
inline constexpr bool kSanitizedBuild = false;
#endif
#else
inline constexpr bool kSanitizedBuild = false;
#endif

// VmRSS of a process (this one by default) in KiB, from /proc/<pid>/status; -1 if unreadable.
int64_t RssKb(pid_t pid = 0);

// HMAC-SHA256 of `data` under `key` (raw bytes).
std::string HmacSha256(std::string_view key, std::string_view data);

// {"a":{"a":...1...}} nested `depth` deep.
std::string NestedObjects(int depth);
// ,"m0":0,"m1":1,... (`count` members, with a leading comma, to splice into an object).
std::string ManyMembers(int count);

// The key list (revoked keys included), or an empty list and `*status` set on failure.
std::vector<v1::Key> ListAllKeys(v1::TokenService::Stub* stub, grpc::Status* status = nullptr);

}  // namespace signet::reliability

#endif  // SIGNET_TESTS_INTEGRATION_RELIABILITY_RELIABILITY_UTIL_H_
