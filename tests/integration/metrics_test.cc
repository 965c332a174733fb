// The admin port of the real ternd: /metrics after chat traffic (counters moved as expected;
// the text is Prometheus exposition format), /healthz, /readyz, refusals; and ternd's stderr
// never carries message text.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "tests/integration/client_util.h"
#include "tests/integration/hostile_util.h"
#include "tests/integration/server_util.h"

namespace tern::testing {
namespace {

// One HTTP exchange on the admin port: the whole response (ternd closes after it).
std::string Http(const TestServer& server, const std::string& request) {
  auto conn = RawConn::Open(server.admin_port());
  EXPECT_TRUE(conn.ok()) << conn.status().ToString();
  if (!conn.ok()) return "";
  EXPECT_TRUE((*conn)->Write(request).ok());
  std::string got;
  Status st = (*conn)->ReadUntilClosed(kWaitMs, &got);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return got;
}

std::string Get(const TestServer& server, const std::string& path) {
  return Http(server, "GET " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n");
}

std::string Body(const std::string& response) {
  auto at = response.find("\r\n\r\n");
  return at == std::string::npos ? "" : response.substr(at + 4);
}

// Parses exposition text strictly: HELP/TYPE comment lines, then `name{labels} value` samples,
// each sample belonging to a family declared by a TYPE line before it. Returns sample -> value.
std::map<std::string, double> ParseExposition(const std::string& text) {
  static const std::regex kSample(
      R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"\\\n]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"\\\n]*")*\})? ([-+]?[0-9.]+([eE][-+]?[0-9]+)?|\+Inf|-Inf|NaN)$)");
  static const std::regex kHelp(R"(^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .+$)");
  static const std::regex kType(R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$)");
  std::map<std::string, double> samples;
  std::map<std::string, std::string> types;
  std::istringstream in(text);
  std::string line;
  EXPECT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_match(line, m, kType)) {
      EXPECT_EQ(types.count(m[1]), 0u) << "TYPE twice: " << line;
      types[m[1]] = m[2];
      continue;
    }
    if (std::regex_match(line, kHelp)) continue;
    if (!std::regex_match(line, m, kSample)) {
      ADD_FAILURE() << "not exposition format: \"" << line << "\"";
      continue;
    }
    std::string family = m[1];
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      std::string s = suffix;
      if (!types.count(family) && family.size() > s.size() && family.ends_with(s))
        family = family.substr(0, family.size() - s.size());
    }
    EXPECT_TRUE(types.count(family)) << "sample before its TYPE: " << line;
    auto sp = line.rfind(' ');
    samples[line.substr(0, sp)] = m[4] == "+Inf" ? 1e300 : std::stod(m[4]);
  }
  return samples;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(MetricsTest, CountersMoveWithChatTrafficAndParseAsPrometheusText) {
  TestServer server;
  ASSERT_TRUE(server.Start().ok());
  ASSERT_NE(server.admin_port(), 0);
  auto before = ParseExposition(Body(Get(server, "/metrics")));
  EXPECT_EQ(before["tern_messages_accepted_total"], 0);
  EXPECT_EQ(before["tern_connections"], 0);

  auto chat = Chatters::Create(server, "+155509100");
  ASSERT_TRUE(chat.ok()) << chat.status().ToString();
  ASSERT_TRUE((*chat)->Exchange(10).ok());  // 10 from Alice, 1 back from Bob
  // A peer that breaks the protocol gets Error{protocol}: counted by code.
  auto raw = RawConn::Open(server.port());
  ASSERT_TRUE(raw.ok());
  ASSERT_TRUE((*raw)->Write(std::string("\xff\xff\xff\xff\xff\xff\xff", 7)).ok());
  std::string got;
  ASSERT_TRUE((*raw)->ReadUntilClosed(kWaitMs, &got).ok());
  ASSERT_EQ(RawConn::ErrorIn(got), Code::kProtocol);

  const std::string response = Get(server, "/metrics");
  ASSERT_EQ(response.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << response;
  EXPECT_NE(response.find("Content-Type: text/plain; version=0.0.4"), std::string::npos);
  auto after = ParseExposition(Body(response));
  EXPECT_EQ(after["tern_messages_accepted_total"], 11);
  EXPECT_GE(after["tern_items_delivered_total"], 11);
  EXPECT_EQ(after["tern_connections"], 2);  // the raw connection is gone
  EXPECT_GE(after["tern_connections_accepted_total"], 3);
  EXPECT_GE(after["tern_frames_received_total"], before["tern_frames_received_total"] + 11);
  EXPECT_GE(after["tern_frames_sent_total"], before["tern_frames_sent_total"] + 11);
  EXPECT_GT(after["tern_frame_bytes_received_total"], 11 * 10);
  EXPECT_GE(after["tern_socket_bytes_received_total"], after["tern_frame_bytes_received_total"]);
  EXPECT_EQ(after["tern_errors_total{code=\"protocol\"}"], 1);
  // Messages are all acknowledged; receipts for them may still be on their way to Alice.
  EXPECT_TRUE(after.count("tern_queued_items"));
  EXPECT_LE(after["tern_queued_items"], 11);
  // The histogram: cumulative buckets, +Inf = count = commits.
  EXPECT_GT(after["tern_commits_total"], 0);
  EXPECT_EQ(after["tern_commit_duration_seconds_count"], after["tern_commits_total"]);
  EXPECT_EQ(after["tern_commit_duration_seconds_bucket{le=\"+Inf\"}"], after["tern_commits_total"]);
  EXPECT_LE(after["tern_commit_duration_seconds_bucket{le=\"0.001\"}"],
            after["tern_commit_duration_seconds_bucket{le=\"0.01\"}"]);
  EXPECT_GT(after["tern_commit_duration_seconds_sum"], 0);
  EXPECT_EQ(after["tern_ready"], 1);
  EXPECT_EQ(after["tern_tls_handshakes_total{result=\"ok\"}"], 0) << "plain TCP";

  // Logs: no message text in ternd's stderr (one-time codes only from the development sink).
  const std::string log = ReadAll(server.root() + "/ternd.log");
  EXPECT_EQ(log.find("round0"), std::string::npos) << log;  // Chatters' texts: "round0-N", "back round0"
  std::istringstream lines(log);
  for (std::string l; std::getline(lines, l);) {
    // Structured: "ternd: ts=... level=... event=..." (server/log.h); one-time codes never at
    // the default level (the development sink names its file instead).
    EXPECT_EQ(l.rfind("ternd: ts=", 0), 0u) << l;
    EXPECT_NE(l.find(" level="), std::string::npos) << l;
    EXPECT_NE(l.find(" event="), std::string::npos) << l;
    if (l.find("event=otp_dev_sink") != std::string::npos) {
      EXPECT_EQ(l.find(" code="), std::string::npos) << l;
    }
  }
}

TEST(MetricsTest, HealthReadinessAndRefusals) {
  TestServer server;
  ASSERT_TRUE(server.Start().ok());
  std::string r = Get(server, "/healthz");
  EXPECT_EQ(r.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << r;
  EXPECT_EQ(Body(r), "ok\n");
  r = Get(server, "/readyz");
  EXPECT_EQ(r.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << r;
  EXPECT_EQ(Body(r), "ready\n");
  r = Get(server, "/metrics?x=1");
  EXPECT_EQ(r.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << r;
  r = Get(server, "/nope");
  EXPECT_EQ(r.rfind("HTTP/1.1 404 ", 0), 0u) << r;
  r = Http(server, "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.1 405 ", 0), 0u) << r;
  r = Http(server, "NOT HTTP AT ALL\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.1 400 ", 0), 0u) << r;
  r = Http(server, "GET /metrics HTTP/1.1\r\nX-Pad: " + std::string(9000, 'a') + "\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.1 431 ", 0), 0u) << r;
  // Still serving after all that.
  EXPECT_EQ(Get(server, "/healthz").rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
}

TEST(MetricsTest, ReadinessFailsWhenCommitsFail) {
  TestServer server({"--test-fail-commits-after", "1"});
  ASSERT_TRUE(server.Start().ok());
  // Registering needs commits; the second one fails and the store turns sticky-failed.
  auto a = RegisterUser(server, "+15550920001");
  auto b = RegisterUser(server, "+15550920002");
  (void)a;
  (void)b;
  std::string r = Get(server, "/readyz");
  EXPECT_EQ(r.rfind("HTTP/1.1 503 ", 0), 0u) << r;
  EXPECT_NE(Body(r).find("commit failed"), std::string::npos) << r;
  EXPECT_EQ(Get(server, "/healthz").rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << "alive, just not ready";
  auto m = ParseExposition(Body(Get(server, "/metrics")));
  EXPECT_GE(m["tern_commit_failures_total"], 1);
  EXPECT_EQ(m["tern_ready"], 0);
}

TEST(MetricsTest, TlsHandshakesCountedByResult) {
  TestServer server({}, Security::kTls);
  ASSERT_TRUE(server.Start().ok());
  auto alice = RegisterUser(server, "+15550930001");
  ASSERT_TRUE(alice.ok()) << alice.status().ToString();
  auto raw = RawConn::Open(server.port());  // not TLS: an alert, then closed
  ASSERT_TRUE(raw.ok());
  ASSERT_TRUE((*raw)->Write("GET / HTTP/1.0\r\n\r\n").ok());
  std::string got;
  ASSERT_TRUE((*raw)->ReadUntilClosed(kWaitMs, &got).ok());
  auto m = ParseExposition(Body(Get(server, "/metrics")));
  EXPECT_GE(m["tern_tls_handshakes_total{result=\"ok\"}"], 1);
  EXPECT_EQ(m["tern_tls_handshakes_total{result=\"failed\"}"], 1);
  EXPECT_GT(m["tern_socket_bytes_sent_total"], m["tern_frame_bytes_sent_total"]) << "TLS records cost bytes";
}

TEST(MetricsTest, AdminPortOffWhenEmpty) {
  TestServer server({"--admin-listen", ""});
  ASSERT_TRUE(server.Start().ok());
  EXPECT_EQ(server.admin_port(), 0);
}

}  // namespace
}  // namespace tern::testing
