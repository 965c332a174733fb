// Receipts, presence and contact discovery against the real ternd (wire/PROTOCOL.md
// §3.11-§3.13): receipts that wait for an offline sender and coalesce in its queue, last-seen
// privacy through the SDK's Watch, and the discovery budget set by flags. Timing comes from
// small grace/budget flags and bounded waits, never from sleeps.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "tests/integration/client_util.h"
#include "tests/integration/server_util.h"

namespace tern::testing {
namespace {

using Marks = tools::ClientCore::Marks;

// Polls the store (`ternd --stats`) until queue_items == want or kWaitMs passes; returns the
// last count seen.
uint64_t WaitForQueueItems(const TestServer& server, uint64_t want) {
  const uint64_t deadline = tools::SteadyNowMs() + kWaitMs;
  uint64_t n = 0;
  do {
    auto s = server.Stats();
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    if (!s.ok()) return ~0ull;
    n = (*s)["queue_items"];
  } while (n != want && tools::SteadyNowMs() < deadline);
  return n;
}

struct Pair {
  std::unique_ptr<Client> a, b;
  uint64_t alice = 0, bob = 0;
};
Pair MakePair(const TestServer& server) {
  Pair p;
  auto a = RegisterUser(server, "+15550700001");
  auto b = RegisterUser(server, "+15550700002");
  EXPECT_TRUE(a.ok() && b.ok());
  if (!a.ok() || !b.ok()) return p;
  p.a = std::move(a).value();
  p.b = std::move(b).value();
  p.alice = p.a->state().user_id;
  p.bob = p.b->state().user_id;
  return p;
}

TEST(ReceiptsTest, ReceiptsReachAnOfflineSenderAfterItReconnects) {
  TestServer server;
  ASSERT_TRUE(server.Start().ok());
  Pair p = MakePair(server);
  ASSERT_TRUE(p.a && p.b);
  auto seqs = SendAll(*p.a, p.bob, Texts("tick", 3));
  ASSERT_TRUE(seqs.ok());
  auto acks = WaitForAcks(*p.a, *seqs);
  ASSERT_TRUE(acks.ok()) << acks.status().ToString();
  for (const auto& ack : *acks) EXPECT_EQ(ack.status, Code::kOk);  // one tick: sent
  p.a->Close();  // Alice's phone goes offline

  ASSERT_TRUE(p.b->WaitForItems(3, kWaitMs).ok());  // Bob's device acks them: delivered
  ASSERT_TRUE(p.b->RoundTrip(kWaitMs).ok());
  ASSERT_TRUE(p.b->MarkRead(p.alice, 0, (*acks)[1].chat_seq).ok());  // read up to the second

  ASSERT_TRUE(p.a->Resume().ok());
  Status st = p.a->WaitUntil(
      [&] {
        Marks m = p.a->core().MarkOf(p.bob, 0, p.bob);
        return m.delivered == (*acks)[2].chat_seq && m.read == (*acks)[1].chat_seq;
      },
      kWaitMs, "delivered 3 and read 2");
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_TRUE(p.a->RoundTrip(kWaitMs).ok());
  // However many acks moved Bob's delivered mark, Alice got one receipt of each kind.
  EXPECT_EQ(p.a->receipts().size(), 2u);
  EXPECT_EQ(p.a->inbox().size(), 0u);  // receipts are not chat history
}

TEST(ReceiptsTest, ReceiptsForAnOfflineSenderCoalesceInTheStore) {
  TestServer server;
  ASSERT_TRUE(server.Start().ok());
  Pair p = MakePair(server);
  ASSERT_TRUE(p.a && p.b);
  auto seqs = SendAll(*p.a, p.bob, Texts("n", 5));
  ASSERT_TRUE(seqs.ok());
  auto acks = WaitForAcks(*p.a, *seqs);
  ASSERT_TRUE(acks.ok());
  p.a->Close();
  ASSERT_TRUE(p.b->WaitForItems(5, kWaitMs).ok());
  for (const auto& ack : *acks) ASSERT_TRUE(p.b->MarkRead(p.alice, 0, ack.chat_seq).ok());
  ASSERT_TRUE(p.b->RoundTrip(kWaitMs).ok());
  // Five read marks and at least one delivered move, but Alice's queue holds one of each.
  EXPECT_EQ(WaitForQueueItems(server, 2), 2u);

  ASSERT_TRUE(p.a->Resume().ok());
  ASSERT_TRUE(p.a->WaitUntil([&] { return p.a->core().MarkOf(p.bob, 0, p.bob).read == 5; }, kWaitMs,
                             "read 5").ok());
  EXPECT_EQ(p.a->receipts().size(), 2u);
  // A receipts-only frame is acked lazily: the ack rides with the next frame Alice writes anyway
  // (here a Ping), not in a packet of its own.
  ASSERT_TRUE(p.a->RoundTrip(kWaitMs).ok());
  EXPECT_EQ(WaitForQueueItems(server, 0), 0u);  // acked by Alice's client: gone
}

TEST(ReceiptsTest, LastSeenFollowsPrivacyAndAReconnectingWatcherGetsTheSnapshot) {
  TestServer server({"--presence-offline-grace-ms", "200"});
  ASSERT_TRUE(server.Start().ok());
  Pair p = MakePair(server);
  ASSERT_TRUE(p.a && p.b);
  auto carol_r = RegisterUser(server, "+15550700003");
  ASSERT_TRUE(carol_r.ok());
  std::unique_ptr<Client> carol = std::move(carol_r).value();
  // Bob shares a chat with Alice; Alice found Carol: Carol is her contact, Bob is not.
  auto seq = p.a->Send(p.bob, "hi");
  ASSERT_TRUE(seq.ok() && p.a->WaitForAck(*seq, kWaitMs).ok());
  ASSERT_TRUE(p.a->SyncContacts({"+15550700003"}).ok());
  wire::SetProfile priv;
  priv.fields = wire::kProfileLastSeen;
  priv.last_seen = wire::Visibility::kContacts;
  ASSERT_TRUE(p.a->SetProfile(priv).ok());

  auto online = [&](Client& c) {
    auto it = c.core().presence().find(p.alice);
    return it != c.core().presence().end() && it->second.online;
  };
  for (Client* c : {p.b.get(), carol.get()}) {
    ASSERT_TRUE(c->Watch({p.alice}).ok());
    ASSERT_TRUE(c->WaitUntil([&] { return online(*c); }, kWaitMs, "alice online").ok());
  }
  p.a->Close();
  Status st = PollAll({p.b.get(), carol.get()}, [&] { return !online(*p.b) && !online(*carol); }, kWaitMs,
                      "alice offline at both watchers");
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(p.b->core().presence().at(p.alice).last_seen_ms, 0u);  // not her contact
  const uint64_t seen = carol->core().presence().at(p.alice).last_seen_ms;
  EXPECT_GT(seen, 0u);

  // Bob's phone drops and comes back: the SDK subscribes again and gets the current state.
  p.b->Close();
  const uint64_t updates = p.b->counters().presence_updates;
  ASSERT_TRUE(p.b->Resume().ok());
  ASSERT_TRUE(p.b->WaitUntil([&] { return p.b->counters().presence_updates > updates; }, kWaitMs,
                             "presence snapshot").ok());
  EXPECT_FALSE(online(*p.b));
  EXPECT_EQ(p.b->core().presence().at(p.alice).last_seen_ms, 0u);
  // Alice is back: both watchers see it.
  ASSERT_TRUE(p.a->Resume().ok());
  st = PollAll({p.a.get(), p.b.get(), carol.get()}, [&] { return online(*p.b) && online(*carol); }, kWaitMs,
               "alice online again");
  ASSERT_TRUE(st.ok()) << st.ToString();
}

TEST(ReceiptsTest, DiscoveryBudgetFromFlagsLimitsSyncContactsAndResolvePhone) {
  // A burst of 3, then one lookup every 100 ms.
  TestServer server({"--discovery-burst", "3", "--discovery-per-hour", "36000", "--discovery-max-batch", "3"});
  ASSERT_TRUE(server.Start().ok());
  Pair p = MakePair(server);
  ASSERT_TRUE(p.a && p.b);
  auto over = p.b->SyncContacts({"+1555", "+1556", "+1557", "+1558"});
  EXPECT_EQ(over.status().code(), Code::kInvalidArgument);
  auto found = p.b->SyncContacts({"+15550700001", "+15550709999", "+15550700002"});
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  ASSERT_EQ(found->size(), 1u);  // only the registered number, and not Bob's own
  EXPECT_EQ((*found)[0].user_id, p.alice);
  EXPECT_EQ((*found)[0].phone, "+15550700001");

  EXPECT_EQ(p.b->SyncContacts({"+15550700001"}).status().code(), Code::kRateLimited);
  EXPECT_EQ(p.b->ResolvePhone("+15550700001").status().code(), Code::kRateLimited);
  // Another user's budget is their own.
  auto alice_lookup = p.a->ResolvePhone("+15550700002");
  ASSERT_TRUE(alice_lookup.ok());
  EXPECT_EQ(*alice_lookup, p.bob);

  // The bucket refills: a lookup succeeds again within a bounded wait.
  Result<uint64_t> again = Status(Code::kRateLimited, "not yet");
  const uint64_t deadline = tools::SteadyNowMs() + kWaitMs;
  while (!again.ok() && again.status().code() == Code::kRateLimited && tools::SteadyNowMs() < deadline) {
    ASSERT_TRUE(p.b->Poll(20).ok());
    again = p.b->ResolvePhone("+15550700001");
  }
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, p.alice);
}

}  // namespace
}  // namespace tern::testing
