// The benchmarks' command-line arguments of the form --<name>=<value>, one at a time:
//
//   for (int i = 1; i < argc; ++i) {
//     if (IntFlag(argv[i], "revocations", 1, INT_MAX, &options.revocations)) continue;
//     if (PositiveListFlag(argv[i], "watchers", INT_MAX, &options.watchers)) continue;
//     if (StringFlag(argv[i], "json_out", &options.json_out)) continue;
//     ... usage ...
//   }
//
// Each is true when `arg` is that flag with a valid value (then stored); false otherwise, `out`
// then unspecified.
#ifndef SIGNET_BENCH_FLEET_FLAG_ARGS_H_
#define SIGNET_BENCH_FLEET_FLAG_ARGS_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace signet::bench {

// A number in [min, max].
bool IntFlag(absl::string_view arg, absl::string_view name, int min, int max, int* out);

// A comma-separated list of numbers in [1, max], not empty ("1,10,100").
bool PositiveListFlag(absl::string_view arg, absl::string_view name, int max,
                      std::vector<int>* out);

// A non-empty string.
bool StringFlag(absl::string_view arg, absl::string_view name, std::string* out);

}  // namespace signet::bench

#endif  // SIGNET_BENCH_FLEET_FLAG_ARGS_H_
