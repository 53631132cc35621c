// What a handler knows about its caller: the identity of a valid bearer token, or why there is
// none. The AuthInterceptorFactory judges each call before its handler runs and hands the result
// over here; this is the only place a handler should read the caller's identity from.
//
// Example (a REQUIRED method: the guard is the way to the identity, so it cannot be forgotten):
//   grpc::Status Orders::Cancel(grpc::ServerContext* context, const Req* req, Resp* resp) {
//     signet::CallIdentity call = signet::IdentityOf(context);
//     const signet::Identity* who = call.identity();
//     if (who == nullptr) return call.status();  // UNAUTHENTICATED; the client already has it
//     return book_.Cancel(who->subject, req->order_id());
//   }
//
// Example (an OPTIONAL method, nap_token's anonymous fall-back):
//   signet::CallIdentity call = signet::IdentityOf(context);
//   std::string name = call.identity() != nullptr ? call.identity()->subject : "anonymous";
//
// Never trust identity metadata sent by the client (x-signet-identity, x-signet-subject, or any
// other x-signet-* header): the interceptor strips it, and the identity comes only from here.
#ifndef SIGNET_CALL_IDENTITY_H_
#define SIGNET_CALL_IDENTITY_H_

#include <memory>
#include <string_view>

#include "grpcpp/server_context.h"
#include "grpcpp/support/status.h"
#include "signet/auth_failure.h"
#include "signet/reason.h"
#include "signet/validator.h"

namespace signet {

namespace internal {
struct CallState;
}  // namespace internal

// A cheap, copyable view of one call's authentication. Thread-compatible; safe to keep for as long
// as the handler runs (it shares ownership of what it points to).
class CallIdentity {
 public:
  // The identity of the call's valid token; nullptr when the call is anonymous or rejected.
  const Identity* identity() const;
  bool authenticated() const { return identity() != nullptr; }

  // True when the handler must return at once: the method is REQUIRED and the interceptor has
  // already answered UNAUTHENTICATED (nothing the handler writes reaches the client), or no signet
  // interceptor saw the call at all (fail closed: the handler's status() is then the answer).
  bool Rejected() const;

  // kNone when authenticated.
  AuthFailure failure() const;
  // Why the token was invalid when failure() is kInvalidToken; kValid otherwise.
  Reason token_reason() const;
  // "missing bearer token", "token expired", ...; empty when authenticated.
  std::string_view message() const;
  // OK when authenticated; otherwise UNAUTHENTICATED with message(). What a guard returns.
  grpc::Status status() const;

 private:
  friend CallIdentity IdentityOf(const grpc::ServerContextBase* context);
  explicit CallIdentity(std::shared_ptr<const internal::CallState> state)
      : state_(std::move(state)) {}

  std::shared_ptr<const internal::CallState> state_;
};

// The authentication of the call that `context` belongs to. Works with the sync, async and callback
// APIs (anything whose context is a grpc::ServerContextBase). A call the interceptor did not see
// is reported Rejected() with kNotIntercepted.
CallIdentity IdentityOf(const grpc::ServerContextBase* context);

}  // namespace signet

#endif  // SIGNET_CALL_IDENTITY_H_
