// server/log.h: structured (logfmt) lines with levels; quoting keeps one event on one line
// whatever the values hold; lines below the level are dropped; one-time codes of the
// development sink appear only at debug.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "server/dev_code_sink.h"
#include "server/log.h"

namespace tern::server {
namespace {

struct Captured {
  std::vector<std::string> lines;
  Captured() {
    SetLogSinkForTesting([this](const std::string& l) { lines.push_back(l); });
  }
  ~Captured() {
    SetLogSinkForTesting({});
    SetLogLevel(LogLevel::kInfo);
  }
};

TEST(ServerLog, LinesAreLogfmtWithTimestampLevelEventAndQuotedValues) {
  Captured c;
  Log(LogLevel::kWarn, "conn_refused").Kv("ip", "127.0.0.1").Kv("reason", "accept_rate").Kv("refused_total", uint64_t{12});
  Log(LogLevel::kError, "commit_failed").Err(Status(Code::kNoSpace, "MDB_MAP_FULL: map \"full\"\nnext=1"));
  ASSERT_EQ(c.lines.size(), 2u);
  const std::string& a = c.lines[0];
  EXPECT_EQ(a.rfind("ternd: ts=", 0), 0u) << a;
  EXPECT_NE(a.find("Z level=warn event=conn_refused ip=127.0.0.1 reason=accept_rate refused_total=12"), std::string::npos) << a;
  const std::string& b = c.lines[1];
  EXPECT_NE(b.find(" level=error event=commit_failed code=no_space error=\"MDB_MAP_FULL: map \\\"full\\\"\\nnext=1\""),
            std::string::npos)
      << b;
  EXPECT_EQ(b.find('\n'), std::string::npos) << "one event, one line";
}

TEST(ServerLog, EmptyAndControlValuesAreQuotedAndEscaped) {
  Captured c;
  Log(LogLevel::kInfo, "x").Kv("empty", "").Kv("ctl", std::string("a\x01" "b")).Kv("eq", "k=v");
  ASSERT_EQ(c.lines.size(), 1u);
  EXPECT_NE(c.lines[0].find("empty=\"\" ctl=\"a\\x01b\" eq=\"k=v\""), std::string::npos) << c.lines[0];
}

TEST(ServerLog, LinesBelowTheLevelAreDropped) {
  Captured c;
  SetLogLevel(LogLevel::kWarn);
  Log(LogLevel::kDebug, "d");
  Log(LogLevel::kInfo, "i");
  Log(LogLevel::kWarn, "w");
  Log(LogLevel::kError, "e");
  ASSERT_EQ(c.lines.size(), 2u);
  EXPECT_NE(c.lines[0].find("event=w"), std::string::npos);
  EXPECT_NE(c.lines[1].find("event=e"), std::string::npos);
  EXPECT_EQ(ParseLogLevel("verbose").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ParseLogLevel("debug").value(), LogLevel::kDebug);
}

TEST(ServerLog, TheDevelopmentSinkLogsTheCodeOnlyAtDebug) {
  const std::string path = ::testing::TempDir() + "/tern_log_test_otp.log";
  std::remove(path.c_str());
  DevCodeSink sink(path);
  {
    Captured c;
    sink.Deliver("+15550001111", "424242");
    ASSERT_EQ(c.lines.size(), 1u);
    EXPECT_EQ(c.lines[0].find("424242"), std::string::npos) << c.lines[0];
    EXPECT_NE(c.lines[0].find("event=otp_dev_sink phone=+15550001111 file="), std::string::npos) << c.lines[0];
  }
  {
    Captured c;
    SetLogLevel(LogLevel::kDebug);
    sink.Deliver("+15550001111", "434343");
    bool found = false;
    for (const auto& l : c.lines) found = found || l.find("level=debug event=otp_dev_sink phone=+15550001111 code=434343") != std::string::npos;
    EXPECT_TRUE(found);
  }
  std::remove(path.c_str());
}

}  // namespace
}  // namespace tern::server
