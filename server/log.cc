#include "server/log.h"

#include <atomic>
#include <mutex>

#include "absl/time/clock.h"

namespace signet::server {
namespace {

std::atomic<std::FILE*> g_sink{nullptr};
std::atomic<int> g_min_level{static_cast<int>(LogLevel::kInfo)};
std::mutex g_write_mu;

std::string_view LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

}  // namespace

Log::Log(LogLevel level, std::string_view event)
    : enabled_(static_cast<int>(level) >= g_min_level.load(std::memory_order_relaxed)) {
  if (!enabled_) return;
  line_.Str("ts", Rfc3339(absl::Now())).Str("level", LevelName(level)).Str("event", event);
}

Log::~Log() {
  if (!enabled_) return;
  const std::string line = line_.Finish() + "\n";
  std::FILE* sink = g_sink.load();
  if (sink == nullptr) sink = stderr;
  std::lock_guard<std::mutex> lock(g_write_mu);
  std::fwrite(line.data(), 1, line.size(), sink);
  std::fflush(sink);
}

Log& Log::Str(std::string_view key, std::string_view value) {
  if (enabled_) line_.Str(key, value);
  return *this;
}

Log& Log::Int(std::string_view key, int64_t value) {
  if (enabled_) line_.Int(key, value);
  return *this;
}

Log& Log::Bool(std::string_view key, bool value) {
  if (enabled_) line_.Bool(key, value);
  return *this;
}

Log& Log::Time(std::string_view key, absl::Time value) {
  if (enabled_) line_.Time(key, value);
  return *this;
}

void Log::SetSink(std::FILE* sink) { g_sink.store(sink); }
void Log::SetMinLevel(LogLevel level) { g_min_level.store(static_cast<int>(level)); }

}  // namespace signet::server
