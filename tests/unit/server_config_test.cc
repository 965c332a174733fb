// Settings: the generated default config (installed as /etc/tern/ternd.conf) lists every
// setting declared in server/config.cc with its default, parses back to the defaults, and every
// setting has a README row; and the Prometheus rendering of the counters.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include "server/config.h"
#include "server/metrics.h"
#include "wire/compress.h"

namespace tern::server {
namespace {

std::string ReadSource(const std::string& rel) {
  std::ifstream in(std::string(TERN_SOURCE_DIR) + "/" + rel);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Setting names as declared in server/config.cc: Add(app, "name", ...) and add_flag("--x,--name").
std::vector<std::string> DeclaredSettings() {
  const std::string src = ReadSource("server/config.cc");
  std::vector<std::string> names;
  static const std::regex kAdd(R"re(Add\(app, "([a-z0-9_]+)")re");
  static const std::regex kFlag(R"re(add_flag\("--[a-z0-9-]+,--([a-z0-9_]+)")re");
  for (const std::regex* re : {&kAdd, &kFlag})
    for (auto it = std::sregex_iterator(src.begin(), src.end(), *re); it != std::sregex_iterator(); ++it)
      names.push_back((*it)[1]);
  return names;
}

TEST(ServerConfig, DefaultConfigListsEverySettingOfConfigCc) {
  const std::string text = DefaultConfigText();
  const auto declared = DeclaredSettings();
  ASSERT_GT(declared.size(), 40u);
  for (const std::string& name : declared)
    EXPECT_NE(text.find("\n# " + name + " = "), std::string::npos) << name << " missing from the default config";
  EXPECT_EQ(SettingNames().size(), declared.size());
  EXPECT_NE(text.find("\n# listen = \"127.0.0.1:7011\"\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\n# admin_listen = \"127.0.0.1:7012\"\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\n# queue_cap = 100000\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\n# plain_tcp = false\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("test_fail"), std::string::npos) << "testing-only settings stay hidden";
}

TEST(ServerConfig, EverySettingHasAReadmeRow) {
  const std::string readme = ReadSource("README.md");
  for (const std::string& name : DeclaredSettings())
    EXPECT_NE(readme.find("`" + name + "`"), std::string::npos) << name << " has no README row";
}

TEST(ServerConfig, DefaultConfigUncommentedParsesBackToTheDefaults) {
  std::string text = DefaultConfigText();
  std::string uncommented;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("# ", 0) == 0 && line.find(" = ") != std::string::npos && line.find(' ', 2) == line.find(" = "))
      line = line.substr(2);
    uncommented += line + "\n";
  }
  const std::string path = ::testing::TempDir() + "/ternd-defaults.conf";
  std::ofstream(path) << uncommented;
  std::vector<std::string> args = {"ternd", "--config", path};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  auto cl = ParseCommandLine(static_cast<int>(argv.size()), argv.data());
  ASSERT_TRUE(cl.ok()) << cl.status().ToString() << "\n" << uncommented;
  const Config d;
  EXPECT_EQ(cl->config.listen, d.listen);
  EXPECT_EQ(cl->config.admin_listen, d.admin_listen);
  EXPECT_EQ(cl->config.queue_cap, d.queue_cap);
  EXPECT_EQ(cl->config.message_ttl_ms, d.message_ttl_ms);
  EXPECT_EQ(cl->config.plain_tcp, d.plain_tcp);
  EXPECT_EQ(cl->config.store_max_map_mb, d.store_max_map_mb);
  EXPECT_EQ(cl->config.tls_cert, d.tls_cert);
}

TEST(ServerConfig, LaterFlagWins) {
  std::vector<std::string> args = {"ternd", "--admin-listen", "127.0.0.1:7012", "--admin-listen", ""};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  auto cl = ParseCommandLine(static_cast<int>(argv.size()), argv.data());
  ASSERT_TRUE(cl.ok()) << cl.status().ToString();
  EXPECT_EQ(cl->config.admin_listen, "");
}

TEST(ServerConfig, CompressionDictsParsesKnownIdsNoneAndRefusesUnknownOnes) {
  EXPECT_TRUE(ParseDictIds("").value().empty()) << "empty: every dictionary this build knows";
  EXPECT_EQ(ParseDictIds("none").value(), std::vector<uint32_t>{wire::kDictNone});
  const uint32_t newest = wire::KnownDicts().front().id;
  const std::string both = std::to_string(newest) + ", 1";
  EXPECT_EQ(ParseDictIds(both).value(), (std::vector<uint32_t>{newest, wire::kDictPlainZstd}));
  for (const char* bad : {"abc", "1,,2", "999999", "1,", "-1", "12345678901"})
    EXPECT_EQ(ParseDictIds(bad).status().code(), Code::kInvalidArgument) << bad;

  const char* argv[] = {"ternd", "--compression-dicts", "1"};
  auto cl = ParseCommandLine(3, const_cast<char**>(argv));
  ASSERT_TRUE(cl.ok()) << cl.status().ToString();
  EXPECT_EQ(cl->config.compression_dict_ids, std::vector<uint32_t>{wire::kDictPlainZstd});
  const char* argv_bad[] = {"ternd", "--compression-dicts", "77"};
  auto bad = ParseCommandLine(3, const_cast<char**>(argv_bad));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("not known to this build"), std::string::npos) << bad.status().ToString();
}

TEST(ServerMetrics, RendersHistogramCumulativelyAndErrorsByCode) {
  MetricsSnapshot m;
  m.core.commit_buckets[0] = 2;   // <= 100 us
  m.core.commit_buckets[3] = 1;   // <= 1 ms
  m.core.commit_buckets.back() = 1;  // > 1 s
  m.core.commit_us_sum = 2'000'150;
  m.core.errors[Code::kProtocol] = 3;
  m.core.messages_accepted = 7;
  m.queued_items = 5;
  m.ready = true;
  const std::string t = RenderMetrics(m);
  EXPECT_NE(t.find("# TYPE tern_commit_duration_seconds histogram\n"), std::string::npos);
  EXPECT_NE(t.find("tern_commit_duration_seconds_bucket{le=\"0.0001\"} 2\n"), std::string::npos) << t;
  EXPECT_NE(t.find("tern_commit_duration_seconds_bucket{le=\"0.00025\"} 2\n"), std::string::npos) << t;
  EXPECT_NE(t.find("tern_commit_duration_seconds_bucket{le=\"0.001\"} 3\n"), std::string::npos) << t;
  EXPECT_NE(t.find("tern_commit_duration_seconds_bucket{le=\"1\"} 3\n"), std::string::npos) << t;
  EXPECT_NE(t.find("tern_commit_duration_seconds_bucket{le=\"+Inf\"} 4\n"), std::string::npos) << t;
  EXPECT_NE(t.find("tern_commit_duration_seconds_count 4\n"), std::string::npos) << t;
  EXPECT_NE(t.find("tern_commit_duration_seconds_sum 2.00015\n"), std::string::npos) << t;
  EXPECT_NE(t.find("tern_errors_total{code=\"protocol\"} 3\n"), std::string::npos) << t;
  EXPECT_NE(t.find("tern_messages_accepted_total 7\n"), std::string::npos) << t;
  EXPECT_NE(t.find("tern_queued_items 5\n"), std::string::npos) << t;
  EXPECT_NE(t.find("tern_ready 1\n"), std::string::npos) << t;
}

}  // namespace
}  // namespace tern::server
