// History (tools/client/history.h): recording, ticks, unread counts, paging and search on the
// in-memory backend; restart, refusal of foreign databases and map growth on LMDB.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tools/client/history.h"

namespace tern::tools {
namespace {

constexpr uint64_t kMe = 10, kPeer = 20, kOther = 30, kGroup = 7;

wire::InboxItem Msg(uint64_t chat_seq, uint64_t from, std::string text, uint64_t ts = 0) {
  wire::InboxItem it;
  it.seq = chat_seq;
  it.msg_id = 1000 + chat_seq;
  it.sender_user = from;
  it.to_user = from == kMe ? kPeer : kMe;
  it.chat_seq = chat_seq;
  it.server_ts_ms = ts != 0 ? ts : 1000 * chat_seq;
  it.text = std::move(text);
  return it;
}

wire::InboxItem Receipt(uint64_t reader, uint64_t up_to, wire::ReceiptType type, uint64_t peer = kPeer) {
  wire::InboxItem it;
  it.kind = wire::ItemKind::kReceipt;
  it.sender_user = reader;
  it.to_user = reader == kMe ? peer : kMe;
  it.chat_seq = up_to;
  it.receipt = type;
  return it;
}

wire::SendAck Ack(uint64_t client_seq, uint64_t chat_seq, Code status = Code::kOk) {
  return wire::SendAck{client_seq, status, 9000 + client_seq, chat_seq, 1000 * chat_seq};
}

std::vector<std::string> Texts(const std::vector<HistoryMessage>& v) {
  std::vector<std::string> out;
  for (const auto& e : v) out.push_back(e.text);
  return out;
}

// A fresh directory under /tmp, removed with everything in it at the end of the test binary.
std::string TempDir() {
  struct Dirs {
    std::vector<std::string> paths;
    ~Dirs() {
      for (const auto& p : paths) std::filesystem::remove_all(p);
    }
  };
  static Dirs dirs;
  char tmpl[] = "/tmp/hist-unit-XXXXXX";
  char* d = ::mkdtemp(tmpl);
  if (d == nullptr) return "/tmp/hist-unit-fallback";
  dirs.paths.emplace_back(d);
  return d;
}

class HistoryTest : public ::testing::Test {
 protected:
  void Record(std::vector<wire::InboxItem> items) { ASSERT_TRUE(h_->RecordItems(kMe, items).ok()); }
  std::unique_ptr<History> h_ = History::InMemory();
};

TEST_F(HistoryTest, RecordsMessagesOfBothSidesInChatOrder) {
  Record({Msg(1, kPeer, "hi"), Msg(2, kMe, "hello from my laptop"), Msg(3, kPeer, "how are you")});
  auto page = h_->Messages(ChatId::Direct(kPeer));
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(Texts(*page), (std::vector<std::string>{"hi", "hello from my laptop", "how are you"}));
  EXPECT_FALSE((*page)[0].outgoing);
  EXPECT_TRUE((*page)[1].outgoing);  // from my other device
  EXPECT_EQ((*page)[1].status, MessageStatus::kSent);
  EXPECT_EQ((*page)[0].status, MessageStatus::kNone);
}

TEST_F(HistoryTest, ReplayedItemsAreIdempotent) {
  std::vector<wire::InboxItem> frame = {Msg(1, kPeer, "a"), Msg(2, kPeer, "b"), Receipt(kPeer, 1, wire::ReceiptType::kRead)};
  Record(frame);
  Record(frame);
  Record({Msg(2, kPeer, "b but different")});  // same chat_seq: the first copy stays
  auto page = h_->Messages(ChatId::Direct(kPeer));
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(Texts(*page), (std::vector<std::string>{"a", "b"}));
  auto stats = h_->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->messages, 2u);
  EXPECT_EQ(stats->chats, 1u);
}

TEST_F(HistoryTest, SendGoesPendingSentDeliveredRead) {
  PendingSend p{1, kPeer, "ping", 0, {}};
  ASSERT_TRUE(h_->RecordSend(kMe, p).ok());
  auto s = h_->FindSend(1);
  ASSERT_TRUE(s.ok() && s->has_value());
  EXPECT_EQ((*s)->status, MessageStatus::kPending);
  EXPECT_EQ((*s)->chat_seq, 0u);

  ASSERT_TRUE(h_->RecordSendAck(Ack(1, 4)).ok());
  s = h_->FindSend(1);
  ASSERT_TRUE(s.ok() && s->has_value());
  EXPECT_EQ((*s)->status, MessageStatus::kSent);
  EXPECT_EQ((*s)->chat_seq, 4u);
  EXPECT_EQ((*s)->msg_id, 9001u);

  Record({Receipt(kPeer, 4, wire::ReceiptType::kDelivered)});
  EXPECT_EQ(h_->Get(ChatId::Direct(kPeer), 4).value()->status, MessageStatus::kDelivered);
  Record({Receipt(kPeer, 9, wire::ReceiptType::kRead)});  // a mark above ticks everything below
  EXPECT_EQ(h_->Get(ChatId::Direct(kPeer), 4).value()->status, MessageStatus::kRead);
  // A replayed ack changes nothing and does not duplicate.
  ASSERT_TRUE(h_->RecordSendAck(Ack(1, 4)).ok());
  EXPECT_EQ(h_->Messages(ChatId::Direct(kPeer))->size(), 1u);
}

TEST_F(HistoryTest, MarkTicksOnlyMessagesUpToIt) {
  Record({Msg(1, kMe, "one"), Msg(2, kMe, "two"), Msg(3, kMe, "three")});
  Record({Receipt(kPeer, 2, wire::ReceiptType::kRead), Receipt(kPeer, 3, wire::ReceiptType::kDelivered)});
  auto page = h_->Messages(ChatId::Direct(kPeer));
  ASSERT_TRUE(page.ok());
  EXPECT_EQ((*page)[0].status, MessageStatus::kRead);
  EXPECT_EQ((*page)[1].status, MessageStatus::kRead);
  EXPECT_EQ((*page)[2].status, MessageStatus::kDelivered);
}

TEST_F(HistoryTest, RefusedSendIsFailedWithItsCode) {
  ASSERT_TRUE(h_->RecordSend(kMe, PendingSend{1, kPeer, "too many", 0, {}}).ok());
  ASSERT_TRUE(h_->RecordSendAck(Ack(1, 0, Code::kUnavailable)).ok());  // not final
  EXPECT_EQ(h_->FindSend(1).value()->status, MessageStatus::kPending);
  ASSERT_TRUE(h_->RecordSendAck(Ack(1, 0, Code::kQueueFull)).ok());
  auto s = h_->FindSend(1);
  EXPECT_EQ((*s)->status, MessageStatus::kFailed);
  EXPECT_EQ((*s)->failure, Code::kQueueFull);
  // Pending and failed sends come last on the first page of their chat.
  Record({Msg(1, kPeer, "earlier")});
  auto page = h_->Messages(ChatId::Direct(kPeer));
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(Texts(*page), (std::vector<std::string>{"earlier", "too many"}));
}

TEST_F(HistoryTest, UnreadCountsFollowMyReadPositionOnAnyDevice) {
  Record({Msg(1, kPeer, "a"), Msg(2, kPeer, "b"), Msg(3, kMe, "mine"), Msg(4, kPeer, "c")});
  auto chats = h_->ListChats();
  ASSERT_TRUE(chats.ok());
  ASSERT_EQ(chats->size(), 1u);
  EXPECT_EQ((*chats)[0].unread, 3u);  // my own message never counts
  ASSERT_TRUE(h_->MarkRead(ChatId::Direct(kPeer), 2).ok());
  EXPECT_EQ(h_->ListChats().value()[0].unread, 1u);
  // My read mark from another of my devices (sender_user = me).
  Record({Receipt(kMe, 4, wire::ReceiptType::kRead)});
  EXPECT_EQ(h_->ListChats().value()[0].unread, 0u);
  ASSERT_TRUE(h_->MarkRead(ChatId::Direct(kPeer), 1).ok());  // never moves back
  EXPECT_EQ(h_->ListChats().value()[0].read_seq, 4u);
}

TEST_F(HistoryTest, ChatListIsNewestFirstWithPreviewAndGroupTitle) {
  Record({Msg(1, kPeer, "old", 100)});
  wire::InboxItem created;
  created.kind = wire::ItemKind::kGroupEvent;
  created.group_id = kGroup;
  created.sender_user = kOther;
  created.chat_seq = 1;
  created.server_ts_ms = 300;
  created.event = wire::GroupOp::kCreate;
  created.text = "Family";
  wire::InboxItem g = Msg(2, kOther, "dinner?", 400);
  g.group_id = kGroup;
  g.to_user = 0;
  Record({created, g});
  wire::InboxItem other = Msg(1, kOther, "middle", 200);
  Record({other});
  auto chats = h_->ListChats();
  ASSERT_TRUE(chats.ok());
  ASSERT_EQ(chats->size(), 3u);
  EXPECT_EQ((*chats)[0].chat, ChatId::Group(kGroup));
  EXPECT_EQ((*chats)[0].title, "Family");
  ASSERT_TRUE((*chats)[0].last.has_value());
  EXPECT_EQ((*chats)[0].last->text, "dinner?");
  EXPECT_EQ((*chats)[0].unread, 1u);  // events are not unread messages
  EXPECT_EQ((*chats)[1].chat, ChatId::Direct(kOther));
  EXPECT_EQ((*chats)[2].chat, ChatId::Direct(kPeer));
  EXPECT_EQ(h_->ListChats(1)->size(), 1u);
}

TEST_F(HistoryTest, MessagesPageBackwards) {
  std::vector<wire::InboxItem> items;
  for (uint64_t i = 1; i <= 120; ++i) items.push_back(Msg(i, kPeer, "m" + std::to_string(i)));
  Record(items);
  auto p1 = h_->Messages(ChatId::Direct(kPeer), 0, 50);
  ASSERT_TRUE(p1.ok());
  ASSERT_EQ(p1->size(), 50u);
  EXPECT_EQ(p1->front().chat_seq, 71u);
  EXPECT_EQ(p1->back().chat_seq, 120u);
  auto p3 = h_->Messages(ChatId::Direct(kPeer), 21, 50);
  ASSERT_TRUE(p3.ok());
  ASSERT_EQ(p3->size(), 20u);
  EXPECT_EQ(p3->front().chat_seq, 1u);
  EXPECT_EQ(p3->back().chat_seq, 20u);
}

TEST_F(HistoryTest, SearchIsCaseInsensitiveAcrossScriptsNewestFirst) {
  Record({Msg(1, kPeer, "Привет, МИР!"), Msg(2, kMe, "hello WORLD"), Msg(3, kPeer, "你好世界"),
          Msg(4, kPeer, "Ünïcode Straße"), Msg(5, kPeer, "world again")});
  wire::InboxItem g = Msg(1, kOther, "the world in a group", 99000);
  g.group_id = kGroup;
  Record({g});
  auto r = h_->Search("мир");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Texts(*r), (std::vector<std::string>{"Привет, МИР!"}));
  EXPECT_EQ(Texts(h_->Search("世界").value()), (std::vector<std::string>{"你好世界"}));
  EXPECT_EQ(Texts(h_->Search("üNÏ").value()), (std::vector<std::string>{"Ünïcode Straße"}));
  EXPECT_EQ(Texts(h_->Search("World").value()),
            (std::vector<std::string>{"the world in a group", "world again", "hello WORLD"}));
  EXPECT_EQ(Texts(h_->Search("world", ChatId::Direct(kPeer)).value()), (std::vector<std::string>{"world again", "hello WORLD"}));
  EXPECT_EQ(h_->Search("world", std::nullopt, 1)->size(), 1u);
  EXPECT_TRUE(h_->Search("")->empty());
  EXPECT_TRUE(h_->Search("\xd0")->empty());  // a lone lead byte never matches inside a character
  EXPECT_TRUE(h_->Search("nowhere")->empty());
}

