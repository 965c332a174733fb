// ChatModel (tools/ui/chat_model.h): the interactive client's state, driven by SDK events with
// no terminal and no sockets.
#include "tools/ui/chat_model.h"

#include <gtest/gtest.h>

#include <memory>
#include <span>

#include "tools/ui/ui_history.h"

namespace tern::ui {
namespace {

constexpr uint64_t kMe = 10, kBob = 20, kCarol = 30, kGroup = 500;

wire::InboxItem Msg(uint64_t from, uint64_t to, uint64_t chat_seq, std::string text, uint64_t group = 0) {
  wire::InboxItem it;
  it.kind = wire::ItemKind::kMessage;
  it.sender_user = from;
  it.to_user = to;
  it.chat_seq = chat_seq;
  it.text = std::move(text);
  it.group_id = group;
  it.server_ts_ms = 1000 + chat_seq;
  return it;
}

wire::InboxItem Receipt(uint64_t reader, uint64_t to, wire::ReceiptType type, uint64_t chat_seq,
                        uint64_t group = 0) {
  wire::InboxItem it;
  it.kind = wire::ItemKind::kReceipt;
  it.sender_user = reader;
  it.to_user = to;
  it.receipt = type;
  it.chat_seq = chat_seq;
  it.group_id = group;
  return it;
}

wire::InboxItem Event(uint64_t by, wire::GroupOp op, uint64_t who, uint64_t chat_seq, std::string text = "") {
  wire::InboxItem it;
  it.kind = wire::ItemKind::kGroupEvent;
  it.sender_user = by;
  it.group_id = kGroup;
  it.event = op;
  it.event_user = who;
  it.chat_seq = chat_seq;
  it.text = std::move(text);
  return it;
}

wire::SendAck Ack(uint64_t client_seq, uint64_t chat_seq, Code status = Code::kOk) {
  wire::SendAck a;
  a.client_seq = client_seq;
  a.chat_seq = chat_seq;
  a.status = status;
  a.msg_id = 100 + client_seq;
  return a;
}

std::vector<std::string> Texts(const Chat& c) {
  std::vector<std::string> out;
  for (const ChatMessage& m : c.messages) out.push_back(m.text);
  return out;
}

TEST(ChatModelTest, TicksMovePendingSentDeliveredSeen) {
  ChatModel m(kMe);
  const ChatKey bob{kBob, 0};
  m.OnSending(bob, 1, "hi bob", {}, 5);
  const Chat* c = m.chat(bob);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(m.TickOf(*c, c->messages[0]), Tick::kPending);
  EXPECT_EQ(m.pending_count(), 1u);
  m.OnAck(Ack(1, 1), 6);
  EXPECT_EQ(m.TickOf(*c, c->messages[0]), Tick::kSent);
  EXPECT_EQ(m.pending_count(), 0u);
  m.OnItem(Receipt(kBob, kMe, wire::ReceiptType::kDelivered, 1), 7);
  EXPECT_EQ(m.TickOf(*c, c->messages[0]), Tick::kDelivered);
  m.OnItem(Receipt(kBob, kMe, wire::ReceiptType::kRead, 1), 8);
  EXPECT_EQ(m.TickOf(*c, c->messages[0]), Tick::kSeen);
  // A late delivered receipt never moves a tick back.
  m.OnItem(Receipt(kBob, kMe, wire::ReceiptType::kDelivered, 1), 9);
  EXPECT_EQ(m.TickOf(*c, c->messages[0]), Tick::kSeen);
}

TEST(ChatModelTest, ReadMarkCoversOnlyMessagesUpToIt) {
  ChatModel m(kMe);
  const ChatKey bob{kBob, 0};
  m.OnSending(bob, 1, "one", {}, 1);
  m.OnSending(bob, 2, "two", {}, 1);
  m.OnAck(Ack(1, 1), 2);
  m.OnAck(Ack(2, 2), 2);
  m.OnItem(Receipt(kBob, kMe, wire::ReceiptType::kRead, 1), 3);
  const Chat* c = m.chat(bob);
  EXPECT_EQ(m.TickOf(*c, c->messages[0]), Tick::kSeen);
  EXPECT_EQ(m.TickOf(*c, c->messages[1]), Tick::kSent);
}

TEST(ChatModelTest, RefusedSendIsFailed) {
  ChatModel m(kMe);
  m.OnSending({kBob, 0}, 1, "x", {}, 1);
  m.OnAck(Ack(1, 0, Code::kForbidden), 2);
  const Chat* c = m.chat({kBob, 0});
  EXPECT_EQ(m.TickOf(*c, c->messages[0]), Tick::kFailed);
  EXPECT_EQ(m.pending_count(), 0u);
}

TEST(ChatModelTest, PendingWhileOfflineStayInTypedOrderAndMoveIntoChatOrder) {
  ChatModel m(kMe);
  const ChatKey bob{kBob, 0};
  m.OnConnection(Connection::kOnline, 1);
  m.OnItem(Msg(kBob, kMe, 1, "before"), 2);
  m.OnConnection(Connection::kOffline, 3);
  EXPECT_EQ(m.connection(), Connection::kOffline);
  EXPECT_EQ(m.connection_since_ms(), 3u);
  m.OnSending(bob, 7, "offline 1", {}, 4);
  m.OnSending(bob, 8, "offline 2", {}, 5);
  EXPECT_EQ(m.PendingSends(), (std::vector<uint64_t>{7, 8}));
  // While reconnecting, bob's message (chat seq 2) arrives before our acks: it goes before the
  // pending ones; the acks then place ours after it.
  m.OnConnection(Connection::kOnline, 6);
  m.OnItem(Msg(kBob, kMe, 2, "meanwhile"), 7);
  EXPECT_EQ(Texts(*m.chat(bob)), (std::vector<std::string>{"before", "meanwhile", "offline 1", "offline 2"}));
  m.OnAck(Ack(7, 3), 8);
  m.OnAck(Ack(8, 4), 8);
  const Chat* c = m.chat(bob);
  EXPECT_EQ(Texts(*c), (std::vector<std::string>{"before", "meanwhile", "offline 1", "offline 2"}));
  EXPECT_EQ(c->messages[2].chat_seq, 3u);
  EXPECT_EQ(m.TickOf(*c, c->messages[3]), Tick::kSent);
}

TEST(ChatModelTest, UnreadCountsAndReadMarks) {
  ChatModel m(kMe);
  const ChatKey bob{kBob, 0}, carol{kCarol, 0};
  m.OnItem(Msg(kBob, kMe, 1, "b1"), 1);
  m.OnItem(Msg(kBob, kMe, 2, "b2"), 2);
  m.OnItem(Msg(kCarol, kMe, 1, "c1"), 3);
  EXPECT_EQ(m.Unread(*m.chat(bob)), 2);
  EXPECT_EQ(m.Unread(*m.chat(carol)), 1);
  // Most recent first, with the last message as preview.
  auto list = m.ChatList();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]->key, carol);
  EXPECT_EQ(m.Preview(*list[1]), "b2");
  // Opening bob's chat marks it read up to 2, once.
  EXPECT_EQ(m.MarkRead(bob), std::optional<uint64_t>(2));
  EXPECT_EQ(m.MarkRead(bob), std::nullopt);
  EXPECT_EQ(m.Unread(*m.chat(bob)), 0);
  // My other device read carol's chat.
  m.OnItem(Receipt(kMe, kCarol, wire::ReceiptType::kRead, 1), 4);
  EXPECT_EQ(m.Unread(*m.chat(carol)), 0);
  // My own messages (from another device) are never unread; they show as mine.
  m.OnItem(Msg(kMe, kBob, 3, "from my phone"), 5);
  EXPECT_EQ(m.Unread(*m.chat(bob)), 0);
  EXPECT_TRUE(m.chat(bob)->messages.back().mine);
  EXPECT_EQ(m.Preview(*m.chat(bob)), "you: from my phone");
}

