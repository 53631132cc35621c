// Keeps the process's memory (the KEK, unsealed private keys) out of core dumps and away from
// same-user debuggers: called by signet-server before any key is loaded.
//
// Example:
//   if (absl::Status s = signet::server::DisableCoreDumps(); !s.ok()) return s;
#ifndef SIGNET_SERVER_CORE_DUMPS_H_
#define SIGNET_SERVER_CORE_DUMPS_H_

#include "absl/status/status.h"

namespace signet::server {

// Sets RLIMIT_CORE to 0 (soft and hard: the process cannot raise it again) and PR_SET_DUMPABLE to
// 0 (no core file even where a core_pattern pipe ignores the limit; /proc/<pid>/mem and ptrace
// need CAP_SYS_PTRACE; /proc/<pid>/ belongs to root). Internal when the kernel refuses.
absl::Status DisableCoreDumps();

}  // namespace signet::server

#endif  // SIGNET_SERVER_CORE_DUMPS_H_
