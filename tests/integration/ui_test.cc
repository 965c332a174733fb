// The interactive client (`tern ui`, TERN_CLI_PATH) driven like a person uses it: two or three
// full-screen clients in a private tmux server (tests/integration/tmux_util.h) against the real
// ternd, typing with send-keys and asserting on what capture-pane shows. Users are registered
// with the line-mode `tern`. Every wait polls the screen with a bound; nothing sleeps.
//
// Glyphs asserted on (tools/ui/screen.h): pending ◷, sent ✓, delivered ✓✓, seen ✔✔.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "tests/integration/process_util.h"
#include "tests/integration/server_util.h"
#include "tests/integration/tmux_util.h"
#include "tests/integration/weaknet_util.h"

namespace tern::testing {
namespace {

constexpr int kScreenWaitMs = 20000;
// /quit ends with Client::Close (flush, half-close, drain), bounded by --io-timeout per step.
constexpr int kExitWaitMs = 30000;
const std::string kPending = "\u25F7", kSeen = "\u2714\u2714";

// A person with a phone number, a state file and (once started) a `tern ui` in tmux.
struct Person {
  std::string name, phone, state, files;
};

class UiTest : public ::testing::Test {
 protected:
  // A short offline grace, so "last seen" shows soon after a peer quits.
  UiTest() : server_({"--presence-offline-grace-ms", "300"}) {}

  void SetUp() override { ASSERT_TRUE(server_.Start().ok()); }

