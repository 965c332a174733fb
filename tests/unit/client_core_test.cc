// ClientCore against scripted server messages: no sockets, no clock.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tools/client/client_core.h"

namespace tern::tools {
namespace {

constexpr uint64_t kMe = 10, kPeer = 20;

wire::Welcome NewDeviceWelcome() {
  wire::Welcome w;
  w.user_id = kMe;
  w.device_id = 1;
  w.token = "secret";
  w.inbox_epoch = 77;
  w.heartbeat_ms = 1000;
  return w;
}

wire::Welcome ResumeWelcome(uint64_t client_seq_high, uint32_t epoch = 77) {
  wire::Welcome w = NewDeviceWelcome();
  w.token.clear();
  w.inbox_epoch = epoch;
  w.client_seq_high = client_seq_high;
  return w;
}

wire::InboxItem Item(uint64_t seq, std::string text = "") {
  wire::InboxItem it;
  it.seq = seq;
  it.msg_id = 1000 + seq;
  it.sender_user = kPeer;
  it.to_user = kMe;
  it.chat_seq = seq;
  it.text = text.empty() ? "m" + std::to_string(seq) : text;
  return it;
}

wire::Deliver Frame(std::vector<uint64_t> seqs) {
  wire::Deliver d;
  for (uint64_t s : seqs) d.items.push_back(Item(s));
  return d;
}

wire::SendAck Ack(uint64_t seq, Code status = Code::kOk) {
  wire::SendAck a;
  a.client_seq = seq;
  a.status = status;
  a.msg_id = 500 + seq;
  a.chat_seq = seq;
  return a;
}

template <typename T>
std::vector<T> Only(const std::vector<wire::Message>& msgs) {
  std::vector<T> out;
  for (const auto& m : msgs) {
    if (const T* t = std::get_if<T>(&m)) out.push_back(*t);
  }
  return out;
}

std::vector<uint64_t> SendSeqs(const std::vector<wire::Message>& msgs) {
  std::vector<uint64_t> out;
  for (const auto& s : Only<wire::Send>(msgs)) out.push_back(s.client_seq);
  return out;
}

class ClientCoreTest : public ::testing::Test {
 protected:
  ClientCoreTest() : store_(""), core_(&store_, ClientState{}, {}) {}

  // A registered, connected core (a fresh device after Verify).
  void Register() {
    core_.OnConnected(0);
    ASSERT_TRUE(core_.OnMessage(NewDeviceWelcome(), 0).ok());
    core_.TakeOutgoing(0);
  }
  // Drop the connection and resume; returns what the core queued after Welcome.
  std::vector<wire::Message> Reconnect(const wire::Welcome& w) {
    core_.OnDisconnected(Status(Code::kUnavailable, "drop"));
    core_.OnConnected(0);
    EXPECT_TRUE(core_.OnMessage(w, 0).ok());
    return core_.TakeOutgoing(0);
  }

