// The device keeps the history (tools/client/history.h) against the real ternd: two people
// chat, both restart, and each device still has the whole chat with its ticks and can search
// it; a second linked device restores an encrypted backup (tern backup / tern restore) and sees
// the history; a wrong passphrase and another user are refused.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "tests/integration/client_util.h"
#include "tests/integration/process_util.h"

namespace tern::testing {
namespace {

using tools::ChatId;
using tools::History;
using tools::HistoryMessage;
using tools::MessageStatus;

std::vector<std::string> TextsOf(const std::vector<HistoryMessage>& v) {
  std::vector<std::string> out;
  for (const auto& e : v) out.push_back(e.text);
  return out;
}

TEST(HistoryIntegration, ChatSurvivesRestartOfBothWithTicksAndSearch) {
  TestServer server;
  ASSERT_TRUE(server.Start().ok());
  const std::string a_state = server.root() + "/alice/state", b_state = server.root() + "/bob/state";
  uint64_t alice_id = 0, bob_id = 0;
  {
    auto alice = RegisterUser(server, "+15550810001", {}, a_state);
    auto bob = RegisterUser(server, "+15550810002", {}, b_state);
    ASSERT_TRUE(alice.ok() && bob.ok());
    alice_id = (*alice)->state().user_id;
    bob_id = (*bob)->state().user_id;
    ASSERT_NE((*alice)->history(), nullptr);  // on by default, next to the state file

    auto seqs = SendAll(**alice, bob_id, {"Привет, Bob", "are you there?"});
    ASSERT_TRUE(seqs.ok());
    ASSERT_TRUE(WaitForAcks(**alice, *seqs).ok());
    ASSERT_TRUE((*bob)->WaitForItems(2, kWaitMs).ok());
    ASSERT_TRUE((*bob)->MarkRead(alice_id, 0, 2).ok());
    auto reply = (*bob)->Send(alice_id, "Yes, here: 你好");
    ASSERT_TRUE(reply.ok());
    ASSERT_TRUE((*bob)->WaitForAck(*reply, kWaitMs).ok());
    // Alice hears the reply and the read mark.
    ASSERT_TRUE(PollAll({alice->get(), bob->get()},
                        [&] {
                          return (*alice)->inbox().size() >= 1 &&
                                 (*alice)->core().MarkOf(bob_id, 0, bob_id).read >= 2;
                        },
                        kWaitMs, "reply and read mark")
                    .ok());
    (*alice)->Close();
    (*bob)->Close();
  }
  // Both restart (no network needed to read the history).
  auto alice = Client::Create(server.ClientOptions(a_state));
  auto bob = Client::Create(server.ClientOptions(b_state));
  ASSERT_TRUE(alice.ok() && bob.ok());
  History& ah = *(*alice)->history();
  History& bh = *(*bob)->history();

  auto a_page = ah.Messages(ChatId::Direct(bob_id));
  ASSERT_TRUE(a_page.ok());
  EXPECT_EQ(TextsOf(*a_page), (std::vector<std::string>{"Привет, Bob", "are you there?", "Yes, here: 你好"}));
  ASSERT_EQ(a_page->size(), 3u);
  EXPECT_EQ((*a_page)[0].status, MessageStatus::kRead);
  EXPECT_EQ((*a_page)[1].status, MessageStatus::kRead);
  EXPECT_FALSE((*a_page)[2].outgoing);
  EXPECT_EQ((*a_page)[0].chat_seq, 1u);
  EXPECT_EQ((*a_page)[2].chat_seq, 3u);

  auto b_page = bh.Messages(ChatId::Direct(alice_id));
  ASSERT_TRUE(b_page.ok());
  EXPECT_EQ(TextsOf(*b_page), TextsOf(*a_page));  // one order on both sides
  EXPECT_TRUE((*b_page)[2].outgoing);
  EXPECT_NE((*b_page)[2].status, MessageStatus::kPending);

  auto a_chats = ah.ListChats();
  ASSERT_TRUE(a_chats.ok());
  ASSERT_EQ(a_chats->size(), 1u);
  EXPECT_EQ((*a_chats)[0].unread, 1u);  // the reply: alice never marked it read
  EXPECT_EQ(bh.ListChats().value()[0].unread, 0u);  // bob read up to 2

  auto found = ah.Search("ПРИВЕТ");
  ASSERT_TRUE(found.ok());
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ((*found)[0].chat_seq, 1u);
  EXPECT_EQ(TextsOf(bh.Search("你好").value()), (std::vector<std::string>{"Yes, here: 你好"}));
}

constexpr int kCliTimeoutMs = 30000;

class Cli {
 public:
  Cli(const TestServer& server, std::string state) : server_(server), state_(std::move(state)) {}
  ProcessResult Run(std::vector<std::string> args) const {
    std::vector<std::string> argv = {TERN_CLI_PATH, "--server", server_.address(), "--state", state_,
                                     "--io-timeout", "10", "--plain"};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProcess(argv, kCliTimeoutMs);
  }
  void Register(const std::string& phone) const {
    ProcessResult r = Run({"request-code", phone});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = Run({"verify", phone, server_.CodeFor(phone).value()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  const std::string& state() const { return state_; }

 private:
  const TestServer& server_;
  std::string state_;
};

std::string Capture(const std::string& text, const std::string& re) {
  std::smatch m;
  return std::regex_search(text, m, std::regex(re)) ? m[1].str() : "";
}

TEST(HistoryCli, LinkedDeviceRestoresEncryptedBackup) {
  TestServer server;
  ASSERT_TRUE(server.Start().ok());
  Cli alice(server, server.root() + "/a1/state"), bob(server, server.root() + "/bob/state");
  ASSERT_NO_FATAL_FAILURE(alice.Register("+15550820001"));
  ASSERT_NO_FATAL_FAILURE(bob.Register("+15550820002"));

  // listen and send fill the history as a side effect.
  ProcessResult r = alice.Run({"send", "+15550820002", "Meet at the Café at noon"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = bob.Run({"listen", "--count", "1", "--timeout", "10"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = bob.Run({"send", "+15550820001", "see you there"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = alice.Run({"listen", "--count", "2", "--timeout", "10"});  // the delivered receipt, the reply
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string bob_id = Capture(r.out, "\\] ([0-9]+): see you there");
  ASSERT_FALSE(bob_id.empty()) << r.out;

  r = alice.Run({"history", bob_id});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::regex_search(r.out, std::regex("\\[1\\] [0-9]+: Meet at the Café at noon \\((sent|delivered|read)\\)\n"
                                                   "\\[2\\] " + bob_id + ": see you there\n")))
      << r.out;
  r = alice.Run({"chats"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("user:" + bob_id + "  unread=1  [2] " + bob_id + ": see you there"), std::string::npos) << r.out;
  r = alice.Run({"search", "CAFÉ"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Meet at the Café"), std::string::npos) << r.out;

  // Backup with a passphrase (the minimum KDF cost keeps the test fast).
  const std::string pass = server.root() + "/pass", wrong = server.root() + "/wrong";
  std::ofstream(pass) << "tern backup passphrase\n";
  std::ofstream(wrong) << "not it\n";
  r = alice.Run({"backup", "--passphrase-file", pass, "--kdf", "min", "--progress"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("100%"), std::string::npos) << r.err;  // progress shown
  const std::string asset = Capture(r.out, "backup asset_id=([0-9]+)");
  ASSERT_FALSE(asset.empty()) << r.out;
  EXPECT_NE(r.out.find("messages=2"), std::string::npos) << r.out;

  // A second device of alice, linked afterwards: its history starts empty.
  r = alice.Run({"link-code"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Cli tablet(server, server.root() + "/a2/state");
  std::string code = r.out.substr(0, r.out.find('\n'));
  r = tablet.Run({"link", code, "--device-name", "tablet"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = tablet.Run({"history", bob_id});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");

  // Wrong passphrase: refused, nothing written.
  r = tablet.Run({"restore", asset, "--passphrase-file", wrong});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("wrong passphrase"), std::string::npos) << r.err;
  EXPECT_EQ(tablet.Run({"history", bob_id}).out, "");

  r = tablet.Run({"restore", asset, "--passphrase-file", pass});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("2 messages in 1 chats, 2 new"), std::string::npos) << r.out;
  r = tablet.Run({"history", bob_id});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("[1] "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(": Meet at the Café at noon ("), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[2] " + bob_id + ": see you there"), std::string::npos) << r.out;
  r = tablet.Run({"search", "noon"});
  EXPECT_NE(r.out.find("user:" + bob_id + "  [1]"), std::string::npos) << r.out;
  // Restoring twice duplicates nothing.
  r = tablet.Run({"restore", asset, "--passphrase-file", pass});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(", 0 new"), std::string::npos) << r.out;

  // Someone else cannot fetch alice's backup.
  r = bob.Run({"restore", asset, "--passphrase-file", pass});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("forbidden"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace tern::testing
