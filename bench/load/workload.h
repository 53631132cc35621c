// What the load generator sends: prepared calls (method, serialized request, the answer expected)
// and the workloads that pick the next one.
#ifndef SIGNET_BENCH_LOAD_WORKLOAD_H_
#define SIGNET_BENCH_LOAD_WORKLOAD_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "google/protobuf/message_lite.h"
#include "grpcpp/support/slice.h"

namespace signet::bench {

// ---- Workloads ----------------------------------------------------------------------------------

enum class Expect {
  kAny,               // Any OK answer.
  kServing,           // HealthCheckResponse{status: SERVING}.
  kValid,             // ValidateTokenResponse{valid: true}.
  kAllowed,           // CheckResponse{status: {code: 0}, ok_response: ...}.
  kGreetedUser,       // The example greeter's SayHelloResponse for a subject.
  kGreetedAnonymous,  // The same for an anonymous caller.
};

// One prepared call: the method and the serialized request, shared by every call that sends it.
struct CallSpec {
  CallSpec(const std::string* method, grpc::Slice request, Expect expect)
      : method(method), request(std::move(request)), expect(expect) {}

  const std::string* method;
  grpc::Slice request;
  Expect expect;
  std::string authorization;  // "Bearer <token>", or empty for none.
};

// What to send next. Next is called concurrently from gRPC threads.
class Workload {
 public:
  virtual ~Workload() = default;
  virtual const CallSpec& Next(uint64_t sequence) = 0;
  // Calls after which the run ends on its own (0: it runs for the duration).
  virtual uint64_t limit() const { return 0; }
};

// A stable std::string for a method name (generic stubs keep a reference to it).
const std::string& MethodName(const char* name);

grpc::Slice Serialized(const google::protobuf::MessageLite& message);

class FixedWorkload : public Workload {
 public:
  explicit FixedWorkload(CallSpec spec) : spec_(std::move(spec)) {}
  const CallSpec& Next(uint64_t) override { return spec_; }

 private:
  CallSpec spec_;
};

// Each spec once, in order; or (each_once false) specs drawn uniformly at random with repetition,
// as real traffic does (a strict cycle over more tokens than a cache holds would defeat any
// recency-based cache, which says nothing about real traffic).
class SpecsWorkload : public Workload {
 public:
  SpecsWorkload(std::vector<CallSpec> specs, bool each_once)
      : specs_(std::move(specs)), each_once_(each_once) {}
  const CallSpec& Next(uint64_t sequence) override {
    if (each_once_) return specs_[sequence % specs_.size()];
    return specs_[SplitMix64(sequence) % specs_.size()];
  }
  uint64_t limit() const override { return each_once_ ? specs_.size() : 0; }

 private:
  static uint64_t SplitMix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15u;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9u;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBu;
    return x ^ (x >> 31);
  }

  std::vector<CallSpec> specs_;
  const bool each_once_;
};

// Every 20th call is `rare`, the others come from `common`.
class MixWorkload : public Workload {
 public:
  MixWorkload(std::unique_ptr<Workload> common, CallSpec rare)
      : common_(std::move(common)), rare_(std::move(rare)) {}
  const CallSpec& Next(uint64_t sequence) override {
    return sequence % 20 == 19 ? rare_ : common_->Next(sequence - sequence / 20);
  }

 private:
  std::unique_ptr<Workload> common_;
  CallSpec rare_;
};

}  // namespace signet::bench

#endif  // SIGNET_BENCH_LOAD_WORKLOAD_H_
