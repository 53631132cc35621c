#include "tests/integration/reliability/reliability_util.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <unistd.h>

#include <chrono>
#include <fstream>

#include "absl/strings/str_cat.h"

namespace signet::reliability {

int64_t RssKb(pid_t pid) {
  std::ifstream in(pid == 0 ? std::string("/proc/self/status")
                            : absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string NestedObjects(int depth) {
  std::string out;
  out.reserve(depth * 6 + 1);
  for (int i = 0; i < depth; ++i) out += "{\"a\":";
  out += '1';
  out.append(depth, '}');
  return out;
}

std::string ManyMembers(int count) {
  std::string out;
  for (int i = 0; i < count; ++i) absl::StrAppend(&out, ",\"m", i, "\":", i);
  return out;
}

std::vector<v1::Key> ListAllKeys(v1::TokenService::Stub* stub, grpc::Status* status) {
  v1::ListKeysRequest req;
  req.set_include_revoked(true);
  v1::ListKeysResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::Status st = stub->ListKeys(&ctx, req, &resp);
  if (status != nullptr) *status = st;
  if (!st.ok()) return {};
  return {resp.keys().begin(), resp.keys().end()};
}

}  // namespace signet::reliability