  StateStore store_;
  ClientCore core_;
};

TEST_F(ClientCoreTest, NewDeviceWelcomeStoresCredentials) {
  Register();
  EXPECT_TRUE(core_.authenticated());
  EXPECT_TRUE(core_.state().registered());
  EXPECT_EQ(core_.state().user_id, kMe);
  EXPECT_EQ(core_.state().token, "secret");
  EXPECT_EQ(core_.state().inbox_epoch, 77u);
  wire::Resume r = core_.MakeResume();
  EXPECT_EQ(r.user_id, kMe);
  EXPECT_EQ(r.device_id, 1u);
  EXPECT_EQ(r.inbox_epoch, 77u);
}

TEST_F(ClientCoreTest, SendIsStoredBeforeItIsQueued) {
  Register();
  uint64_t saves = store_.saves();
  Result<uint64_t> seq = core_.Send(kPeer, "hi");
  ASSERT_TRUE(seq.ok());
  EXPECT_EQ(*seq, 1u);
  EXPECT_EQ(store_.saves(), saves + 1);
  ASSERT_EQ(core_.state().unacked.size(), 1u);
  EXPECT_EQ(core_.state().next_client_seq, 2u);
  EXPECT_EQ(SendSeqs(core_.TakeOutgoing(0)), std::vector<uint64_t>{1});
}

TEST_F(ClientCoreTest, SendBeforeRegistrationIsRefused) {
  Result<uint64_t> seq = core_.Send(kPeer, "hi");
  EXPECT_EQ(seq.status().code(), Code::kInvalidArgument);
}

TEST_F(ClientCoreTest, SendWhileDisconnectedStaysPendingUntilResume) {
  Register();
  core_.OnDisconnected(Status(Code::kUnavailable, "drop"));
  ASSERT_TRUE(core_.Send(kPeer, "offline").ok());
  EXPECT_TRUE(core_.TakeOutgoing(0).empty());
  EXPECT_EQ(SendSeqs(Reconnect(ResumeWelcome(0))), std::vector<uint64_t>{1});
}

TEST_F(ClientCoreTest, AcksDropSendsAndAdvanceContiguousHigh) {
  Register();
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(core_.Send(kPeer, "x").ok());
  core_.TakeOutgoing(0);
  ASSERT_TRUE(core_.OnMessage(Ack(2), 0).ok());
  EXPECT_EQ(core_.state().last_acked_client_seq, 0u);  // 1 is still unanswered
  ASSERT_TRUE(core_.OnMessage(Ack(1), 0).ok());
  EXPECT_EQ(core_.state().last_acked_client_seq, 2u);
  ASSERT_TRUE(core_.OnMessage(Ack(4, Code::kQueueFull), 0).ok());  // final refusal
  EXPECT_EQ(core_.state().last_acked_client_seq, 2u);
  ASSERT_TRUE(core_.OnMessage(Ack(3), 0).ok());
  EXPECT_EQ(core_.state().last_acked_client_seq, 4u);
  EXPECT_TRUE(core_.state().unacked.empty());
  ASSERT_NE(core_.ack_for(4), nullptr);
  EXPECT_EQ(core_.ack_for(4)->status, Code::kQueueFull);
  EXPECT_EQ(core_.MakeResume().last_acked_client_seq, 4u);
}

TEST_F(ClientCoreTest, ResumeResendsOnlySendsAboveClientSeqHighInOrder) {
  Register();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(core_.Send(kPeer, "m" + std::to_string(i)).ok());
  core_.TakeOutgoing(0);
  ASSERT_TRUE(core_.OnMessage(Ack(1), 0).ok());
  // The server recorded 2 and 3 but their acks were lost with the connection.
  std::vector<wire::Message> out = Reconnect(ResumeWelcome(3));
  EXPECT_EQ(SendSeqs(out), (std::vector<uint64_t>{4, 5}));
  EXPECT_EQ(Only<wire::Send>(out)[0].text, "m3");
  EXPECT_EQ(core_.counters().resends, 2u);
  // The replayed acks for 2 and 3 settle them.
  ASSERT_TRUE(core_.OnMessage(Ack(2), 0).ok());
  ASSERT_TRUE(core_.OnMessage(Ack(3), 0).ok());
  EXPECT_EQ(core_.state().last_acked_client_seq, 3u);
  EXPECT_EQ(core_.state().unacked.size(), 2u);
}

TEST_F(ClientCoreTest, UnavailableRefusalStaysPendingAndIsRetriedOnResume) {
  Register();
  ASSERT_TRUE(core_.Send(kPeer, "a").ok());
  ASSERT_TRUE(core_.Send(kPeer, "b").ok());
  core_.TakeOutgoing(0);
  ASSERT_TRUE(core_.OnMessage(Ack(1, Code::kUnavailable), 0).ok());
  ASSERT_TRUE(core_.OnMessage(Ack(2), 0).ok());
  EXPECT_EQ(core_.state().unacked.size(), 1u);
  EXPECT_EQ(core_.state().last_acked_client_seq, 0u);
  // client_seq_high is 2, but 1 was never recorded by the server: it goes again.
  EXPECT_EQ(SendSeqs(Reconnect(ResumeWelcome(2))), std::vector<uint64_t>{1});
}

TEST_F(ClientCoreTest, ClientSeqHighAboveOurCounterIsNeverReused) {
  Register();
  Reconnect(ResumeWelcome(9));
  Result<uint64_t> seq = core_.Send(kPeer, "x");
  ASSERT_TRUE(seq.ok());
  EXPECT_EQ(*seq, 10u);
}

TEST_F(ClientCoreTest, DeliverHandsNewItemsToAppAndAcksCumulatively) {
  Register();
  std::vector<uint64_t> seen;
  core_.set_item_callback([&](const wire::InboxItem& it) { seen.push_back(it.seq); });
  ASSERT_TRUE(core_.OnMessage(Frame({1, 2, 3}), 0).ok());
  EXPECT_EQ(seen, (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(core_.state().last_inbox_seq, 3u);
  auto acks = Only<wire::InboxAck>(core_.TakeOutgoing(0));
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].seq, 3u);
  EXPECT_EQ(core_.counters().deliver_frames, 1u);
  EXPECT_EQ(core_.counters().max_items_per_frame, 3u);
}

TEST_F(ClientCoreTest, ItemsAtOrBelowStoredSeqAreDroppedAsDuplicates) {
  Register();
  ASSERT_TRUE(core_.OnMessage(Frame({1, 2, 3}), 0).ok());
  Reconnect(ResumeWelcome(0));
  ASSERT_TRUE(core_.OnMessage(Frame({2, 3, 4}), 0).ok());
  ASSERT_EQ(core_.inbox().size(), 4u);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(core_.inbox()[i].seq, i + 1);
  EXPECT_EQ(core_.counters().duplicates_dropped, 2u);
  EXPECT_EQ(core_.counters().items_received, 4u);
}

TEST_F(ClientCoreTest, AllDuplicateFrameIsAckedOnlyUpToWhatItCarried) {
  Register();
  ASSERT_TRUE(core_.OnMessage(Frame({1, 2, 3, 4}), 0).ok());
  core_.TakeOutgoing(0);
  ASSERT_TRUE(core_.OnMessage(Frame({1, 2}), 0).ok());
  auto acks = Only<wire::InboxAck>(core_.TakeOutgoing(0));
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].seq, 2u);
  EXPECT_EQ(core_.inbox().size(), 4u);
}

