// Receipts in the server core under a fake clock (wire/PROTOCOL.md §3.11): delivered marks set
// by the first device of the recipient to ack, read marks that reach the sender's devices and
// the reader's other devices, coalescing for offline devices, group receipts and GetReceipts,
// and no receipt lost to a failed commit or a lost ack.
#include <gtest/gtest.h>

#include <string>

#include "server_social_util.h"

namespace tern::server::testing {
namespace {

using wire::ReceiptType;

// Alice (a, a2) and Bob (b, b2), each with two devices, all online.
struct Chat {
  Harness h;
  TestDevice a{h}, a2{h}, b{h}, b2{h};
  uint32_t next_req = 100;
  std::map<TestDevice*, uint64_t> next_seq;

  explicit Chat(Config c = Config(), bool faults = false) : h(c, faults) {
    h.Register(a, "+15550000001");
    h.LinkDevice(a, a2);
    h.Register(b, "+15550000002");
    h.LinkDevice(b, b2);
  }
  // `n` messages from `from` to `to`, one turn; returns the chat seq of the last one.
  uint64_t SendN(TestDevice& from, uint64_t to, int n, uint64_t group = 0) {
    uint64_t& seq = next_seq[&from];
    const uint64_t first = seq + 1;
    for (int i = 0; i < n; ++i) {
      ++seq;
      from.SendMsg(wire::Send{seq, group != 0 ? 0 : to, "m" + std::to_string(seq), 0, group});
    }
    h.Turn();
    for (uint64_t s = first; s <= seq; ++s) EXPECT_EQ(from.acks[s].status, Code::kOk) << "client seq " << s;
    return from.acks[seq].chat_seq;
  }
  Code MarkRead(TestDevice& by, uint64_t peer, uint64_t group, uint64_t chat_seq) {
    const uint32_t req = next_req++;
    auto r = ReplyTo(h, by, wire::ReadMark{req, peer, group, chat_seq}, req);
    return r ? r->status : Code::kInternal;
  }
  wire::ReceiptList Receipts(TestDevice& by, uint64_t peer, uint64_t group) {
    const uint32_t req = next_req++;
    by.SendMsg(wire::GetReceipts{req, peer, group});
    h.Turn();
    const auto* l = LastOf<wire::ReceiptList>(by);
    EXPECT_NE(l, nullptr);
    if (l == nullptr) return {};
    EXPECT_EQ(l->req_id, req);
    return *l;
  }
};

Ticks MarkIn(const wire::ReceiptList& l, uint64_t user) {
  for (const auto& m : l.marks)
    if (m.user_id == user) return Ticks{m.delivered_seq, m.read_seq};
  ADD_FAILURE() << "no mark for user " << user;
  return {};
}

TEST(ServerReceipts, DeliveredReachesEveryDeviceOfTheSenderAndAnOfflineOneAfterReconnect) {
  Chat c;
  c.a2.Drop();
  EXPECT_EQ(c.SendN(c.a, c.b.user_id, 3), 3u);
  ASSERT_EQ(ChatItems(c.b).size(), 3u);
  c.h.AckAll(c.b);

  ASSERT_EQ(ReceiptItems(c.a).size(), 1u);
  const wire::InboxItem r = ReceiptItems(c.a)[0];
  EXPECT_EQ(r.receipt, ReceiptType::kDelivered);
  EXPECT_EQ(r.sender_user, c.b.user_id);
  EXPECT_EQ(r.to_user, 0u);  // "you" on the wire (PROTOCOL.md §3.3)
  EXPECT_EQ(r.chat_seq, 3u);
  EXPECT_EQ(r.group_id, 0u);

  c.h.Resume(c.a2);  // was offline when the mark moved: the receipt waited in its queue
  EXPECT_EQ(ReceiptItems(c.a2).size(), 1u);
  EXPECT_EQ(TicksOf(c.a2, c.b.user_id), (Ticks{3, 0}));
  // A delivered mark is for the sender; the recipient's own devices learn nothing.
  EXPECT_TRUE(ReceiptItems(c.b).empty());
  EXPECT_TRUE(ReceiptItems(c.b2).empty());
}

TEST(ServerReceipts, DeliveredIsSetByTheFirstDeviceToAckAndASecondDeviceMovesNothing) {
  Chat c;
  c.SendN(c.a, c.b.user_id, 3);
  c.b2.SendMsg(wire::InboxAck{2});  // b2 is first, with part of the chat
  c.h.Turn();
  EXPECT_EQ(TicksOf(c.a, c.b.user_id), (Ticks{2, 0}));
  c.h.AckAll(c.b);  // b is first to have the rest
  EXPECT_EQ(TicksOf(c.a, c.b.user_id), (Ticks{3, 0}));
  const size_t before = ReceiptItems(c.a).size();
  c.h.AckAll(c.b2);  // b2 catching up moves nothing
  EXPECT_EQ(ReceiptItems(c.a).size(), before);
  EXPECT_EQ(ReceiptItems(c.a2).size(), before);
  EXPECT_EQ(MarkIn(c.Receipts(c.a, c.b.user_id, 0), c.b.user_id), (Ticks{3, 0}));
}

TEST(ServerReceipts, ReadMarkReachesTheSenderAndTheReadersOtherDevicesButNotTheReadingDevice) {
  Chat c;
  c.SendN(c.a, c.b.user_id, 3);
  c.h.AckAll(c.b);
  EXPECT_EQ(c.MarkRead(c.b, c.a.user_id, 0, 2), Code::kOk);

  EXPECT_EQ(TicksOf(c.a, c.b.user_id), (Ticks{3, 2}));
  EXPECT_EQ(TicksOf(c.a2, c.b.user_id), (Ticks{3, 2}));
  // b2 learns that its user read up to 2 (unread counts agree on every device).
  auto mine = ReceiptItems(c.b2);
  ASSERT_EQ(mine.size(), 1u);
  EXPECT_EQ(mine[0].receipt, ReceiptType::kRead);
  EXPECT_EQ(mine[0].sender_user, c.b.user_id);
  EXPECT_EQ(mine[0].to_user, c.a.user_id);
  EXPECT_EQ(mine[0].chat_seq, 2u);
  EXPECT_TRUE(ReceiptItems(c.b).empty());
  EXPECT_EQ(MarkIn(c.Receipts(c.a, c.b.user_id, 0), c.b.user_id), (Ticks{3, 2}));
}

TEST(ServerReceipts, ReadMarkImpliesDelivered) {
  Chat c;
  c.SendN(c.a, c.b.user_id, 3);
  // b reads before any device acked (the ack was lost, or is still on its way).
  EXPECT_EQ(c.MarkRead(c.b, c.a.user_id, 0, 3), Code::kOk);
  EXPECT_EQ(MarkIn(c.Receipts(c.a, c.b.user_id, 0), c.b.user_id), (Ticks{3, 3}));
  ASSERT_EQ(ReceiptItems(c.a).size(), 1u);
  EXPECT_EQ(ReceiptItems(c.a)[0].receipt, ReceiptType::kRead);
  // The acks that follow tell the sender nothing new.
  c.h.AckAll(c.b);
  c.h.AckAll(c.b2);
  EXPECT_EQ(ReceiptItems(c.a).size(), 1u);
}

TEST(ServerReceipts, OlderOrRepeatedReadMarksChangeNothing) {
  Chat c;
  c.SendN(c.a, c.b.user_id, 3);
  EXPECT_EQ(c.MarkRead(c.b, c.a.user_id, 0, 3), Code::kOk);
  ASSERT_EQ(ReceiptItems(c.a).size(), 1u);
  ASSERT_EQ(ReceiptItems(c.b2).size(), 1u);
  EXPECT_EQ(c.MarkRead(c.b, c.a.user_id, 0, 3), Code::kOk);   // repeated (a retry)
  EXPECT_EQ(c.MarkRead(c.b2, c.a.user_id, 0, 1), Code::kOk);  // an older one from a laggard
  EXPECT_EQ(ReceiptItems(c.a).size(), 1u);
  EXPECT_EQ(ReceiptItems(c.a2).size(), 1u);
  EXPECT_EQ(ReceiptItems(c.b2).size(), 1u);
  EXPECT_TRUE(ReceiptItems(c.b).empty());
  EXPECT_EQ(MarkIn(c.Receipts(c.b, c.a.user_id, 0), c.b.user_id), (Ticks{3, 3}));
}

TEST(ServerReceipts, ReadMarkOutsideTheChatIsInvalidArgument) {
  Chat c;
  TestDevice x(c.h);
  const uint64_t xu = c.h.Register(x, "+15550000009");
  c.SendN(c.a, c.b.user_id, 3);
  EXPECT_EQ(c.MarkRead(c.b, c.a.user_id, 0, 0), Code::kInvalidArgument);
  EXPECT_EQ(c.MarkRead(c.b, c.a.user_id, 0, 4), Code::kInvalidArgument);  // beyond the chat
  EXPECT_EQ(c.MarkRead(c.b, xu, 0, 1), Code::kInvalidArgument);          // an empty chat
  EXPECT_EQ(c.MarkRead(c.b, 0, 0, 1), Code::kInvalidArgument);           // no chat named
  EXPECT_EQ(c.MarkRead(c.b, 987654321, 0, 1), Code::kNotFound);          // no such user
  EXPECT_TRUE(ReceiptItems(c.a).empty());
  EXPECT_TRUE(ReceiptItems(c.b2).empty());
  EXPECT_EQ(MarkIn(c.Receipts(c.a, c.b.user_id, 0), c.b.user_id), (Ticks{0, 0}));
}

TEST(ServerReceipts, ReadMarkOnAGroupYouAreNotInIsForbidden) {
  Chat c;
  TestDevice x(c.h);
  c.h.Register(x, "+15550000009");
  c.a.SendMsg(wire::CreateGroup{1, "g", {c.b.user_id}});
  c.h.Turn();
  const auto* info = LastOf<wire::GroupInfo>(c.a);
  ASSERT_NE(info, nullptr);
  const uint64_t g = info->group_id;
  c.SendN(c.a, 0, 2, g);
  EXPECT_EQ(c.MarkRead(x, 0, g, 1), Code::kForbidden);
  EXPECT_EQ(c.MarkRead(x, 0, g ^ 1, 1), Code::kForbidden);  // no such group: the same answer
  EXPECT_EQ(c.Receipts(x, 0, g).status, Code::kForbidden);
  EXPECT_EQ(c.MarkRead(c.b, c.a.user_id, g, 1), Code::kInvalidArgument);  // two chats named
  EXPECT_TRUE(ReceiptItems(c.a).empty());
}

TEST(ServerReceipts, OfflineSenderGetsOnlyTheNewestReceiptPerChatReaderAndType) {
  Chat c;
  TestDevice x(c.h);
  const uint64_t xu = c.h.Register(x, "+15550000009");
  c.SendN(c.a, c.b.user_id, 5);
  c.SendN(c.a, xu, 2);
  c.h.AckAll(c.a2);  // a2 holds a's own copies; acking them says nothing to anyone
  c.a.Drop();
  c.a2.Drop();
  c.b2.Drop();
  // Many moves while the sender's devices are away: five delivered and five read marks by b,
  // two and two by x.
  for (uint64_t i = 1; i <= 5; ++i) {
    c.b.SendMsg(wire::InboxAck{i});
    c.h.Turn();
    EXPECT_EQ(c.MarkRead(c.b, c.a.user_id, 0, i), Code::kOk);
  }
  for (uint64_t i = 1; i <= 2; ++i) {
    x.SendMsg(wire::InboxAck{i});
    c.h.Turn();
    EXPECT_EQ(c.MarkRead(x, c.a.user_id, 0, i), Code::kOk);  // the a-x chat has its own seqs
  }
  // a and a2: one delivered and one read receipt per reader (4 each); b2: its 5 message copies
  // and one read receipt; b and x hold nothing.
  EXPECT_EQ(c.h.Stats().queue_items, 4u + 4u + 6u);

  c.h.Resume(c.a);
  c.h.Resume(c.a2);
  c.h.Resume(c.b2);
  for (TestDevice* d : {&c.a, &c.a2}) {
    EXPECT_EQ(ReceiptItems(*d).size(), 4u);
    EXPECT_EQ(TicksOf(*d, c.b.user_id), (Ticks{5, 5}));
    EXPECT_EQ(TicksOf(*d, xu), (Ticks{2, 2}));
  }
  ASSERT_EQ(ReceiptItems(c.b2).size(), 1u);
  EXPECT_EQ(ReceiptItems(c.b2)[0].chat_seq, 5u);
}

// Alice (a, a2), Bob, Carol and Dan in one group created by Alice.
struct Group : Chat {
  TestDevice c{h}, d{h};
  uint64_t g = 0;
  Group() {
    h.Register(c, "+15550000003");
    h.Register(d, "+15550000004");
    a.SendMsg(wire::CreateGroup{1, "g", {b.user_id, c.user_id, d.user_id}});
    h.Turn();
    const auto* info = LastOf<wire::GroupInfo>(a);
    EXPECT_NE(info, nullptr);
    if (info != nullptr) g = info->group_id;
  }
  // Whether every member but `sender` has the mark at `seq` or beyond.
  bool AllReached(const wire::ReceiptList& l, uint64_t sender, uint64_t seq, bool read) {
    for (const auto& m : l.marks)
      if (m.user_id != sender && (read ? m.read_seq : m.delivered_seq) < seq) return false;
    return true;
  }
};

TEST(ServerReceipts, GroupReceiptsGoToTheMembersWhoSentAndListEveryMembersMarks) {
  Group t;
  const uint64_t from_a = t.SendN(t.a, 0, 1, t.g);  // chat seq 2 (1 is the creation)
  const uint64_t from_b = t.SendN(t.b, 0, 1, t.g);  // 3
  ASSERT_EQ(from_b, from_a + 1);

  t.h.AckAll(t.c);  // Carol has both messages
  for (TestDevice* s : {&t.a, &t.a2, &t.b, &t.b2}) {
    SCOPED_TRACE(s->user_id);
    EXPECT_EQ(TicksOf(*s, t.c.user_id, t.g), (Ticks{from_b, 0}));
  }
  EXPECT_TRUE(ReceiptItems(t.c).empty());
  EXPECT_TRUE(ReceiptItems(t.d).empty());  // Dan sent nothing: receipts are not his business

  EXPECT_EQ(t.MarkRead(t.d, 0, t.g, from_b), Code::kOk);
  EXPECT_EQ(TicksOf(t.a, t.d.user_id, t.g), (Ticks{from_b, from_b}));
  EXPECT_EQ(TicksOf(t.b, t.d.user_id, t.g), (Ticks{from_b, from_b}));
  EXPECT_EQ(TicksOf(t.c, t.d.user_id, t.g), (Ticks{}));

  // GetReceipts: every current member, so Alice can tell "delivered to all" / "read by all".
  auto l = t.Receipts(t.a, 0, t.g);
  EXPECT_EQ(l.status, Code::kOk);
  EXPECT_EQ(l.marks.size(), 4u);
  EXPECT_EQ(MarkIn(l, t.b.user_id), (Ticks{0, 0}));
  EXPECT_EQ(MarkIn(l, t.c.user_id), (Ticks{from_b, 0}));
  EXPECT_EQ(MarkIn(l, t.d.user_id), (Ticks{from_b, from_b}));
  EXPECT_FALSE(t.AllReached(l, t.a.user_id, from_a, false));  // Bob has not got it yet

  t.h.AckAll(t.b);  // Bob's device has Alice's message (his own never came back to it)
  EXPECT_EQ(TicksOf(t.a, t.b.user_id, t.g), (Ticks{from_a, 0}));
  l = t.Receipts(t.a, 0, t.g);
  EXPECT_TRUE(t.AllReached(l, t.a.user_id, from_a, false));
  EXPECT_FALSE(t.AllReached(l, t.a.user_id, from_a, true));
  EXPECT_EQ(t.MarkRead(t.b, 0, t.g, from_b), Code::kOk);
  EXPECT_EQ(t.MarkRead(t.c, 0, t.g, from_b), Code::kOk);
  l = t.Receipts(t.a, 0, t.g);
  EXPECT_TRUE(t.AllReached(l, t.a.user_id, from_a, true));
  EXPECT_FALSE(t.AllReached(l, t.b.user_id, from_b, true));  // Alice has not read Bob's
  EXPECT_EQ(t.MarkRead(t.a2, 0, t.g, from_b), Code::kOk);
  EXPECT_TRUE(t.AllReached(t.Receipts(t.b, 0, t.g), t.b.user_id, from_b, true));
  EXPECT_EQ(TicksOf(t.b, t.a.user_id, t.g), (Ticks{from_b, from_b}));
}

TEST(ServerReceipts, AMemberWhoWasRemovedHearsNoMoreReceipts) {
  Group t;
  t.SendN(t.b, 0, 1, t.g);  // Bob sent, chat seq 2
  t.a.SendMsg(wire::GroupChange{2, t.g, wire::GroupOp::kRemove, t.b.user_id, ""});
  t.h.Turn();
  ASSERT_EQ(LastOf<wire::Reply>(t.a)->status, Code::kOk);
  t.h.AckAll(t.c);
  EXPECT_EQ(t.MarkRead(t.c, 0, t.g, 3), Code::kOk);
  EXPECT_TRUE(ReceiptItems(t.b).empty());
  EXPECT_TRUE(ReceiptItems(t.b2).empty());
  EXPECT_EQ(t.Receipts(t.b, 0, t.g).status, Code::kForbidden);
  auto l = t.Receipts(t.a, 0, t.g);
  EXPECT_EQ(l.marks.size(), 3u);  // current members only
}

TEST(ServerReceipts, FailedCommitLosesNoReadMarkAndAnswersUnavailable) {
  Chat c(Config(), /*faults=*/true);
  c.SendN(c.a, c.b.user_id, 3);
  c.h.fault->FailCommits(true, /*sticky=*/false);
  EXPECT_EQ(c.MarkRead(c.b, c.a.user_id, 0, 3), Code::kUnavailable);
  c.h.fault->FailCommits(false);
  EXPECT_TRUE(ReceiptItems(c.a).empty());
  EXPECT_TRUE(ReceiptItems(c.b2).empty());
  EXPECT_EQ(MarkIn(c.Receipts(c.a, c.b.user_id, 0), c.b.user_id), (Ticks{0, 0}));
  // The client retries, as for any unavailable answer.
  EXPECT_EQ(c.MarkRead(c.b, c.a.user_id, 0, 3), Code::kOk);
  EXPECT_EQ(TicksOf(c.a, c.b.user_id), (Ticks{3, 3}));
  EXPECT_EQ(TicksOf(c.b2, c.b.user_id), (Ticks{3, 3}));
}

TEST(ServerReceipts, DeliveredSurvivesAnAckLostToAFailedCommit) {
  Chat c(Config(), /*faults=*/true);
  c.SendN(c.a, c.b.user_id, 3);
  c.h.fault->FailCommits(true, /*sticky=*/false);
  c.h.AckAll(c.b);  // the deletion and the mark are lost with the turn
  c.h.fault->FailCommits(false);
  EXPECT_TRUE(ReceiptItems(c.a).empty());
  // The client stored the items; its next Resume carries last_inbox_seq = 3 as the ack.
  c.b.Drop();
  c.h.Resume(c.b);
  EXPECT_EQ(TicksOf(c.a, c.b.user_id), (Ticks{3, 0}));
  EXPECT_EQ(TicksOf(c.a2, c.b.user_id), (Ticks{3, 0}));
}

TEST(ServerReceipts, DeliveredSurvivesAConnectionThatDiedBeforeItsAck) {
  Chat c;
  c.b2.Drop();
  c.SendN(c.a, c.b.user_id, 3);
  ASSERT_EQ(ChatItems(c.b).size(), 3u);
  c.b.Drop();  // stored the items, the InboxAck never left the phone
  c.h.Resume(c.b);
  EXPECT_EQ(TicksOf(c.a, c.b.user_id), (Ticks{3, 0}));
  // b2's and a2's copies of the messages, the receipt at a and a2.
  EXPECT_EQ(c.h.Stats().queue_items, 3u + 3u + 2u);
}

// Systematic fault injection (CONVENTIONS rule 11) over a receipts scenario: whatever store
// operation fails, once the store heals and the clients retry as the protocol says, the sender
// ends up with the final delivered and read marks, and the store agrees.
uint64_t RunReceiptScenario(uint64_t fail_at) {
  Harness h(Config(), /*with_faults=*/true);
  TestDevice a(h), b(h);
  h.Register(a, "+15550000001");
  const uint64_t bu = h.Register(b, "+15550000002");
  h.fault->ResetCount();
  if (fail_at) h.fault->FailOpAt(fail_at);
  uint32_t req = 1;

  for (uint64_t i = 1; i <= 3; ++i) a.SendMsg(wire::Send{i, bu, "m" + std::to_string(i)});
  h.Turn();
  if (b.connected()) h.AckAll(b);
  if (b.connected()) b.SendMsg(wire::ReadMark{req++, a.user_id, 0, 2});
  h.Turn();
  b.Drop();
  for (uint64_t i = 4; i <= 5; ++i)
    if (a.connected()) a.SendMsg(wire::Send{i, bu, "m" + std::to_string(i)});
  h.Turn();
  h.Resume(b);
  if (b.connected()) h.AckAll(b);
  const uint64_t ops = h.fault->ops();

  h.fault->Heal();
  bool read_ok = false;
  for (int round = 0; round < 4; ++round) {
    if (!a.connected()) h.Resume(a, 0);
    for (uint64_t i = 1; i <= 5; ++i) {
      auto it = a.acks.find(i);
      if (it == a.acks.end() || it->second.status != Code::kOk) a.SendMsg(wire::Send{i, bu, "m" + std::to_string(i)});
    }
    h.Turn();
    if (!b.connected()) h.Resume(b);
    h.AckAll(b);
    if (!read_ok) {
      const uint32_t r = req++;
      // Read up to 4 only: delivered up to 5 must then come from acks, not from the read mark.
      auto reply = ReplyTo(h, b, wire::ReadMark{r, a.user_id, 0, 4}, r);
      read_ok = reply && reply->status == Code::kOk;
    }
  }
  b.Drop();
  h.Resume(b);  // an ack lost with a failed turn is applied by the Resume
  a.Drop();
  h.Resume(a, 5);

  SCOPED_TRACE("fail_at=" + std::to_string(fail_at));
  EXPECT_TRUE(read_ok);
  EXPECT_EQ(TicksOf(a, bu), (Ticks{5, 4}));
  a.SendMsg(wire::GetReceipts{999, bu, 0});
  h.Turn();
  const auto* l = LastOf<wire::ReceiptList>(a);
  EXPECT_NE(l, nullptr);
  if (l != nullptr) {
    EXPECT_EQ(MarkIn(*l, bu), (Ticks{5, 4}));
  }
  return ops;
}

TEST(ServerReceipts, EveryStoreFailurePointLosesNoReceipt) {
  const uint64_t n = RunReceiptScenario(0);
  ASSERT_GT(n, 10u);
  for (uint64_t i = 1; i <= n; ++i) RunReceiptScenario(i);
}

}  // namespace
}  // namespace tern::server::testing