TEST_F(HistoryTest, SearchFindsPendingSendsAndMediaNames) {
  ASSERT_TRUE(h_->RecordSend(kMe, PendingSend{1, kPeer, "draft about LMDB", 0, {}}).ok());
  wire::InboxItem media = Msg(1, kPeer, "");
  wire::AssetRef ref;
  ref.asset_id = 55;
  ref.name = "Holiday.JPG";
  media.assets = {ref};
  Record({media});
  auto r = h_->Search("lmdb");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].status, MessageStatus::kPending);
  auto m = h_->Search("holiday");
  ASSERT_TRUE(m.ok());
  ASSERT_EQ(m->size(), 1u);
  ASSERT_EQ((*m)[0].assets.size(), 1u);
  EXPECT_EQ((*m)[0].assets[0].asset_id, 55u);
}

TEST_F(HistoryTest, ExpiryNoticesMarkAndFillGaps) {
  Record({Msg(1, kMe, "never arrived")});
  wire::InboxItem expired = Msg(1, kMe, "");
  expired.kind = wire::ItemKind::kExpired;
  wire::InboxItem missed = Msg(2, kPeer, "");
  missed.kind = wire::ItemKind::kMissed;
  Record({expired, missed});
  auto page = h_->Messages(ChatId::Direct(kPeer));
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].text, "never arrived");
  EXPECT_EQ((*page)[0].status, MessageStatus::kFailed);
  EXPECT_EQ((*page)[0].failure, Code::kExpired);
  EXPECT_EQ((*page)[1].kind, EntryKind::kMissed);
}

