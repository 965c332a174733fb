#include "server/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace tern::server {
namespace {

std::atomic<uint8_t> g_level{static_cast<uint8_t>(LogLevel::kInfo)};
std::function<void(const std::string&)>& TestSink() {
  static std::function<void(const std::string&)> sink;
  return sink;
}

bool NeedsQuotes(std::string_view v) {
  if (v.empty()) return true;
  for (unsigned char ch : v)
    if (ch <= ' ' || ch == '"' || ch == '=' || ch == '\\' || ch == 0x7f) return true;
  return false;
}

void AppendValue(std::string& out, std::string_view v) {
  if (!NeedsQuotes(v)) {
    out.append(v);
    return;
  }
  out.push_back('"');
  for (unsigned char ch : v) {
    switch (ch) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\t': out.append("\\t"); break;
      case '\r': out.append("\\r"); break;
      default:
        if (ch < ' ' || ch == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", ch);
          out.append(buf);
        } else {
          out.push_back(static_cast<char>(ch));
        }
    }
  }
  out.push_back('"');
}

}  // namespace

Result<LogLevel> ParseLogLevel(std::string_view s) {
  if (s == "debug") return LogLevel::kDebug;
  if (s == "info") return LogLevel::kInfo;
  if (s == "warn") return LogLevel::kWarn;
  if (s == "error") return LogLevel::kError;
  return Status(Code::kInvalidArgument, "log level must be debug, info, warn or error, got \"" + std::string(s) + "\"");
}

const char* LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "info";
}

void SetLogLevel(LogLevel level) { g_level.store(static_cast<uint8_t>(level)); }

bool LogEnabled(LogLevel level) { return static_cast<uint8_t>(level) >= g_level.load(); }

void SetLogSinkForTesting(std::function<void(const std::string&)> sink) { TestSink() = std::move(sink); }

Log::Log(LogLevel level, std::string_view event) : on_(LogEnabled(level)) {
  if (!on_) return;
  const auto now = std::chrono::system_clock::now();
  const std::time_t secs = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char ts[96];
  std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  line_.reserve(128);
  line_.append("ternd: ts=").append(ts).append(" level=").append(LogLevelName(level)).append(" event=");
  AppendValue(line_, event);
}

Log::~Log() {
  if (!on_) return;
  if (auto& sink = TestSink()) {
    sink(line_);
    return;
  }
  line_.push_back('\n');
  std::fwrite(line_.data(), 1, line_.size(), stderr);  // stderr is unbuffered: one write
}

Log& Log::Kv(std::string_view key, std::string_view value) {
  if (!on_) return *this;
  line_.push_back(' ');
  line_.append(key);
  line_.push_back('=');
  AppendValue(line_, value);
  return *this;
}

Log& Log::Kv(std::string_view key, uint64_t value) {
  if (!on_) return *this;
  return Kv(key, std::string_view(std::to_string(value)));
}

Log& Log::Kv(std::string_view key, int64_t value) {
  if (!on_) return *this;
  return Kv(key, std::string_view(std::to_string(value)));
}

Log& Log::Err(const Status& s) {
  if (!on_) return *this;
  Kv("code", CodeName(s.code()));
  return Kv("error", s.message());
}

}  // namespace tern::server
