// Log: ternd's log lines, structured (logfmt) with levels, on stderr.
//
//   ternd: ts=2026-11-28T01:02:03.456Z level=warn event=conn_refused ip=127.0.0.1 reason=accept_rate refused=12
//
// One line per event, written with one call (lines from the loop and the blob thread never
// interleave). `event` is a stable snake_case name to grep and alert on; values that are empty
// or hold a space, a quote, '=' or a control character are quoted with "\"" and "\\" escaped and
// control characters as \n, \t or \xNN. Lines below the level set with SetLogLevel
// (Config::log_level, default info) are dropped before anything is formatted.
//
// What never goes in a line: message text, captions, tokens, link codes, keys, TLS secrets.
// One-time codes appear only at level debug, from the development code sink
// (server/dev_code_sink.h).
//
// Thread safety: Log objects are per call; the level and the test sink are atomics / set before
// threads start.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "wire/status.h"

namespace tern::server {

enum class LogLevel : uint8_t { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// "debug", "info", "warn", "error". Errors: kInvalidArgument.
Result<LogLevel> ParseLogLevel(std::string_view s);
const char* LogLevelName(LogLevel level);
void SetLogLevel(LogLevel level);
bool LogEnabled(LogLevel level);
// Tests: lines (without the newline) go to `sink` instead of stderr; an empty function restores
// stderr. Set it while no other thread logs.
void SetLogSinkForTesting(std::function<void(const std::string&)> sink);

class Log {
 public:
  Log(LogLevel level, std::string_view event);
  ~Log();  // writes the line
  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;

  Log& Kv(std::string_view key, std::string_view value);
  Log& Kv(std::string_view key, const char* value) { return Kv(key, std::string_view(value)); }
  Log& Kv(std::string_view key, const std::string& value) { return Kv(key, std::string_view(value)); }
  Log& Kv(std::string_view key, uint64_t value);
  Log& Kv(std::string_view key, int64_t value);
  Log& Kv(std::string_view key, int value) { return Kv(key, static_cast<int64_t>(value)); }
  Log& Kv(std::string_view key, uint32_t value) { return Kv(key, static_cast<uint64_t>(value)); }
  // code=<CodeName> error="<message>"
  Log& Err(const Status& s);

 private:
  bool on_;
  std::string line_;
};

}  // namespace tern::server
