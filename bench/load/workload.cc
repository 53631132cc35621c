#include "bench/load/workload.h"

#include <map>
#include <mutex>

namespace signet::bench {

const std::string& MethodName(const char* name) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<std::string>>* names =
      new std::map<std::string, std::unique_ptr<std::string>>();
  std::lock_guard<std::mutex> lock(mu);
  auto& slot = (*names)[name];
  if (slot == nullptr) slot = std::make_unique<std::string>(name);
  return *slot;
}

grpc::Slice Serialized(const google::protobuf::MessageLite& message) {
  return grpc::Slice(message.SerializeAsString());
}

}  // namespace signet::bench
