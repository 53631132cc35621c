// Which audience a verification demands of a token. There is no default: every call of
// TokenVerifier::Verify says either Expect (the token's aud must contain this name) or Any (no
// audience is checked, on purpose).
//
// Example:
//   verifier.Verify(token, keys, &revocations, now, signet::Audience::Expect("orders"));
//   verifier.Verify(token, keys, &revocations, now, signet::Audience::Any());
#ifndef SIGNET_AUDIENCE_H_
#define SIGNET_AUDIENCE_H_

#include <string>
#include <string_view>
#include <vector>

namespace signet {

// A small value; Expect keeps a view of `name`, which must outlive the verification.
class Audience {
 public:
  // Tokens whose aud contains `name`. An empty name matches no token (AUDIENCE_MISMATCH).
  static Audience Expect(std::string_view name) { return Audience(false, name); }
  // Every token, whatever its aud (or none): for callers that have no audience of their own.
  static Audience Any() { return Audience(true, {}); }

  bool any() const { return any_; }
  // The expected name (empty for Any()).
  std::string_view name() const { return name_; }

  // True when a token satisfies the demand; `has(name)` says whether its aud contains `name`.
  template <typename HasAudience>
  bool AcceptedIf(const HasAudience& has) const {
    return any_ || (!name_.empty() && has(name_));
  }
  // The same for a token's audiences as a list.
  bool AcceptedBy(const std::vector<std::string>& audiences) const {
    return AcceptedIf([&audiences](std::string_view name) {
      for (const std::string& a : audiences) {
        if (a == name) return true;
      }
      return false;
    });
  }

 private:
  Audience(bool any, std::string_view name) : any_(any), name_(name) {}

  bool any_;
  std::string_view name_;
};

}  // namespace signet

#endif  // SIGNET_AUDIENCE_H_
