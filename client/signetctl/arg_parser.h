// A small command-line parser for signetctl's "command + flags + arguments" shape: absl flags are
// process-global, and each subcommand has its own flags.
//
// Example:
//   ArgParser parser({{"target", FlagKind::kValue, "HOST:PORT", "the server"},
//                     {"json", FlagKind::kBool, "", "JSON output"}});
//   absl::StatusOr<ParsedArgs> args = parser.Parse({argv + 1, argv + argc});
//   if (!args.ok()) return Usage(args.status());
//   std::string target = args->Value("target", "127.0.0.1:50051");
#ifndef SIGNET_CLIENT_SIGNETCTL_ARG_PARSER_H_
#define SIGNET_CLIENT_SIGNETCTL_ARG_PARSER_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace signet::ctl {

enum class FlagKind {
  kBool,      // --name, --name=true, --name=false
  kValue,     // --name=value or --name value; the last one wins
  kRepeated,  // --name=value, any number of times
};

struct FlagSpec {
  std::string name;
  FlagKind kind;
  std::string value_name;  // "DURATION"; ignored for kBool
  std::string help;
};

struct ParsedArgs {
  std::map<std::string, std::vector<std::string>> flags;
  std::vector<std::string> positional;  // "-" included; everything after "--" too

  bool Has(const std::string& name) const { return flags.count(name) > 0; }
  // The last value given, or `fallback`.
  std::string Value(const std::string& name, const std::string& fallback = "") const;
  std::vector<std::string> Values(const std::string& name) const;
  // False when absent or given as =false.
  bool Bool(const std::string& name) const;
};

class ArgParser {
 public:
  explicit ArgParser(std::vector<FlagSpec> specs) : specs_(std::move(specs)) {}

  // InvalidArgument naming the flag for an unknown flag, a value flag without a value, or a bool
  // flag with a value other than true/false.
  absl::StatusOr<ParsedArgs> Parse(const std::vector<std::string>& args) const;

  // One line per flag: "  --name=VALUE_NAME  help".
  std::string Help() const;

 private:
  const FlagSpec* Find(const std::string& name) const;

  std::vector<FlagSpec> specs_;
};

}  // namespace signet::ctl

#endif  // SIGNET_CLIENT_SIGNETCTL_ARG_PARSER_H_
