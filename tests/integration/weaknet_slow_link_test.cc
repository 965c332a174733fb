// A phone on a thin link downloading a large batch is slow, not dead: while the bytes of one big
// Deliver frame trickle in, the client's dead-link timer must not fire (it counts bytes, not
// whole frames), or the phone would reconnect and restart the same batch forever.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/integration/client_util.h"
#include "tests/integration/server_util.h"
#include "tests/integration/weaknet_util.h"
#include "tools/client/reconnecting_client.h"

namespace tern::testing {
namespace {

// Text zstd cannot shrink much: the batch stays large on the wire.
std::string Noise(size_t n, uint64_t seed) {
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    s.push_back(static_cast<char>(33 + (seed >> 33) % 90));
  }
  return s;
}

TEST(WeaknetSlowLinkTest, BigBatchOverAThinLinkIsNotMistakenForADeadLink) {
  TestServer server;
  ASSERT_TRUE(server.Start().ok());
  auto alice = RegisterUser(server, "+15550960001");
  auto bob = RegisterUser(server, "+15550960002");
  ASSERT_TRUE(alice.ok() && bob.ok());
  const uint64_t bob_id = (*bob)->state().user_id, alice_id = (*alice)->state().user_id;
  (*bob)->Close();
  constexpr int kMessages = 30;
  std::vector<uint64_t> seqs;
  for (int i = 0; i < kMessages; ++i) {
    auto seq = (*alice)->Send(bob_id, Noise(1000, static_cast<uint64_t>(i)));
    ASSERT_TRUE(seq.ok());
    seqs.push_back(*seq);
  }
  for (uint64_t s : seqs) ASSERT_TRUE((*alice)->WaitForAck(s, 10000).ok());

  // 64 kbit/s down: the ~25 KB batch takes about 3 s, far above the 1-1.5 s dead-link timeout.
  WeaknetProxy proxy(server.port(), {"--delay-ms", "50", "--down-rate-kbps", "64"},
                     server.root() + "/weaknet.log");
  ASSERT_TRUE(proxy.Start().ok());
  (*bob)->set_server("127.0.0.1", proxy.port());
  tools::ReconnectingClient::Options o;
  o.policy.dead_min_ms = 1000;
  o.policy.dead_max_ms = 1500;
  o.policy.rtt_initial_ms = 100;
  tools::ReconnectingClient rc(bob->get(), o);
  bool sent = false;
  const uint64_t deadline = tools::SteadyNowMs() + 30000;
  while (tools::SteadyNowMs() < deadline && (*bob)->inbox().size() < static_cast<size_t>(kMessages)) {
    ASSERT_TRUE(rc.Poll(50).ok());
    // Waiting for an answer arms the dead-link timer: its SendAck queues behind the batch.
    if (!sent && (*bob)->authenticated()) sent = rc.Send(alice_id, "reading...").ok();
  }
  EXPECT_EQ((*bob)->inbox().size(), static_cast<size_t>(kMessages));
  EXPECT_EQ(rc.counters().dead_links, 0u) << "a slow download was declared a dead link";
  EXPECT_EQ(rc.counters().connects, 1u);
  auto report = proxy.Report();
  ASSERT_TRUE(report.ok());
  EXPECT_GT(report->down_bytes, 20000u) << report->line;  // the batch really was big
}

}  // namespace
}  // namespace tern::testing