TEST(ChatModelTest, GroupMembershipFromEventsAndInfo) {
  ChatModel m(kMe);
  const ChatKey g{0, kGroup};
  m.OnItem(Event(kBob, wire::GroupOp::kCreate, 0, 1, "trip"), 1);
  m.OnItem(Event(kBob, wire::GroupOp::kAdd, kMe, 2), 1);
  const Chat* c = m.chat(g);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(m.TitleOf(*c), "trip");
  EXPECT_EQ(m.GroupsToFetch(), (std::vector<uint64_t>{kGroup}));
  m.FetchAsked(kGroup);
  EXPECT_TRUE(m.GroupsToFetch().empty());
  wire::GroupInfo info;
  info.group_id = kGroup;
  info.name = "trip";
  info.members = {{kBob, true}, {kMe, false}, {kCarol, false}};
  m.OnGroupInfo(info, 2);
  EXPECT_EQ(c->members, (std::set<uint64_t>{kBob, kCarol}));
  m.SetName(kCarol, "+1555003");
  m.OnItem(Event(kBob, wire::GroupOp::kRemove, kCarol, 3), 3);
  EXPECT_EQ(c->members, (std::set<uint64_t>{kBob}));
  EXPECT_EQ(m.EventText(c->messages.back()), "user 20 removed +1555003");
  EXPECT_EQ(m.People(), (std::vector<uint64_t>{kBob}));
  m.OnItem(Event(kBob, wire::GroupOp::kRemove, kMe, 4), 4);
  EXPECT_TRUE(c->left);
}