TEST_F(HistoryTest, RefusesAnotherUsersItemsAndWritesNothing) {
  Record({Msg(1, kPeer, "a")});
  EXPECT_EQ(h_->RecordItems(kOther, std::vector<wire::InboxItem>{Msg(2, kPeer, "b")}).code(), Code::kInvalidArgument);
  EXPECT_EQ(h_->Owner().value(), kMe);
  EXPECT_EQ(h_->Messages(ChatId::Direct(kPeer))->size(), 1u);
}

TEST_F(HistoryTest, ExportImportRoundTripsAndMergesIdempotently) {
  Record({Msg(1, kPeer, "a"), Msg(2, kMe, "b"), Receipt(kPeer, 2, wire::ReceiptType::kRead)});
  ASSERT_TRUE(h_->MarkRead(ChatId::Direct(kPeer), 1).ok());
  ASSERT_TRUE(h_->RecordSend(kMe, PendingSend{5, kPeer, "pending, not exported", 0, {}}).ok());
  auto dump = h_->Export();
  ASSERT_TRUE(dump.ok());

  auto fresh = History::InMemory();
  ASSERT_TRUE(fresh->RecordItems(kMe, std::vector<wire::InboxItem>{Msg(3, kPeer, "newer, only here")}).ok());
  auto r = fresh->Import(*dump, kMe);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->added, 2u);
  auto page = fresh->Messages(ChatId::Direct(kPeer));
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(Texts(*page), (std::vector<std::string>{"a", "b", "newer, only here"}));
  EXPECT_EQ((*page)[1].status, MessageStatus::kRead);
  auto chats = fresh->ListChats();
  EXPECT_EQ((*chats)[0].read_seq, 1u);
  EXPECT_EQ((*chats)[0].last_chat_seq, 3u);
  EXPECT_EQ((*chats)[0].unread, 1u);
  // Again: nothing new, nothing duplicated.
  r = fresh->Import(*dump, kMe);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->added, 0u);
  EXPECT_EQ(fresh->Messages(ChatId::Direct(kPeer))->size(), 3u);
  // Another user's backup, and a damaged export, are refused and change nothing.
  EXPECT_EQ(History::InMemory()->Import(*dump, kOther).status().code(), Code::kInvalidArgument);
  std::string cut = dump->substr(0, dump->size() - 3);
  auto other = History::InMemory();
  EXPECT_EQ(other->Import(cut, kMe).status().code(), Code::kCorrupt);
  EXPECT_EQ(other->Stats()->messages, 0u);
}

