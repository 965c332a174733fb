// Server core under a fake clock and an in-memory store: the 1:1 path, durability of the sent
// ack, dedupe, offline batching, flow control and resume.
#include <gtest/gtest.h>

#include "server_harness.h"
#include "wire/compress.h"

namespace tern::server::testing {
namespace {

struct Pair {
  Harness h;
  TestDevice a{h}, b{h};
  explicit Pair(Config c = Config(), bool faults = false) : h(c, faults) {
    h.Register(a, "+15550000001");
    h.Register(b, "+15550000002");
  }
  void Send(TestDevice& from, uint64_t client_seq, uint64_t to, const std::string& text) {
    from.SendMsg(wire::Send{client_seq, to, text});
  }
};

TEST(ServerCore, TwoDevicesChatOnline) {
  Pair p;
  p.Send(p.a, 1, p.b.user_id, "hello");
  p.h.Turn();
  ASSERT_EQ(p.a.acks.count(1), 1u);
  EXPECT_EQ(p.a.acks[1].status, Code::kOk);
  EXPECT_EQ(p.a.acks[1].chat_seq, 1u);
  ASSERT_EQ(p.b.items.size(), 1u);
  EXPECT_EQ(p.b.items[0].text, "hello");
  EXPECT_EQ(p.b.items[0].sender_user, p.a.user_id);
  EXPECT_EQ(p.b.items[0].msg_id, p.a.acks[1].msg_id);

  p.Send(p.b, 1, p.a.user_id, "hi back");
  p.h.Turn();
  ASSERT_EQ(p.a.items.size(), 1u);
  EXPECT_EQ(p.a.items[0].text, "hi back");
  EXPECT_EQ(p.a.items[0].chat_seq, 2u);  // one chat, one order
}

TEST(ServerCore, SentAckIsHeldUntilTheTurnCommits) {
  Pair p;
  p.Send(p.a, 1, p.b.user_id, "hello");
  // Before EndTurn nothing has been released: not the ack, not the delivery.
  auto early = p.h.core->TakeOutgoing();
  for (const auto& o : early) EXPECT_TRUE(o.bytes.empty());
  EXPECT_EQ(p.a.acks.count(1), 0u);
  p.h.Turn();
  EXPECT_EQ(p.a.acks.count(1), 1u);
}

TEST(ServerCore, FailedCommitGivesUnavailableAndDeliversNothing) {
  Pair p(Config(), /*faults=*/true);
  p.h.fault->FailCommits(true, /*sticky=*/false);
  p.Send(p.a, 1, p.b.user_id, "lost?");
  p.h.Turn();
  ASSERT_EQ(p.a.acks.count(1), 1u);
  EXPECT_EQ(p.a.acks[1].status, Code::kUnavailable);
  EXPECT_TRUE(p.b.items.empty());
  EXPECT_EQ(p.h.Stats().messages, 0u);

  // The same client seq goes through once the store heals.
  p.h.fault->FailCommits(false);
  p.h.fault->Heal();
  p.Send(p.a, 1, p.b.user_id, "lost?");
  p.h.Turn();
  EXPECT_EQ(p.a.acks[1].status, Code::kOk);
  ASSERT_EQ(p.b.items.size(), 1u);
}

TEST(ServerCore, RetransmittedSendIsAnsweredFromDedupeAndDeliveredOnce) {
  Pair p;
  p.Send(p.a, 1, p.b.user_id, "once");
  p.h.Turn();
  auto first = p.a.acks[1];
  p.Send(p.a, 1, p.b.user_id, "once");
  p.h.Turn();
  EXPECT_EQ(p.a.acks[1].msg_id, first.msg_id);
  EXPECT_EQ(p.a.acks[1].chat_seq, first.chat_seq);
  EXPECT_EQ(p.b.items.size(), 1u);
}

TEST(ServerCore, SendRefusalsCarryTheReason) {
  Config c;
  c.max_text_bytes = 10;
  Pair p(c);
  p.Send(p.a, 1, 12345, "to nobody");
  p.Send(p.a, 2, p.b.user_id, "");
  p.Send(p.a, 3, p.b.user_id, std::string(11, 'x'));
  p.h.Turn();
  EXPECT_EQ(p.a.acks[1].status, Code::kNotFound);
  EXPECT_EQ(p.a.acks[2].status, Code::kInvalidArgument);
  EXPECT_EQ(p.a.acks[3].status, Code::kInvalidArgument);
  EXPECT_TRUE(p.b.items.empty());
}

TEST(ServerCore, OfflineRecipientGetsQueueInOrderInBatches) {
  Config c;
  c.deliver_max_items = 100;
  Pair p(c);
  p.b.Drop();
  for (uint64_t i = 1; i <= 500; ++i) p.Send(p.a, i, p.b.user_id, "m" + std::to_string(i));
  p.h.Turn();
  for (uint64_t i = 1; i <= 500; ++i) ASSERT_EQ(p.a.acks[i].status, Code::kOk);
  p.h.Resume(p.b, 0, 1000);
  ASSERT_EQ(p.b.items.size(), 500u);
  for (size_t i = 0; i < 500; ++i) {
    EXPECT_EQ(p.b.items[i].chat_seq, i + 1);
    EXPECT_EQ(p.b.items[i].text, "m" + std::to_string(i + 1));
  }
  EXPECT_EQ(p.b.deliver_frames, 5u);  // 100 items per frame
}

TEST(ServerCore, WindowLimitsItemsInFlightUntilAcked) {
  Pair p;
  p.b.Drop();
  for (uint64_t i = 1; i <= 25; ++i) p.Send(p.a, i, p.b.user_id, "x");
  p.h.Turn();
  p.h.Resume(p.b, 0, /*window=*/10);
  EXPECT_EQ(p.b.items.size(), 10u);
  p.h.AckAll(p.b);
  EXPECT_EQ(p.b.items.size(), 20u);
  p.h.AckAll(p.b);
  EXPECT_EQ(p.b.items.size(), 25u);
}

TEST(ServerCore, RecipientDroppingMidDrainResumesWithoutGapOrDuplicate) {
  Pair p;
  p.b.Drop();
  for (uint64_t i = 1; i <= 30; ++i) p.Send(p.a, i, p.b.user_id, std::to_string(i));
  p.h.Turn();
  p.h.Resume(p.b, 0, 10);  // gets 1..10, stores them, acks nothing, drops
  ASSERT_EQ(p.b.items.size(), 10u);
  p.b.Drop();
  p.h.Resume(p.b, 0, 100);  // resumes from last stored seq
  ASSERT_EQ(p.b.items.size(), 30u);
  for (size_t i = 0; i < 30; ++i) EXPECT_EQ(p.b.items[i].text, std::to_string(i + 1));
  EXPECT_FALSE(p.b.welcome->epoch_changed);
}

TEST(ServerCore, ResumeReplaysAcksTheSenderMissed) {
  Pair p;
  p.Send(p.a, 1, p.b.user_id, "one");
  p.Send(p.a, 2, p.b.user_id, "two");
  // The connection dies before the turn's output reaches the client.
  p.a.Drop();
  p.h.Turn();
  p.a.acks.clear();
  p.h.Resume(p.a, /*last_acked_client_seq=*/0);
  ASSERT_TRUE(p.a.welcome);
  EXPECT_EQ(p.a.welcome->client_seq_high, 2u);
  ASSERT_EQ(p.a.acks.size(), 2u);
  EXPECT_EQ(p.a.acks[1].status, Code::kOk);
  EXPECT_EQ(p.a.acks[2].status, Code::kOk);
  EXPECT_EQ(p.b.items.size(), 2u);
}

TEST(ServerCore, StoreHoldsNoMessagesOnceEveryDeviceAcked) {
  Pair p;
  TestDevice b2(p.h);
  p.h.LinkDevice(p.b, b2);
  for (uint64_t i = 1; i <= 5; ++i) p.Send(p.a, i, p.b.user_id, "x");
  p.h.Turn();
  EXPECT_EQ(p.h.Stats().messages, 5u);
  p.h.AckAll(p.b);
  EXPECT_EQ(p.h.Stats().messages, 5u);  // b2 still holds them
  p.h.AckAll(b2);
  // The sender's device holds one delivered receipt (up to chat seq 5: b got there first, b2
  // moved nothing) until it acks it too.
  ASSERT_EQ(p.a.items.size(), 1u);
  EXPECT_EQ(p.a.items[0].kind, wire::ItemKind::kReceipt);
  EXPECT_EQ(p.a.items[0].receipt, wire::ReceiptType::kDelivered);
  EXPECT_EQ(p.a.items[0].chat_seq, 5u);
  EXPECT_EQ(p.a.items[0].sender_user, p.b.user_id);
  p.h.AckAll(p.a);
  auto s = p.h.Stats();
  EXPECT_EQ(s.messages, 0u);
  EXPECT_EQ(s.queue_items, 0u);
  EXPECT_EQ(s.refs, 0u);
  EXPECT_EQ(s.expiry_entries, 0u);
}

TEST(ServerCore, AckBeyondWhatWasSentIsAProtocolViolation) {
  Pair p;
  p.b.SendMsg(wire::InboxAck{99});
  p.h.Turn();
  ASSERT_TRUE(p.b.error);
  EXPECT_EQ(p.b.error->code, Code::kProtocol);
  EXPECT_TRUE(p.b.closed_by_server());
  // The other connection carries on.
  p.Send(p.a, 1, p.b.user_id, "still here");
  p.h.Turn();
  EXPECT_EQ(p.a.acks[1].status, Code::kOk);
}

}  // namespace
}  // namespace tern::server::testing