TEST_F(ClientCoreTest, ChangedEpochRestartsInboxPosition) {
  Register();
  ASSERT_TRUE(core_.OnMessage(Frame({1, 2, 3}), 0).ok());
  wire::Welcome w = ResumeWelcome(0, 88);
  w.epoch_changed = true;
  Reconnect(w);
  EXPECT_EQ(core_.state().inbox_epoch, 88u);
  EXPECT_EQ(core_.state().last_inbox_seq, 0u);
  ASSERT_TRUE(core_.welcome().has_value());
  EXPECT_TRUE(core_.welcome()->epoch_changed);
  ASSERT_TRUE(core_.OnMessage(Frame({1}), 0).ok());  // a new queue's seq 1 is not a duplicate
  EXPECT_EQ(core_.inbox().size(), 4u);
}

TEST_F(ClientCoreTest, ReceiptsOnlyFrameIsAckedWithTheNextWriteOrAfterTheDelay) {
  Register();
  core_.options().heartbeat_ms = 1000000;  // no heartbeat Ping in the way
  auto receipts = [](std::vector<uint64_t> seqs) {
    wire::Deliver d = Frame(std::move(seqs));
    for (auto& it : d.items) {
      it.kind = wire::ItemKind::kReceipt;
      it.receipt = wire::ReceiptType::kDelivered;
    }
    return d;
  };
  ASSERT_TRUE(core_.OnMessage(receipts({1, 2}), 1000).ok());
  EXPECT_TRUE(core_.TakeOutgoing(1000).empty());  // no packet of its own
  EXPECT_EQ(core_.receipts().size(), 2u);
  // The next frame written anyway carries it: here a Ping.
  core_.SendPing();
  auto out = core_.TakeOutgoing(1001);
  auto acks = Only<wire::InboxAck>(out);
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].seq, 2u);
  // With nothing else to write, it goes alone once receipt_ack_delay_ms has passed.
  ASSERT_TRUE(core_.OnMessage(receipts({3}), 2000).ok());
  core_.Tick(2000 + core_.options().receipt_ack_delay_ms - 1);
  EXPECT_TRUE(Only<wire::InboxAck>(core_.TakeOutgoing(2000)).empty());
  EXPECT_EQ(core_.NextDeadline(), 2000 + core_.options().receipt_ack_delay_ms);
  core_.Tick(2000 + core_.options().receipt_ack_delay_ms);
  acks = Only<wire::InboxAck>(core_.TakeOutgoing(2000 + core_.options().receipt_ack_delay_ms));
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].seq, 3u);
  // A frame with a message in it is acked at once, receipts included.
  wire::Deliver mixed = receipts({4});
  mixed.items.push_back(Frame({5}).items[0]);
  ASSERT_TRUE(core_.OnMessage(mixed, 30000).ok());
  acks = Only<wire::InboxAck>(core_.TakeOutgoing(30000));
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].seq, 5u);
}