TEST_F(HistoryTest, FailedWriteChangesNothing) {
  auto kv = std::make_unique<MemHistoryKv>();
  MemHistoryKv* raw = kv.get();
  auto h = History::Create(std::move(kv));
  ASSERT_TRUE(h.ok());
  raw->FailNextWrites(1);
  EXPECT_EQ((*h)->RecordItems(kMe, std::vector<wire::InboxItem>{Msg(1, kPeer, "a")}).code(), Code::kUnavailable);
  EXPECT_EQ((*h)->Stats()->messages, 0u);
}

// ---- LMDB ----

TEST(LmdbHistoryTest, SurvivesRestart) {
  const std::string dir = TempDir() + "/h";
  {
    auto h = History::Open(dir);
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    ASSERT_TRUE((*h)->RecordItems(kMe, std::vector<wire::InboxItem>{Msg(1, kPeer, "kept"), Msg(2, kMe, "mine")}).ok());
    ASSERT_TRUE((*h)->RecordSend(kMe, PendingSend{3, kPeer, "in flight", 0, {}}).ok());
    ASSERT_TRUE((*h)->MarkRead(ChatId::Direct(kPeer), 1).ok());
  }
  auto h = History::Open(dir);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  auto page = (*h)->Messages(ChatId::Direct(kPeer));
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(Texts(*page), (std::vector<std::string>{"kept", "mine", "in flight"}));
  EXPECT_EQ((*page)[2].status, MessageStatus::kPending);
  EXPECT_EQ((*h)->ListChats().value()[0].read_seq, 1u);
  EXPECT_EQ((*h)->Owner().value(), kMe);
}

