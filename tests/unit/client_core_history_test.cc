// ClientCore with a local history (in memory, no disk): sends, acks, deliveries and receipts
// are recorded without the app doing anything, and a history that cannot be written holds
// back the ack, like a state file that cannot be saved.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tools/client/client_core.h"

namespace tern::tools {
namespace {

constexpr uint64_t kMe = 10, kPeer = 20;

wire::InboxItem Item(uint64_t seq, uint64_t from, std::string text) {
  wire::InboxItem it;
  it.seq = seq;
  it.msg_id = 1000 + seq;
  it.sender_user = from;
  it.to_user = from == kMe ? kPeer : 0;  // 0 = "you" on the wire
  it.chat_seq = seq;
  it.server_ts_ms = 1000 * seq;
  it.text = std::move(text);
  return it;
}

class CoreHistoryTest : public ::testing::Test {
 protected:
  CoreHistoryTest() : store_(""), core_(&store_, ClientState{}, {}) {
    auto kv = std::make_unique<MemHistoryKv>();
    kv_ = kv.get();
    history_ = std::move(History::Create(std::move(kv))).value();
    core_.set_history(history_.get());
    core_.OnConnected(0);
    wire::Welcome w;
    w.user_id = kMe;
    w.device_id = 1;
    w.token = "secret";
    w.inbox_epoch = 1;
    EXPECT_TRUE(core_.OnMessage(w, 0).ok());
    core_.TakeOutgoing(0);
  }
  StateStore store_;
  ClientCore core_;
  MemHistoryKv* kv_;
  std::unique_ptr<History> history_;
};

TEST_F(CoreHistoryTest, SendAckAndReceiptsTickMyMessage) {
  Result<uint64_t> seq = core_.Send(kPeer, "hello");
  ASSERT_TRUE(seq.ok());
  auto sent = history_->FindSend(*seq);
  ASSERT_TRUE(sent.ok() && sent->has_value());
  EXPECT_EQ((*sent)->status, MessageStatus::kPending);

  ASSERT_TRUE(core_.OnMessage(wire::SendAck{*seq, Code::kOk, 77, 1, 5000}, 0).ok());
  EXPECT_EQ(history_->FindSend(*seq).value()->status, MessageStatus::kSent);

  wire::InboxItem read;
  read.seq = 1;
  read.kind = wire::ItemKind::kReceipt;
  read.receipt = wire::ReceiptType::kRead;
  read.sender_user = kPeer;
  read.chat_seq = 1;
  ASSERT_TRUE(core_.OnMessage(wire::Deliver{{read}}, 0).ok());
  auto msg = history_->Get(ChatId::Direct(kPeer), 1);
  ASSERT_TRUE(msg.ok() && msg->has_value());
  EXPECT_EQ((*msg)->status, MessageStatus::kRead);
  EXPECT_EQ((*msg)->text, "hello");
}

TEST_F(CoreHistoryTest, DeliveredItemsAreRecordedOnceEvenWhenReplayed) {
  wire::Deliver d{{Item(1, kPeer, "one"), Item(2, kMe, "from my phone"), Item(3, kPeer, "three")}};
  ASSERT_TRUE(core_.OnMessage(d, 0).ok());
  ASSERT_TRUE(core_.OnMessage(d, 0).ok());  // a replay after a drop
  auto page = history_->Messages(ChatId::Direct(kPeer));
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 3u);
  EXPECT_TRUE((*page)[1].outgoing);
  EXPECT_EQ(history_->ListChats().value()[0].unread, 2u);
}

TEST_F(CoreHistoryTest, UnwritableHistoryHoldsBackTheAck) {
  kv_->FailNextWrites(1);
  Status st = core_.OnMessage(wire::Deliver{{Item(1, kPeer, "one")}}, 0);
  EXPECT_EQ(st.code(), Code::kUnavailable);
  EXPECT_EQ(core_.state().last_inbox_seq, 0u);  // the server will send it again
  EXPECT_TRUE(core_.inbox().empty());
  for (const wire::Message& m : core_.TakeOutgoing(0)) EXPECT_FALSE(std::holds_alternative<wire::InboxAck>(m));
  // The redelivery is recorded and acked.
  ASSERT_TRUE(core_.OnMessage(wire::Deliver{{Item(1, kPeer, "one")}}, 0).ok());
  EXPECT_EQ(core_.state().last_inbox_seq, 1u);
  EXPECT_EQ(history_->Messages(ChatId::Direct(kPeer))->size(), 1u);

  kv_->FailNextWrites(1);
  EXPECT_EQ(core_.Send(kPeer, "x").status().code(), Code::kUnavailable);
  EXPECT_TRUE(core_.state().unacked.empty());  // nothing queued that the history lacks
}

}  // namespace
}  // namespace tern::tools
