// Offline drains against the real ternd, counted in round trips: the issue-3 goal is that 1000
// queued short messages reach a reconnecting phone in at most 3 round trips.
//
// A round trip here is one flight from the client that the server must answer before more
// items can come: the Resume, then each InboxAck that reopens the window. The client holds its
// acks (auto_ack off) and sends one only once everything the window allows has arrived, so
// every round trip is visible and none hides in a pipelined stream.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/integration/client_util.h"
#include "tests/integration/server_util.h"
#include "wire/compress.h"

namespace tern::testing {
namespace {

struct Drain {
  int round_trips = 0;
  uint64_t deliver_frames = 0;
  uint64_t max_items_per_frame = 0;
  uint64_t deliver_wire_bytes = 0;
  uint64_t deliver_body_bytes = 0;
};

// Queues `n` short messages for an offline Bob, then resumes Bob with `core` and drains.
Drain QueueAndDrain(size_t n, tools::ClientCore::Options core) {
  Drain d;
  TestServer server;
  EXPECT_TRUE(server.Start().ok());
  auto alice = RegisterUser(server, "+15552000001");
  core.auto_ack = false;
  auto bob = RegisterUser(server, "+15552000002", core);
  EXPECT_TRUE(alice.ok() && bob.ok());
  if (!alice.ok() || !bob.ok()) return d;
  Client& a = **alice;
  Client& b = **bob;
  b.Close();
  std::vector<std::string> texts;
  for (size_t i = 0; i < n; ++i) texts.push_back("msg " + std::to_string(i) + " ok 👍");
  auto seqs = SendAll(a, b.state().user_id, texts);
  EXPECT_TRUE(seqs.ok());
  auto acks = WaitForAcks(a, *seqs);
  EXPECT_TRUE(acks.ok()) << acks.status().ToString();

  auto w = b.Resume();  // round trip 1: Resume -> Welcome + the first window of items
  EXPECT_TRUE(w.ok()) << w.status().ToString();
  if (!w.ok()) return d;
  d.round_trips = 1;
  const size_t window = w->max_inflight;
  size_t acked = 0;
  for (;;) {
    const size_t expect = std::min(n, acked + window);
    Status st = b.WaitUntil([&] { return b.inbox().size() >= expect; }, kWaitMs, "window");
    EXPECT_TRUE(st.ok()) << st.ToString();
    if (!st.ok() || b.inbox().size() >= n) break;
    EXPECT_TRUE(b.AckInbox().ok());  // the next round trip reopens the window
    acked = b.inbox().size();
    ++d.round_trips;
  }
  EXPECT_TRUE(b.AckInbox().ok());
  EXPECT_TRUE(b.RoundTrip(kWaitMs).ok());
  EXPECT_EQ(b.inbox().size(), n);
  for (size_t i = 0; i < b.inbox().size(); ++i) EXPECT_EQ(b.inbox()[i].text, texts[i]);
  d.deliver_frames = b.counters().deliver_frames;
  d.max_items_per_frame = b.counters().max_items_per_frame;
  const auto& t = b.session()->traffic_in()[wire::Message(wire::Deliver{}).index()];
  d.deliver_wire_bytes = t.wire_bytes;
  d.deliver_body_bytes = t.body_bytes;
  return d;
}

TEST(DrainRoundTripsTest, ThousandQueuedMessagesDrainInOneRoundTripWithTheDefaultWindow) {
  Drain d = QueueAndDrain(1000, tools::ClientCore::Options{});
  ASSERT_FALSE(::testing::Test::HasFailure());
  std::printf("drain of 1000: %d round trip(s), %llu Deliver frames (up to %llu items), "
              "%llu wire bytes for %llu FlatBuffer bytes\n",
              d.round_trips, static_cast<unsigned long long>(d.deliver_frames),
              static_cast<unsigned long long>(d.max_items_per_frame),
              static_cast<unsigned long long>(d.deliver_wire_bytes),
              static_cast<unsigned long long>(d.deliver_body_bytes));
  EXPECT_LE(d.round_trips, 3);
  EXPECT_EQ(d.round_trips, 1) << "the default 1024-item window holds the whole queue";
  EXPECT_GT(d.max_items_per_frame, 100u) << "many items per frame";
  EXPECT_LT(d.deliver_wire_bytes * 3, d.deliver_body_bytes)
      << "a batch of similar items compresses together";
}

TEST(DrainRoundTripsTest, ASmallWindowCostsOneRoundTripPerWindow) {
  tools::ClientCore::Options small;
  small.max_inflight = 250;
  small.dict_ids = {};  // and no compression: the counts do not depend on it
  Drain d = QueueAndDrain(1000, small);
  ASSERT_FALSE(::testing::Test::HasFailure());
  EXPECT_EQ(d.round_trips, 4);
  EXPECT_EQ(d.deliver_wire_bytes, d.deliver_body_bytes + 4 * d.deliver_frames)
      << "uncompressed: every frame is its body plus a small header";
}

}  // namespace
}  // namespace tern::testing