  std::vector<std::string> Cli(const Person& p, std::vector<std::string> args) const {
    std::vector<std::string> argv = {TERN_CLI_PATH, "--server", server_.address(), "--state", p.state,
                                     "--io-timeout", "5", "--plain"};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  Person Register(const std::string& name, const std::string& phone) {
    Person p{name, phone, server_.root() + "/" + name + "/state", server_.root() + "/" + name + "/files"};
    ProcessResult r = RunProcess(Cli(p, {"request-code", phone}), 15000);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    Result<std::string> code = server_.CodeFor(phone);
    EXPECT_TRUE(code.ok());
    r = RunProcess(Cli(p, {"verify", phone, code.ok() ? *code : "", "--device-name", name}), 15000);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return p;
  }

  // Starts `tern ui` for p, reaching ternd at `port` (0: directly).
  void StartUi(const Person& p, uint16_t port = 0) {
    std::vector<std::string> argv = Cli(p, {"ui", "--files", p.files, "--backoff-max-ms", "500"});
    if (port != 0) argv[2] = "127.0.0.1:" + std::to_string(port);
    ASSERT_TRUE(tmux_.Start(p.name, argv, server_.root() + "/" + p.name + ".err").ok());
    ASSERT_TRUE(tmux_.WaitForText(p.name, {"ONLINE"}, kScreenWaitMs).ok()) << tmux_.Screen(p.name);
  }

  // Waits until p's screen shows every needle; fails the test with the screen otherwise.
  std::string Expect(const Person& p, const std::vector<std::string>& needles) {
    Result<std::string> s = tmux_.WaitForText(p.name, needles, kScreenWaitMs);
    EXPECT_TRUE(s.ok()) << "waiting on " << p.name << " for '" << needles.front() << "': " << s.status().message();
    return s.ok() ? *s : "";
  }

  // The lowest screen line holding `text` (messages are bottom-aligned; the chat list's
  // preview of the same text is near the top).
  std::string LineWith(const Person& p, const std::string& text) {
    std::string screen = tmux_.Screen(p.name);
    size_t at = screen.rfind(text);
    if (at == std::string::npos) return "";
    size_t b = screen.rfind('\n', at), e = screen.find('\n', at);
    return screen.substr(b == std::string::npos ? 0 : b + 1, e == std::string::npos ? e : e - b - 1);
  }

  bool LineEndsWith(const Person& p, const std::string& text, const std::string& glyph) {
    std::string line = LineWith(p, text);
    while (!line.empty() && line.back() == ' ') line.pop_back();
    return line.size() >= glyph.size() && line.compare(line.size() - glyph.size(), glyph.size(), glyph) == 0;
  }

  void ExpectTick(const Person& p, const std::string& text, const std::string& glyph) {
    Result<std::string> s = tmux_.WaitForScreen(p.name, [&](const std::string&) { return LineEndsWith(p, text, glyph); },
                                                kScreenWaitMs);
    EXPECT_TRUE(s.ok()) << p.name << ": '" << text << "' never showed " << glyph << ":\n" << s.status().message();
  }

  TestServer server_;
  TmuxServer tmux_;
};

TEST_F(UiTest, OneToOneChatTicksReachSeenAndPresenceShows) {
  Person alice = Register("alice", "+15550700001"), bob = Register("bob", "+15550700002");
  ASSERT_NO_FATAL_FAILURE(StartUi(alice));
  ASSERT_NO_FATAL_FAILURE(StartUi(bob));

  // Devices: a link code for a new device, and the device list.
  tmux_.Type("alice", "/link");
  Expect(alice, {"Link a new device", "Link code: ", "link "});
  tmux_.Type("alice", "/devices");
  Expect(alice, {"Devices (1)", "#1  alice  online  (this device)"});
  tmux_.Key("alice", "Escape");

  tmux_.Type("alice", "/chat +15550700002");
  Expect(alice, {"+15550700002 \u00B7 online"});  // the header: bob's presence
  const std::string text = "привет 你好 👋 hi bob";
  tmux_.Type("alice", text);
  // Bob has not opened the chat: an unread count and the last message in his chat list.
  Expect(bob, {"(1)", text});
  ExpectTick(alice, text, "\u2713\u2713");  // delivered to bob's device
  EXPECT_FALSE(LineEndsWith(alice, text, kSeen));

  // Bob opens it (Tab): alice's tick turns to seen; bob answers.
  tmux_.Key("bob", "Tab");
  ExpectTick(alice, text, kSeen);
  tmux_.Type("bob", "/chat +15550700001");
  Expect(bob, {"+15550700001 \u00B7 online"});
  tmux_.Type("bob", "hello alice");
  Expect(alice, {"+15550700002: hello alice"});
  ExpectTick(bob, "hello alice", kSeen);  // alice has the chat open

  // Bob leaves: alice's header turns to "last seen".
  tmux_.Type("bob", "/quit");
  Expect(alice, {"+15550700002 \u00B7 last seen"});

  // Bob comes back: his chat list and messages come from the device's local history.
  ASSERT_TRUE(tmux_.WaitForScreen("bob", [&](const std::string&) { return !tmux_.running("bob"); }, kExitWaitMs).ok())
      << "bob's tern ui did not exit after /quit:\n" << tmux_.Screen("bob");
  ASSERT_NO_FATAL_FAILURE(StartUi(bob));
  tmux_.Key("bob", "Tab");
  Expect(bob, {text, "you: hello alice"});
  ExpectTick(bob, "hello alice", kSeen);
}

TEST_F(UiTest, GroupOfThreeAndAFileSentAndOpened) {
  Person alice = Register("alice", "+15550700011"), bob = Register("bob", "+15550700012"),
         carol = Register("carol", "+15550700013");
  ASSERT_NO_FATAL_FAILURE(StartUi(alice));
  ASSERT_NO_FATAL_FAILURE(StartUi(bob));
  ASSERT_NO_FATAL_FAILURE(StartUi(carol));

  tmux_.Type("alice", "/group new \"ski trip\" +15550700012 +15550700013");
  Expect(alice, {"ski trip \u00B7 3 members: you", "+15550700012", "+15550700013", "created the group \"ski trip\""});
  tmux_.Type("alice", "hello group");
  Expect(bob, {"ski trip", "(1)"});  // in the chat list, unread
  Expect(carol, {"ski trip", "(1)"});
  tmux_.Key("bob", "Tab");
  // The group's members are fetched when it first appears.
  Expect(bob, {"ski trip \u00B7 3 members: you", ": hello group"});
  ExpectTick(alice, "hello group", "\u2713\u2713");
  EXPECT_FALSE(LineEndsWith(alice, "hello group", kSeen));  // carol has not read it yet
  tmux_.Key("carol", "Tab");
  Expect(carol, {": hello group"});
  ExpectTick(alice, "hello group", kSeen);

  // A file: a progress bar on alice's side, a numbered attachment on bob's, opened there.
  const std::string path = server_.root() + "/notes.txt";
  const std::string content = "first line\nвторая строка\n";
  std::ofstream(path) << content;
  const std::string size = std::to_string(content.size());
  tmux_.Type("alice", "/file " + path);
  Expect(alice, {"upload notes.txt [####################] 100%", "[file #1 notes.txt " + size + " B]"});
  Expect(bob, {"[file #1 notes.txt " + size + " B] (/open 1)"});
  tmux_.Type("bob", "/open 1");
  Expect(bob, {"File notes.txt (text/plain, " + size + " bytes)", "first line", "вторая строка"});

  // Membership: alice removes carol; everyone's screen says so.
  tmux_.Type("alice", "/group remove +15550700013");
  Expect(alice, {"you removed +15550700013", "ski trip \u00B7 2 members"});
  tmux_.Key("bob", "Escape");
  Expect(bob, {"removed user"});
  Expect(carol, {"removed you", "you are not a member"});
}

TEST_F(UiTest, MessagesTypedOfflineArePendingThenGoOutInOrder) {
  Person alice = Register("alice", "+15550700021"), bob = Register("bob", "+15550700022");
  // Alice reaches ternd through tern-weaknet: stopping it is her link going down.
  WeaknetProxy link(server_.port(), {}, server_.root() + "/weaknet.log");
  ASSERT_TRUE(link.Start().ok());
  ASSERT_NO_FATAL_FAILURE(StartUi(alice, link.port()));
  ASSERT_NO_FATAL_FAILURE(StartUi(bob));
  tmux_.Type("alice", "/chat +15550700022");
  tmux_.Type("alice", "before the drop");
  Expect(bob, {"before the drop"});
  tmux_.Key("bob", "Tab");
  ExpectTick(alice, "before the drop", kSeen);

  ASSERT_TRUE(link.Stop().ok());
  Expect(alice, {"OFFLINE"});
  for (const char* t : {"offline one", "offline two", "offline three"}) tmux_.Type("alice", t);
  Expect(alice, {"pending 3"});
  ExpectTick(alice, "offline three", kPending);
  EXPECT_TRUE(LineEndsWith(alice, "offline one", kPending));
  EXPECT_EQ(tmux_.Screen("bob").find("offline one"), std::string::npos);

  ASSERT_TRUE(link.Start().ok());  // the same port: the link is back
  Expect(alice, {"ONLINE", "pending 0"});
  std::string screen = Expect(bob, {"offline one", "offline two", "offline three"});
  // In chat order (rfind: the chat list's preview also holds the last one, near the top).
  EXPECT_LT(screen.rfind("before the drop"), screen.rfind("offline one"));
  EXPECT_LT(screen.rfind("offline one"), screen.rfind("offline two"));
  EXPECT_LT(screen.rfind("offline two"), screen.rfind("offline three"));
  ExpectTick(alice, "offline three", kSeen);  // bob has the chat open
}

}  // namespace
}  // namespace tern::testing
