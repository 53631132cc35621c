// A JSON object written member by member, for the log and the audit trail (one object per line).
// Strings are escaped by RapidJSON.
//
// Example:
//   JsonLine line;
//   line.Str("event", "server_started").Int("port", 50051).Bool("tls", true);
//   Write(line.Finish());  // {"event":"server_started","port":50051,"tls":true}
#ifndef SIGNET_SERVER_JSON_LINE_H_
#define SIGNET_SERVER_JSON_LINE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"

namespace signet::server {

class JsonLine {
 public:
  JsonLine& Str(std::string_view key, std::string_view value);
  JsonLine& Strs(std::string_view key, const std::vector<std::string>& values);
  JsonLine& Int(std::string_view key, int64_t value);
  JsonLine& Bool(std::string_view key, bool value);
  // RFC 3339 in UTC, with fractional seconds.
  JsonLine& Time(std::string_view key, absl::Time value);

  // The object: "{...}" with the members in the order they were added.
  std::string Finish() const { return "{" + body_ + "}"; }

 private:
  void Key(std::string_view key);

  std::string body_;
};

// `t` as RFC 3339 in UTC, with fractional seconds.
std::string Rfc3339(absl::Time t);

}  // namespace signet::server

#endif  // SIGNET_SERVER_JSON_LINE_H_
