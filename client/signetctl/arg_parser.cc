#include "arg_parser.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace signet::ctl {

std::string ParsedArgs::Value(const std::string& name, const std::string& fallback) const {
  auto it = flags.find(name);
  return it == flags.end() || it->second.empty() ? fallback : it->second.back();
}

std::vector<std::string> ParsedArgs::Values(const std::string& name) const {
  auto it = flags.find(name);
  return it == flags.end() ? std::vector<std::string>{} : it->second;
}

bool ParsedArgs::Bool(const std::string& name) const { return Value(name, "false") == "true"; }

const FlagSpec* ArgParser::Find(const std::string& name) const {
  for (const FlagSpec& spec : specs_) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

absl::StatusOr<ParsedArgs> ArgParser::Parse(const std::vector<std::string>& args) const {
  ParsedArgs parsed;
  bool flags_done = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (flags_done || arg.size() < 2 || arg.compare(0, 2, "--") != 0) {
      parsed.positional.push_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_done = true;
      continue;
    }
    size_t eq = arg.find('=');
    std::string name = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    const FlagSpec* spec = Find(name);
    if (spec == nullptr) return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    std::string value;
    if (eq != std::string::npos) {
      value = arg.substr(eq + 1);
    } else if (spec->kind == FlagKind::kBool) {
      value = "true";
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return absl::InvalidArgumentError(absl::StrCat("flag --", name, " needs a value"));
    }
    if (spec->kind == FlagKind::kBool && value != "true" && value != "false") {
      return absl::InvalidArgumentError(absl::StrCat("flag --", name, " takes true or false"));
    }
    parsed.flags[name].push_back(std::move(value));
  }
  return parsed;
}

std::string ArgParser::Help() const {
  std::vector<std::string> left;
  size_t width = 0;
  for (const FlagSpec& spec : specs_) {
    left.push_back(
        absl::StrCat("  --", spec.name, spec.kind == FlagKind::kBool ? "" : "=" + spec.value_name));
    width = std::max(width, left.back().size());
  }
  std::string out;
  for (size_t i = 0; i < specs_.size(); ++i) {
    absl::StrAppend(&out, left[i], std::string(width - left[i].size() + 2, ' '), specs_[i].help,
                    "\n");
  }
  return out;
}

}  // namespace signet::ctl
