// The interactive client's input-line commands (tools/ui/commands.h).
#include "tools/ui/commands.h"

#include <gtest/gtest.h>

namespace tern::ui {
namespace {

using K = Command::Kind;

TEST(UiCommandsTest, PlainLinesAreMessages) {
  EXPECT_EQ(ParseCommand("привет 你好 👋").kind, K::kText);
  EXPECT_EQ(ParseCommand("привет 你好 👋").text, "привет 你好 👋");
  EXPECT_EQ(ParseCommand("   ").kind, K::kNone);
  Command slash = ParseCommand("//etc/hosts is a path");
  EXPECT_EQ(slash.kind, K::kText);
  EXPECT_EQ(slash.text, "/etc/hosts is a path");
}

TEST(UiCommandsTest, GroupCommands) {
  Command c = ParseCommand("/group new \"ski trip\" +1555001 +1555002");
  EXPECT_EQ(c.kind, K::kGroupNew);
  EXPECT_EQ(c.text, "ski trip");
  EXPECT_EQ(c.args, (std::vector<std::string>{"+1555001", "+1555002"}));
  EXPECT_EQ(ParseCommand("/group add +1555003").kind, K::kGroupAdd);
  EXPECT_EQ(ParseCommand("/group remove +1555003").text, "+1555003");
  EXPECT_EQ(ParseCommand("/group leave").kind, K::kGroupLeave);
  EXPECT_EQ(ParseCommand("/group info").kind, K::kGroupInfo);
  EXPECT_EQ(ParseCommand("/group rename skiers").kind, K::kGroupRename);
  EXPECT_EQ(ParseCommand("/group add").kind, K::kInvalid);
  EXPECT_EQ(ParseCommand("/group frobnicate").kind, K::kInvalid);
}

TEST(UiCommandsTest, OtherCommands) {
  EXPECT_EQ(ParseCommand("/chat +15550001").text, "+15550001");
  Command f = ParseCommand("/file /tmp/my notes.txt");
  EXPECT_EQ(f.kind, K::kFile);
  EXPECT_EQ(f.text, "/tmp/my notes.txt");
  EXPECT_EQ(ParseCommand("/open 2").number, 2);
  EXPECT_EQ(ParseCommand("/open x").kind, K::kInvalid);
  EXPECT_EQ(ParseCommand("/open 0").kind, K::kInvalid);
  EXPECT_EQ(ParseCommand("/link").kind, K::kLink);
  EXPECT_EQ(ParseCommand("/devices").kind, K::kDevices);
  EXPECT_EQ(ParseCommand("/reconnect").kind, K::kReconnect);
  EXPECT_EQ(ParseCommand("/quit").kind, K::kQuit);
  EXPECT_EQ(ParseCommand("/help").kind, K::kHelp);
  Command bad = ParseCommand("/nope");
  EXPECT_EQ(bad.kind, K::kInvalid);
  EXPECT_NE(bad.error.find("/help"), std::string::npos);
}

}  // namespace
}  // namespace tern::ui
