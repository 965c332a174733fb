// The `tern` command-line client (TERN_CLI_PATH) against the real ternd.
#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <vector>

#include "tests/integration/process_util.h"
#include "tests/integration/server_util.h"

namespace tern::testing {
namespace {

constexpr int kCliTimeoutMs = 15000;

class Cli {
 public:
  Cli(const TestServer& server, std::string state) : server_(server), state_(std::move(state)) {}

  ProcessResult Run(std::vector<std::string> args) const {
    std::vector<std::string> argv = {TERN_CLI_PATH, "--server", server_.address(), "--state",
                                     state_, "--io-timeout", "5", "--plain"};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProcess(argv, kCliTimeoutMs);
  }

  // request-code, then verify with the code from otp.log.
  void Register(const std::string& phone) const {
    ProcessResult r = Run({"request-code", phone});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    Result<std::string> code = server_.CodeFor(phone);
    ASSERT_TRUE(code.ok()) << code.status().ToString();
    r = Run({"verify", phone, *code, "--device-name", "cli " + phone});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("registered"), std::string::npos) << r.out;
  }

  std::string UserId() const {
    ProcessResult r = Run({"whoami"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::smatch m;
    std::regex re("user_id=([0-9]+)");
    return std::regex_search(r.out, m, re) ? m[1].str() : "";
  }

 private:
  const TestServer& server_;
  std::string state_;
};

TEST(CliTest, CliTwoPeopleChat) {
  TestServer server;
  ASSERT_TRUE(server.Start().ok());
  Cli alice(server, server.root() + "/alice/state");
  Cli bob(server, server.root() + "/bob/state");
  ASSERT_NO_FATAL_FAILURE(alice.Register("+15550900001"));
  ASSERT_NO_FATAL_FAILURE(bob.Register("+15550900002"));
  std::string alice_id = alice.UserId();
  ASSERT_FALSE(alice_id.empty());

  ProcessResult resolved = bob.Run({"resolve", "+15550900001"});
  ASSERT_EQ(resolved.exit_code, 0) << resolved.err;
  EXPECT_EQ(resolved.out, alice_id + "\n");

  ProcessResult sent = alice.Run({"send", "+15550900002", "hello bob, from the shell"});
  ASSERT_EQ(sent.exit_code, 0) << sent.out << sent.err;
  EXPECT_TRUE(std::regex_search(sent.out, std::regex("^sent msg_id=[0-9]+ chat_seq=1\n$")))
      << sent.out;

  ProcessResult heard = bob.Run({"listen", "--count", "1", "--timeout", "10"});
  ASSERT_EQ(heard.exit_code, 0) << heard.out << heard.err;
  EXPECT_EQ(heard.out, "[1] " + alice_id + ": hello bob, from the shell\n");

  // The message was acked by bob's listen: a second listen gets nothing and times out quietly.
  ProcessResult again = bob.Run({"listen", "--timeout", "0.3"});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.out, "");

  // Errors are loud: an unknown recipient, an unregistered state file.
  ProcessResult unknown = alice.Run({"send", "+15550900009", "anyone?"});
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE(unknown.err.find("not registered"), std::string::npos) << unknown.err;
  Cli nobody(server, server.root() + "/nobody/state");
  ProcessResult who = nobody.Run({"whoami"});
  EXPECT_NE(who.exit_code, 0);
  ProcessResult lonely = nobody.Run({"send", "+15550900001", "hi"});
  EXPECT_NE(lonely.exit_code, 0);
  EXPECT_NE(lonely.err.find("verify or link"), std::string::npos) << lonely.err;

  ProcessResult devices = bob.Run({"devices"});
  ASSERT_EQ(devices.exit_code, 0) << devices.err;
  EXPECT_NE(devices.out.find("(this device)"), std::string::npos) << devices.out;
}

}  // namespace
}  // namespace tern::testing