namespace tern::server::testing {
namespace {

// compression_dicts (a dictionary rolled back without a new build): the Welcome chooses only
// among the allowed ids, whatever the client offers; "none" turns compression off.
TEST(ServerCore, CompressionDictsLimitsWhatTheWelcomeChooses) {
  const std::vector<uint32_t> offer = wire::DefaultDictOffer();
  ASSERT_GE(offer.size(), 2u);
  ASSERT_EQ(offer.front(), wire::KnownDicts().front().id);
  struct Case {
    std::vector<uint32_t> allowed;
    uint32_t expect;
  };
  for (const Case& k : {Case{{}, offer.front()}, Case{{wire::kDictPlainZstd}, wire::kDictPlainZstd},
                        Case{{wire::kDictNone}, wire::kDictNone}}) {
    Config c;
    c.compression_dict_ids = k.allowed;
    Harness h(c);
    TestDevice a{h};
    a.Connect();
    a.SendMsg(wire::RequestCode{wire::kProtocolVersion, "+15550000001"});
    h.Turn();
    a.SendMsg(wire::Verify{wire::kProtocolVersion, "+15550000001", h.sink.codes["+15550000001"], "phone", 0, offer});
    h.Turn();
    ASSERT_TRUE(a.welcome.has_value());
    EXPECT_EQ(a.welcome->dict_id, k.expect);
    // Resume negotiates again under the same rule.
    a.Drop();
    a.Connect();
    a.SendMsg(wire::Resume{wire::kProtocolVersion, a.user_id, a.device_id, a.token, a.epoch, 0, 0, 0, offer});
    h.Turn();
    ASSERT_TRUE(a.welcome.has_value());
    EXPECT_EQ(a.welcome->dict_id, k.expect);
  }
}

}  // namespace
}  // namespace tern::server::testing
