// Online 1:1 chat against the real ternd: sent acks, delivery, refusals.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/integration/client_util.h"
#include "tests/integration/server_util.h"

namespace tern::testing {
namespace {

TEST(ChatTest, TwoDevicesChatOnline) {
  TestServer server;
  ASSERT_TRUE(server.Start().ok());
  auto alice = RegisterUser(server, "+15550100001");
  ASSERT_TRUE(alice.ok()) << alice.status().ToString();
  auto bob = RegisterUser(server, "+15550100002");
  ASSERT_TRUE(bob.ok()) << bob.status().ToString();
  Client& a = **alice;
  Client& b = **bob;
  ASSERT_NE(a.state().user_id, b.state().user_id);

  Result<uint64_t> bob_id = a.ResolvePhone("+15550100002");
  ASSERT_TRUE(bob_id.ok()) << bob_id.status().ToString();
  EXPECT_EQ(*bob_id, b.state().user_id);
  Result<uint64_t> nobody = a.ResolvePhone("+15550100009");
  ASSERT_TRUE(nobody.ok());
  EXPECT_EQ(*nobody, 0u);

  Result<uint64_t> seq = a.Send(*bob_id, "hello bob");
  ASSERT_TRUE(seq.ok());
  Result<wire::SendAck> ack = a.WaitForAck(*seq, kWaitMs);
  ASSERT_TRUE(ack.ok()) << ack.status().ToString();
  EXPECT_EQ(ack->status, Code::kOk);
  EXPECT_NE(ack->msg_id, 0u);
  EXPECT_EQ(ack->chat_seq, 1u);

  ASSERT_TRUE(b.WaitForItems(1, kWaitMs).ok());
  const wire::InboxItem& got = b.inbox()[0];
  EXPECT_EQ(got.kind, wire::ItemKind::kMessage);
  EXPECT_EQ(got.text, "hello bob");
  EXPECT_EQ(got.sender_user, a.state().user_id);
  EXPECT_EQ(got.sender_device, a.state().device_id);
  EXPECT_EQ(got.to_user, b.state().user_id);
  EXPECT_EQ(got.msg_id, ack->msg_id);
  EXPECT_EQ(got.chat_seq, ack->chat_seq);

  // The reply travels the other way in the same chat order.
  Result<uint64_t> reply = b.Send(a.state().user_id, "hi alice");
  ASSERT_TRUE(reply.ok());
  Result<wire::SendAck> reply_ack = b.WaitForAck(*reply, kWaitMs);
  ASSERT_TRUE(reply_ack.ok()) << reply_ack.status().ToString();
  EXPECT_EQ(reply_ack->status, Code::kOk);
  EXPECT_EQ(reply_ack->chat_seq, 2u);
  ASSERT_TRUE(a.WaitForItems(1, kWaitMs).ok());
  EXPECT_EQ(a.inbox()[0].text, "hi alice");
  EXPECT_EQ(a.inbox()[0].sender_user, b.state().user_id);
  EXPECT_EQ(a.inbox()[0].chat_seq, 2u);

  // Nothing else arrives: exactly one item each.
  ASSERT_TRUE(a.RoundTrip(kWaitMs).ok());
  ASSERT_TRUE(b.RoundTrip(kWaitMs).ok());
  EXPECT_EQ(a.inbox().size(), 1u);
  EXPECT_EQ(b.inbox().size(), 1u);
}

TEST(ChatTest, SendWithFailingCommitGetsErrorNotSentAck) {
  // Find the smallest N for which both registrations commit: every later commit fails, so the
  // first one after registration is the message's. Bounded search, robust to how many commits
  // the server spends on registering.
  for (int n = 1; n <= 12; ++n) {
    SCOPED_TRACE("--test-fail-commits-after " + std::to_string(n));
    TestServer server({"--test-fail-commits-after", std::to_string(n)});
    ASSERT_TRUE(server.Start().ok());
    auto alice = RegisterUser(server, "+15550200001");
    if (!alice.ok()) continue;
    auto bob = RegisterUser(server, "+15550200002");
    if (!bob.ok()) continue;
    Client& a = **alice;
    Client& b = **bob;

    Result<uint64_t> seq = a.Send(b.state().user_id, "never stored");
    ASSERT_TRUE(seq.ok());
    Result<wire::SendAck> ack = a.WaitForAck(*seq, kWaitMs);
    ASSERT_TRUE(ack.ok()) << ack.status().ToString();
    EXPECT_EQ(ack->status, Code::kUnavailable);
    EXPECT_EQ(ack->msg_id, 0u);

    // No sent ack follows, the message stays pending for a retry, and bob gets nothing.
    ASSERT_TRUE(a.RoundTrip(kWaitMs).ok());
    EXPECT_EQ(a.counters().acks_received, 1u);
    EXPECT_EQ(a.core().ack_for(*seq)->status, Code::kUnavailable);
    ASSERT_EQ(a.state().unacked.size(), 1u);
    EXPECT_EQ(a.state().unacked[0].client_seq, *seq);
    ASSERT_TRUE(b.RoundTrip(kWaitMs).ok());
    EXPECT_TRUE(b.inbox().empty());
    EXPECT_EQ(b.counters().deliver_frames, 0u);

    auto stats = server.Stats();
    ASSERT_TRUE(stats.ok()) << stats.status().ToString();
    EXPECT_EQ((*stats)["messages"], 0u);
    EXPECT_EQ((*stats)["queue_items"], 0u);
    RecordProperty("commits_for_registration", n);
    return;
  }
  FAIL() << "registration never succeeded with up to 12 commits allowed";
}

TEST(ChatTest, QueueCapRefusesWithQueueFull) {
  TestServer server({"--queue-cap", "5"});
  ASSERT_TRUE(server.Start().ok());
  auto alice = RegisterUser(server, "+15550300001");
  ASSERT_TRUE(alice.ok()) << alice.status().ToString();
  auto bob = RegisterUser(server, "+15550300002");
  ASSERT_TRUE(bob.ok()) << bob.status().ToString();
  Client& a = **alice;
  Client& b = **bob;
  const uint64_t bob_id = b.state().user_id;
  b.Close();  // offline: his queue fills up

  auto seqs = SendAll(a, bob_id, Texts("cap", 8));
  ASSERT_TRUE(seqs.ok());
  auto acks = WaitForAcks(a, *seqs);
  ASSERT_TRUE(acks.ok()) << acks.status().ToString();
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ((*acks)[i].status, i < 5 ? Code::kOk : Code::kQueueFull) << "message " << i;
  }
  EXPECT_TRUE(a.state().unacked.empty()) << "queue_full is a final answer";

  // Bob gets exactly the five accepted ones; once he acked them, there is room again.
  ASSERT_TRUE(b.Resume().ok());
  ASSERT_TRUE(b.WaitForItems(5, kWaitMs).ok());
  ASSERT_TRUE(b.RoundTrip(kWaitMs).ok());
  EXPECT_EQ(InboxTexts(b), Texts("cap", 5));

  Result<uint64_t> more = a.Send(bob_id, "after drain");
  ASSERT_TRUE(more.ok());
  Result<wire::SendAck> more_ack = a.WaitForAck(*more, kWaitMs);
  ASSERT_TRUE(more_ack.ok());
  EXPECT_EQ(more_ack->status, Code::kOk);
  ASSERT_TRUE(b.WaitForItems(6, kWaitMs).ok());
  EXPECT_EQ(b.inbox()[5].text, "after drain");
}

}  // namespace
}  // namespace tern::testing