TEST(ChatModelTest, GroupTickNeedsEveryOtherMember) {
  ChatModel m(kMe);
  const ChatKey g{0, kGroup};
  wire::GroupInfo info;
  info.group_id = kGroup;
  info.name = "three";
  info.members = {{kMe, true}, {kBob, false}, {kCarol, false}};
  m.OnGroupInfo(info, 1);
  m.OnSending(g, 1, "hello all", {}, 1);
  m.OnAck(Ack(1, 2), 2);
  const Chat* c = m.chat(g);
  m.OnItem(Receipt(kBob, 0, wire::ReceiptType::kRead, 2, kGroup), 3);
  EXPECT_EQ(m.TickOf(*c, c->messages[0]), Tick::kSent);
  m.OnItem(Receipt(kCarol, 0, wire::ReceiptType::kDelivered, 2, kGroup), 3);
  EXPECT_EQ(m.TickOf(*c, c->messages[0]), Tick::kDelivered);
  m.OnItem(Receipt(kCarol, 0, wire::ReceiptType::kRead, 2, kGroup), 3);
  EXPECT_EQ(m.TickOf(*c, c->messages[0]), Tick::kSeen);
}

TEST(ChatModelTest, TransfersReportProgressAndFilesAreNumbered) {
  ChatModel m(kMe);
  const ChatKey bob{kBob, 0};
  uint64_t t = m.StartTransfer(bob, true, "notes.txt", 1000);
  m.OnTransferProgress(t, 400, 1000);
  ASSERT_NE(m.transfer(t), nullptr);
  EXPECT_EQ(m.transfer(t)->done, 400u);
  EXPECT_EQ(m.transfer(t)->state, Transfer::State::kRunning);
  m.OnTransferDone(t, Status::Ok(), "");
  EXPECT_EQ(m.transfer(t)->done, 1000u);
  EXPECT_EQ(m.transfer(t)->state, Transfer::State::kDone);
  uint64_t t2 = m.StartTransfer(bob, false, "x.bin", 10);
  m.OnTransferDone(t2, Status(Code::kCorrupt, "sha256 mismatch"), "");
  EXPECT_EQ(m.transfer(t2)->state, Transfer::State::kFailed);
  EXPECT_EQ(m.TransfersOf(bob).size(), 2u);

  wire::InboxItem with_file = Msg(kBob, kMe, 1, "the notes");
  wire::AssetRef a;
  a.asset_id = 77;
  a.name = "notes.txt";
  with_file.assets = {a};
  m.OnItem(with_file, 5);
  wire::AssetRef b = a;
  b.asset_id = 78;
  m.OnSending(bob, 1, "", {b}, 6);
  ASSERT_NE(m.FileOf(bob, 1), nullptr);
  EXPECT_EQ(m.FileOf(bob, 1)->asset_id, 77u);
  EXPECT_EQ(m.FileOf(bob, 2)->asset_id, 78u);
  m.OnAck(Ack(1, 2), 7);  // keeps its number when it moves into chat order
  EXPECT_EQ(m.FileOf(bob, 2)->asset_id, 78u);
  EXPECT_EQ(m.FileOf(bob, 3), nullptr);
  EXPECT_EQ(m.Preview(*m.chat(bob)), "you: [file notes.txt] ");
}

