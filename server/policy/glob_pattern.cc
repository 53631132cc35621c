#include "server/policy/glob_pattern.h"

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace signet::server {
namespace {

// Glob match where '*' matches any run of characters; backtracks only to the last star.
bool GlobMatch(absl::string_view pattern, absl::string_view text) {
  size_t p = 0, t = 0;
  size_t star = absl::string_view::npos, resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != absl::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace

absl::StatusOr<GlobPattern> GlobPattern::Parse(absl::string_view text) {
  if (text.empty()) return absl::InvalidArgumentError("must not be empty");
  if (absl::StrContains(text, "**")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", absl::CEscape(text), "\" is a bad glob: \"**\" (one '*' already matches any run)"));
  }
  GlobPattern pattern;
  pattern.text_ = std::string(text);
  pattern.is_glob_ = absl::StrContains(text, '*');
  return pattern;
}

bool GlobPattern::Matches(absl::string_view text) const {
  if (!is_glob_) return text == text_;
  return GlobMatch(text_, text);
}

}  // namespace signet::server