TEST_F(ClientCoreTest, ManualAckHoldsInboxAckUntilAsked) {
  core_.options().auto_ack = false;
  Register();
  ASSERT_TRUE(core_.OnMessage(Frame({1, 2}), 0).ok());
  EXPECT_TRUE(Only<wire::InboxAck>(core_.TakeOutgoing(0)).empty());
  core_.AckInbox();
  auto acks = Only<wire::InboxAck>(core_.TakeOutgoing(0));
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].seq, 2u);
}

TEST_F(ClientCoreTest, PingIsAnsweredWithPong) {
  Register();
  ASSERT_TRUE(core_.OnMessage(wire::Ping{99}, 0).ok());
  auto pongs = Only<wire::Pong>(core_.TakeOutgoing(0));
  ASSERT_EQ(pongs.size(), 1u);
  EXPECT_EQ(pongs[0].nonce, 99u);
}

TEST_F(ClientCoreTest, ErrorEndsSessionWithItsCode) {
  Register();
  Status st = core_.OnMessage(wire::Error{Code::kBadCredentials, "unlinked"}, 0);
  EXPECT_EQ(st.code(), Code::kBadCredentials);
  EXPECT_FALSE(core_.authenticated());
  EXPECT_EQ(core_.last_error().code(), Code::kBadCredentials);
}

TEST_F(ClientCoreTest, HeartbeatPingGoesOutOnlyAfterIdleInterval) {
  Register();  // heartbeat_ms = 1000, last output at t=0
  EXPECT_EQ(core_.NextDeadline(), 1000u);
  core_.Tick(999);
  EXPECT_TRUE(core_.TakeOutgoing(999).empty());
  core_.Tick(1000);
  std::vector<wire::Message> out = core_.TakeOutgoing(1000);
  ASSERT_EQ(Only<wire::Ping>(out).size(), 1u);
  EXPECT_EQ(core_.NextDeadline(), 2000u);
  uint64_t nonce = Only<wire::Ping>(out)[0].nonce;
  EXPECT_FALSE(core_.pong_received(nonce));
  ASSERT_TRUE(core_.OnMessage(wire::Pong{nonce}, 1001).ok());
  EXPECT_TRUE(core_.pong_received(nonce));
}

TEST_F(ClientCoreTest, RepliesAreMatchedByReqId) {
  Register();
  uint32_t a = core_.Request(wire::ResolvePhone{0, "+15550001"});
  uint32_t b = core_.Request(wire::ListDevices{});
  EXPECT_NE(a, b);
  auto out = core_.TakeOutgoing(0);
  ASSERT_EQ(Only<wire::ResolvePhone>(out).size(), 1u);
  EXPECT_EQ(Only<wire::ResolvePhone>(out)[0].req_id, a);
  ASSERT_TRUE(core_.OnMessage(wire::Resolved{a, 42}, 0).ok());
  EXPECT_FALSE(core_.TakeReply(b).has_value());
  std::optional<wire::Message> r = core_.TakeReply(a);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(std::get<wire::Resolved>(*r).user_id, 42u);
  EXPECT_FALSE(core_.TakeReply(a).has_value());
}

}  // namespace
}  // namespace tern::tools
