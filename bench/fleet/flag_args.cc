#include "bench/fleet/flag_args.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace signet::bench {
namespace {

// The value of `arg` when it is --<name>=<value>.
bool Value(absl::string_view arg, absl::string_view name, absl::string_view* value) {
  *value = arg;
  return absl::ConsumePrefix(value, absl::StrCat("--", name, "="));
}

}  // namespace

bool IntFlag(absl::string_view arg, absl::string_view name, int min, int max, int* out) {
  absl::string_view value;
  return Value(arg, name, &value) && absl::SimpleAtoi(value, out) && *out >= min && *out <= max;
}

bool PositiveListFlag(absl::string_view arg, absl::string_view name, int max,
                      std::vector<int>* out) {
  absl::string_view value;
  if (!Value(arg, name, &value)) return false;
  out->clear();
  for (absl::string_view part : absl::StrSplit(value, ',')) {
    int v = 0;
    if (!absl::SimpleAtoi(part, &v) || v <= 0 || v > max) return false;
    out->push_back(v);
  }
  return !out->empty();
}

bool StringFlag(absl::string_view arg, absl::string_view name, std::string* out) {
  absl::string_view value;
  if (!Value(arg, name, &value) || value.empty()) return false;
  *out = std::string(value);
  return true;
}

}  // namespace signet::bench