TEST(LmdbHistoryTest, RefusesWhatIsNotATernHistory) {
  const std::string root = TempDir();
  // A directory holding something else.
  ::mkdir((root + "/docs").c_str(), 0700);
  std::ofstream(root + "/docs/notes.txt") << "hello";
  auto a = History::Open(root + "/docs");
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), Code::kInvalidArgument);
  EXPECT_NE(a.status().message().find("not a Tern history"), std::string::npos) << a.status().ToString();
  // Another LMDB database (data but no tern-history meta record).
  {
    auto kv = OpenLmdbHistoryKv(root + "/other", {});
    ASSERT_TRUE(kv.ok());
    ASSERT_TRUE((*kv)->Write([](HistoryTxn& t) { return t.Put("users/1", "alice"); }).ok());
  }
  auto b = History::Open(root + "/other");
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), Code::kInvalidArgument);
  EXPECT_NE(b.status().message().find("not a Tern history"), std::string::npos) << b.status().ToString();
  // A data.mdb that is not LMDB at all.
  ::mkdir((root + "/junk").c_str(), 0700);
  std::ofstream(root + "/junk/data.mdb") << std::string(8192, 'x');
  EXPECT_FALSE(History::Open(root + "/junk").ok());
  // A regular file.
  std::ofstream(root + "/file") << "x";
  EXPECT_EQ(History::Open(root + "/file").status().code(), Code::kInvalidArgument);
}

TEST(LmdbHistoryTest, MapGrowsInsteadOfFillingUp) {
  const std::string dir = TempDir() + "/h";
  LmdbHistoryOptions o;
  o.initial_map_bytes = 64 << 10;  // 64 KiB: a few hundred messages
  auto h = History::Open(dir, o);
  ASSERT_TRUE(h.ok());
  const std::string text(300, 'x');
  for (uint64_t batch = 0; batch < 40; ++batch) {
    std::vector<wire::InboxItem> items;
    for (uint64_t i = 1; i <= 100; ++i) items.push_back(Msg(batch * 100 + i, kPeer, text));
    Status st = (*h)->RecordItems(kMe, items);
    ASSERT_TRUE(st.ok()) << "batch " << batch << ": " << st.ToString();
  }
  EXPECT_EQ((*h)->Stats()->messages, 4000u);
  // A bounded map: past max_map_bytes it is kNoSpace, not a crash, and nothing half-written.
  LmdbHistoryOptions tiny;
  tiny.initial_map_bytes = 64 << 10;
  tiny.max_map_bytes = 128 << 10;
  auto small = History::Open(TempDir() + "/small", tiny);
  ASSERT_TRUE(small.ok());
  std::vector<wire::InboxItem> big;
  for (uint64_t i = 1; i <= 1000; ++i) big.push_back(Msg(i, kPeer, text));
  EXPECT_EQ((*small)->RecordItems(kMe, big).code(), Code::kNoSpace);
  EXPECT_EQ((*small)->Stats()->messages, 0u);
}

}  // namespace
}  // namespace tern::tools
