// Structured log lines: one JSON object per event on stderr.
//
// Example:
//   signet::server::Log(signet::server::LogLevel::kInfo, "key_rotated")
//       .Str("active_kid", kid)
//       .Int("keys", n);  // written when the temporary is destroyed
//
// Never pass a token, a private key or a KEK: logs are not secret.
#ifndef SIGNET_SERVER_LOG_H_
#define SIGNET_SERVER_LOG_H_

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "server/json_line.h"

namespace signet::server {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

// One log line under construction. Thread-safe to use from any thread (lines never interleave).
class Log {
 public:
  Log(LogLevel level, std::string_view event);
  ~Log();
  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;

  Log& Str(std::string_view key, std::string_view value);
  Log& Int(std::string_view key, int64_t value);
  Log& Bool(std::string_view key, bool value);
  Log& Time(std::string_view key, absl::Time value);

  // Where lines go (default stderr). For tests; not thread-safe against concurrent logging.
  static void SetSink(std::FILE* sink);
  // Lines below this level are dropped (default kInfo).
  static void SetMinLevel(LogLevel level);

 private:
  bool enabled_;
  JsonLine line_;
};

}  // namespace signet::server

#endif  // SIGNET_SERVER_LOG_H_