TEST(ChatModelTest, PreloadThenLiveEventsContinue) {
  ChatModel m(kMe);
  const ChatKey bob{kBob, 0};
  ChatModel::PreloadChat pc;
  pc.key = bob;
  pc.my_read = 1;
  pc.marks[kBob] = {2, 1};
  ChatMessage old1;
  old1.chat_seq = 1;
  old1.sender = kBob;
  old1.text = "old from bob";
  ChatMessage old2;
  old2.chat_seq = 2;
  old2.sender = kMe;
  old2.mine = true;
  old2.text = "old reply";
  m.Preload({pc}, {{bob, old1}, {bob, old2}});
  const Chat* c = m.chat(bob);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(m.TickOf(*c, c->messages[1]), Tick::kDelivered);
  EXPECT_EQ(m.Unread(*c), 0);
  m.OnItem(Msg(kBob, kMe, 2, "dup"), 1);  // already stored: ignored
  m.OnItem(Msg(kBob, kMe, 3, "new"), 1);
  EXPECT_EQ(Texts(*c), (std::vector<std::string>{"old from bob", "old reply", "new"}));
  EXPECT_EQ(m.Unread(*c), 1);
}

TEST(ChatModelTest, NoticesKeepTheirPlace) {
  ChatModel m(kMe);
  const ChatKey bob{kBob, 0};
  m.OnItem(Msg(kBob, kMe, 1, "one"), 1);
  m.AddNotice(bob, "link code: 123", 2);
  m.OnItem(Msg(kBob, kMe, 2, "two"), 3);
  EXPECT_EQ(Texts(*m.chat(bob)), (std::vector<std::string>{"one", "link code: 123", "two"}));
  EXPECT_EQ(m.Unread(*m.chat(bob)), 2);
}

}  // namespace
}  // namespace tern::ui

namespace tern::ui {
namespace {

// The history seam with the real history store (tools/client/history.h, in memory).
TEST(ChatModelTest, PreloadFromTheDeviceHistory) {
  std::unique_ptr<tools::History> h = tools::History::InMemory();
  wire::InboxItem in = Msg(kBob, kMe, 1, "stored hello");
  ASSERT_TRUE(h->RecordItems(kMe, std::span<const wire::InboxItem>(&in, 1)).ok());
  tools::PendingSend send;
  send.client_seq = 1;
  send.to_user = kBob;
  send.text = "stored reply";
  ASSERT_TRUE(h->RecordSend(kMe, send).ok());
  ASSERT_TRUE(h->RecordSendAck(Ack(1, 2)).ok());
  wire::InboxItem read = Receipt(kBob, kMe, wire::ReceiptType::kRead, 2);
  ASSERT_TRUE(h->RecordItems(kMe, std::span<const wire::InboxItem>(&read, 1)).ok());
  tools::PendingSend pending = send;
  pending.client_seq = 2;
  pending.text = "still pending";
  ASSERT_TRUE(h->RecordSend(kMe, pending).ok());

  ChatModel m(kMe);
  ASSERT_TRUE(PreloadFromHistory(*h, m).ok());
  m.OnSending({kBob, 0}, 2, "still pending", {}, 9);  // from the ClientState, as the UI does
  const Chat* c = m.chat({kBob, 0});
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(Texts(*c), (std::vector<std::string>{"stored hello", "stored reply", "still pending"}));
  EXPECT_EQ(m.TickOf(*c, c->messages[1]), Tick::kSeen);
  EXPECT_EQ(m.TickOf(*c, c->messages[2]), Tick::kPending);
  EXPECT_EQ(m.Unread(*c), 1);
}

}  // namespace
}  // namespace tern::ui
