// Which methods need a token, which audience tokens must carry, and the Validator that judges
// them. One AuthPolicy is shared by the AuthInterceptorFactory and the
// BearerAuthMetadataProcessor of a server.
//
// Example:
//   signet::AuthOptions options;
//   options.validator = validator;  // std::shared_ptr<signet::Validator>, e.g. a LocalValidator
//   options.audience = "greeter";
//   options.default_requirement = signet::Requirement::kRequired;
//   options.methods["/greeter.Greeter/SayHello"] = signet::Requirement::kOptional;
//   options.methods["/grpc.health.v1.Health/"] = signet::Requirement::kOptional;  // a service
//   absl::StatusOr<std::shared_ptr<const signet::AuthPolicy>> policy =
//       signet::AuthPolicy::Create(std::move(options));
//   if (!policy.ok()) return policy.status();
#ifndef SIGNET_AUTH_POLICY_H_
#define SIGNET_AUTH_POLICY_H_

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "signet/validator.h"

namespace signet {

enum class Requirement {
  // nap_token's semantics: no token or a bad token -> the call proceeds with an anonymous identity
  // and the handler decides.
  kOptional,
  // A call without a valid token is answered UNAUTHENTICATED with the reason in the message; the
  // handler's guard (CallIdentity) stops its work.
  kRequired,
};

// "OPTIONAL" or "REQUIRED".
std::string_view RequirementName(Requirement requirement);

struct AuthOptions {
  // Required. Judges every bearer token. Shared: a server usually has one.
  std::shared_ptr<Validator> validator;
  // Exactly one of these two is required (AuthPolicy::Create refuses neither and both): the
  // audience every token must carry (else it is invalid: AUDIENCE_MISMATCH; a token without aud
  // never matches), or any_audience = true to accept tokens minted for any service. There is no
  // silent default because a forgotten audience would accept tokens minted for other services.
  std::string audience;
  bool any_audience = false;
  // For methods not named in `methods`. Fail closed by default.
  Requirement default_requirement = Requirement::kRequired;
  // Keys: a full method name "/pkg.Service/Method", or a service prefix "/pkg.Service/". An exact
  // name wins over its service's prefix.
  std::map<std::string, Requirement> methods;
};

// Immutable and thread-safe.
class AuthPolicy {
 public:
  // InvalidArgument when the validator is missing, when neither or both of audience and
  // any_audience are given, or a method key is neither "/pkg.Service/" nor "/pkg.Service/Method".
  static absl::StatusOr<std::shared_ptr<const AuthPolicy>> Create(AuthOptions options);

  // The requirement for a full method name ("/pkg.Service/Method"); the default for an empty or
  // unknown one.
  Requirement RequirementFor(std::string_view method) const;

  Validator& validator() const { return *validator_; }
  // What tokens must carry: Expect(options.audience), or Any() with options.any_audience.
  Audience audience() const {
    return any_audience_ ? Audience::Any() : Audience::Expect(audience_);
  }

 private:
  AuthPolicy() = default;

  std::shared_ptr<Validator> validator_;
  std::string audience_;
  bool any_audience_ = false;
  Requirement default_requirement_ = Requirement::kRequired;
  absl::flat_hash_map<std::string, Requirement> exact_;
  absl::flat_hash_map<std::string, Requirement> services_;
};

}  // namespace signet

#endif  // SIGNET_AUTH_POLICY_H_
