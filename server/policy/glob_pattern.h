// A text pattern where each '*' matches any run of characters (none at all, and '/' or '.'
// included); without a '*' it matches only itself. Used for caller identities and for the
// subjects an issuer may name.
//
// Example:
//   absl::StatusOr<GlobPattern> p = GlobPattern::Parse("user:*");
//   p->Matches("user:42");  // true
//   p->Matches("admin");    // false
#ifndef SIGNET_SERVER_POLICY_GLOB_PATTERN_H_
#define SIGNET_SERVER_POLICY_GLOB_PATTERN_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace signet::server {

class GlobPattern {
 public:
  // InvalidArgument for empty text or "**" (one '*' already matches any run). Other syntax is
  // the caller's to check: what a valid pattern is depends on what it matches.
  static absl::StatusOr<GlobPattern> Parse(absl::string_view text);

  // Linear in practice: backtracks only to the last '*'.
  bool Matches(absl::string_view text) const;
  bool is_glob() const { return is_glob_; }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  bool is_glob_ = false;
};

}  // namespace signet::server

#endif  // SIGNET_SERVER_POLICY_GLOB_PATTERN_H_
