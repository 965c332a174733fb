// Offline queues against the real ternd: batched drains, drops mid-drain, delete on ack.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/integration/client_util.h"
#include "tests/integration/server_util.h"

namespace tern::testing {
namespace {

// Inbox seqs consecutive from 1, chat seqs consecutive from `first_chat_seq`.
void ExpectGaplessInOrder(const Client& c, uint64_t first_chat_seq = 1) {
  for (size_t i = 0; i < c.inbox().size(); ++i) {
    const wire::InboxItem& it = c.inbox()[i];
    ASSERT_EQ(it.seq, i + 1) << "inbox item " << i;
    ASSERT_EQ(it.chat_seq, first_chat_seq + i) << "inbox item " << i;
  }
}

// Alice and Bob registered; Bob offline (closed) with `bob_core` options for later resumes.
struct OfflinePair {
  std::unique_ptr<Client> a, b;
  uint64_t bob_id = 0;
};
OfflinePair MakeOfflinePair(const TestServer& server, tools::ClientCore::Options bob_core = {}) {
  OfflinePair p;
  auto alice = RegisterUser(server, "+15550400001");
  EXPECT_TRUE(alice.ok()) << alice.status().ToString();
  auto bob = RegisterUser(server, "+15550400002", bob_core);
  EXPECT_TRUE(bob.ok()) << bob.status().ToString();
  if (!alice.ok() || !bob.ok()) return p;
  p.a = std::move(alice).value();
  p.b = std::move(bob).value();
  p.bob_id = p.b->state().user_id;
  p.b->Close();
  return p;
}

// Sends n messages from a to b and checks every one got a sent ack.
void SendAndAckAll(Client& a, uint64_t to, const std::vector<std::string>& texts) {
  auto seqs = SendAll(a, to, texts);
  ASSERT_TRUE(seqs.ok()) << seqs.status().ToString();
  auto acks = WaitForAcks(a, *seqs);
  ASSERT_TRUE(acks.ok()) << acks.status().ToString();
  for (size_t i = 0; i < acks->size(); ++i) {
    ASSERT_EQ((*acks)[i].status, Code::kOk) << "message " << i;
    ASSERT_EQ((*acks)[i].chat_seq, i + 1) << "message " << i;
  }
}

TEST(DeliveryTest, OfflineRecipientGetsQueueInOrderInBatches) {
  TestServer server;
  ASSERT_TRUE(server.Start().ok());
  OfflinePair p = MakeOfflinePair(server);
  ASSERT_TRUE(p.a && p.b);
  const std::vector<std::string> texts = Texts("queued", 500);
  SendAndAckAll(*p.a, p.bob_id, texts);
  ASSERT_FALSE(::testing::Test::HasFatalFailure());

  ASSERT_TRUE(p.b->Resume().ok());
  ASSERT_TRUE(p.b->WaitForItems(500, kWaitMs).ok());
  ASSERT_TRUE(p.b->RoundTrip(kWaitMs).ok());
  EXPECT_EQ(InboxTexts(*p.b), texts);
  ExpectGaplessInOrder(*p.b);
  for (const wire::InboxItem& it : p.b->inbox()) {
    EXPECT_EQ(it.sender_user, p.a->state().user_id);
  }
  const auto& n = p.b->counters();
  EXPECT_EQ(n.duplicates_dropped, 0u);
  EXPECT_LT(n.deliver_frames, 500u) << "the drain must batch items into frames";
  EXPECT_GT(n.max_items_per_frame, 1u);
  RecordProperty("deliver_frames", static_cast<int>(n.deliver_frames));
}

TEST(DeliveryTest, RecipientDroppingMidDrainResumesWithoutGapOrDuplicate) {
  TestServer server;
  ASSERT_TRUE(server.Start().ok());
  tools::ClientCore::Options small_window;
  small_window.max_inflight = 20;  // the drain needs many ack round trips
  OfflinePair p = MakeOfflinePair(server, small_window);
  ASSERT_TRUE(p.a && p.b);
  const std::vector<std::string> texts = Texts("drain", 300);
  SendAndAckAll(*p.a, p.bob_id, texts);
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  Client& b = *p.b;

  // Drop 1: a reset after some acked frames.
  ASSERT_TRUE(b.Resume().ok());
  ASSERT_TRUE(b.WaitForItems(50, kWaitMs).ok());
  b.Abort(/*rst=*/true);
  size_t after_first = b.inbox().size();
  ASSERT_LT(after_first, texts.size()) << "the drain finished before the drop";

  // Drop 2: items stored but their InboxAck never sent; the resume position must cover them.
  b.core().options().auto_ack = false;
  ASSERT_TRUE(b.Resume().ok());
  ASSERT_TRUE(b.WaitForItems(after_first + 1, kWaitMs).ok());
  b.Abort(/*rst=*/false);

  b.core().options().auto_ack = true;
  ASSERT_TRUE(b.Resume().ok());
  ASSERT_TRUE(b.WaitForItems(texts.size(), kWaitMs).ok());
  ASSERT_TRUE(b.RoundTrip(kWaitMs).ok());
  EXPECT_EQ(InboxTexts(b), texts);
  ExpectGaplessInOrder(b);
}

TEST(DeliveryTest, StoreHoldsNoMessagesAfterAllDevicesAck) {
  TestServer server;
  ASSERT_TRUE(server.Start().ok());
  OfflinePair p = MakeOfflinePair(server);
  ASSERT_TRUE(p.a && p.b);
  SendAndAckAll(*p.a, p.bob_id, Texts("gone", 20));
  ASSERT_FALSE(::testing::Test::HasFatalFailure());

  auto before = server.Stats();
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  EXPECT_EQ((*before)["messages"], 20u);
  EXPECT_EQ((*before)["queue_items"], 20u);
  EXPECT_EQ((*before)["users"], 2u);
  EXPECT_EQ((*before)["devices"], 2u);

  ASSERT_TRUE(p.b->Resume().ok());
  ASSERT_TRUE(p.b->WaitForItems(20, kWaitMs).ok());
  // After the round trip the server has read every InboxAck; the deletes commit with the next
  // group commit, so watch the store (bounded) until it is empty.
  ASSERT_TRUE(p.b->RoundTrip(kWaitMs).ok());
  std::map<std::string, uint64_t> stats;
  const uint64_t deadline = tools::SteadyNowMs() + kWaitMs;
  do {
    auto s = server.Stats();
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    stats = *s;
  } while (stats["messages"] != 0 && tools::SteadyNowMs() < deadline);
  EXPECT_EQ(stats["messages"], 0u);
  // What is left is alice's delivered receipt: one, however many acks moved the mark (a newer
  // receipt replaces a still-queued one).
  EXPECT_EQ(stats["queue_items"], 1u);
  ASSERT_TRUE(p.a->Resume().ok());
  ASSERT_TRUE(p.a->WaitUntil([&] { return !p.a->receipts().empty(); }, kWaitMs, "a receipt").ok());
  ASSERT_EQ(p.a->receipts().size(), 1u);
  EXPECT_EQ(p.a->receipts()[0].chat_seq, 20u);
  EXPECT_EQ(p.a->core().MarkOf(p.bob_id, 0, p.bob_id).delivered, 20u);
  ASSERT_TRUE(p.a->RoundTrip(kWaitMs).ok());
  const uint64_t deadline2 = tools::SteadyNowMs() + kWaitMs;
  do {
    auto s = server.Stats();
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    stats = *s;
  } while (stats["queue_items"] != 0 && tools::SteadyNowMs() < deadline2);
  EXPECT_EQ(stats["queue_items"], 0u);
  EXPECT_EQ(stats["refs"], 0u);
  EXPECT_EQ(stats["expiry_entries"], 0u);
  EXPECT_EQ(stats["users"], 2u);
  EXPECT_EQ(stats["devices"], 2u);
}

}  // namespace
}  // namespace tern::testing
