#include "server/policy/peer_identity.h"

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "grpc/grpc_security_constants.h"

namespace signet::server {
namespace {

absl::string_view View(const grpc::string_ref& ref) { return {ref.data(), ref.size()}; }

}  // namespace

std::string PeerIdentity(const grpc::AuthContext& auth) {
  if (!auth.IsPeerAuthenticated()) return "";
  std::vector<grpc::string_ref> spiffe;
  for (const grpc::string_ref& uri : auth.FindPropertyValues(GRPC_PEER_URI_PROPERTY_NAME)) {
    if (absl::StartsWithIgnoreCase(View(uri), "spiffe://")) spiffe.push_back(uri);
  }
  if (spiffe.size() > 1) return "";
  if (spiffe.size() == 1) return std::string(View(spiffe[0]));
  for (const grpc::string_ref& dns : auth.FindPropertyValues(GRPC_PEER_DNS_PROPERTY_NAME)) {
    if (!dns.empty()) return std::string(View(dns));
  }
  for (const grpc::string_ref& cn : auth.FindPropertyValues(GRPC_X509_CN_PROPERTY_NAME)) {
    if (!cn.empty()) return std::string(View(cn));
  }
  return "";
}

}  // namespace signet::server
