// Session rules against the real ternd: liveness, flow control, replacement, durable sends.
#include <gtest/gtest.h>

#include <string>

#include "tests/integration/client_util.h"
#include "tests/integration/server_util.h"

namespace tern::testing {
namespace {

TEST(SessionTest, HeartbeatsKeepAnIdleClientConnectedAndSilenceIsDropped) {
  TestServer server({"--heartbeat-ms", "1000"});  // silent for 1.5 s: dropped
  ASSERT_TRUE(server.Start().ok());
  auto chatty = RegisterUser(server, "+15551000001");
  ASSERT_TRUE(chatty.ok()) << chatty.status().ToString();
  tools::ClientCore::Options mute;
  mute.heartbeat_ms = 600000;  // never pings within the test
  auto silent = RegisterUser(server, "+15551000002", mute);
  ASSERT_TRUE(silent.ok()) << silent.status().ToString();
  ASSERT_TRUE((*chatty)->welcome().has_value());
  EXPECT_EQ((*chatty)->welcome()->heartbeat_ms, 1000u);

  // Both are idle; only one pings. The silent one is closed by the server with Error{timeout}.
  Client& c = **chatty;
  Client& m = **silent;
  const uint64_t deadline = tools::SteadyNowMs() + kWaitMs;
  while (m.connected() && tools::SteadyNowMs() < deadline) {
    m.Poll(5).IgnoreError();  // the drop is checked below
    ASSERT_TRUE(c.Poll(5).ok()) << c.last_error().ToString();
  }
  EXPECT_FALSE(m.connected());
  EXPECT_EQ(m.last_error().code(), Code::kTimeout) << m.last_error().ToString();
  // The other stays connected for longer than the drop limit, on pings alone.
  Status idle = c.WaitUntil([] { return false; }, 2000, "nothing (idle period)");
  EXPECT_EQ(idle.code(), Code::kTimeout);
  EXPECT_TRUE(c.connected()) << c.last_error().ToString();
  EXPECT_GE(c.counters().pings_sent, 2u);
  EXPECT_GE(c.counters().pongs_received, 1u);
}

TEST(SessionTest, FlowControlWindowBoundsUnackedItems) {
  TestServer server({"--max-inflight", "16"});
  ASSERT_TRUE(server.Start().ok());
  auto alice = RegisterUser(server, "+15551100001");
  ASSERT_TRUE(alice.ok()) << alice.status().ToString();
  tools::ClientCore::Options greedy;
  greedy.max_inflight = 100;  // more than the server allows
  greedy.auto_ack = false;
  auto bob = RegisterUser(server, "+15551100002", greedy);
  ASSERT_TRUE(bob.ok()) << bob.status().ToString();
  Client& a = **alice;
  Client& b = **bob;
  EXPECT_EQ(b.welcome()->max_inflight, 16u) << "the window is clamped by the server";

  auto seqs = SendAll(a, b.state().user_id, Texts("window", 40));
  ASSERT_TRUE(seqs.ok());
  ASSERT_TRUE(WaitForAcks(a, *seqs).ok());
  // Without acks exactly one window arrives; each cumulative ack opens the next one.
  for (size_t expect : {16u, 32u, 40u}) {
    ASSERT_TRUE(b.WaitForItems(expect, kWaitMs).ok()) << "have " << b.inbox().size();
    ASSERT_TRUE(b.RoundTrip(kWaitMs).ok());
    EXPECT_EQ(b.inbox().size(), expect);
    ASSERT_TRUE(b.AckInbox().ok());
  }
  EXPECT_EQ(InboxTexts(b), Texts("window", 40));
}

TEST(SessionTest, SecondConnectionOfADeviceReplacesTheFirst) {
  TestServer server;
  ASSERT_TRUE(server.Start().ok());
  const std::string state = server.root() + "/phone.state";
  auto first = RegisterUser(server, "+15551200001", {}, state);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = Client::Create(server.ClientOptions(state));  // same credentials
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  ASSERT_TRUE((*second)->Resume().ok());

  Status replaced = (*first)->WaitUntil([] { return false; }, kWaitMs, "replacement");
  EXPECT_EQ(replaced.code(), Code::kReplaced) << replaced.ToString();
  EXPECT_FALSE((*first)->connected());
  EXPECT_TRUE((*second)->RoundTrip(kWaitMs).ok());
}

TEST(SessionTest, PendingSendSurvivesClientRestart) {
  TestServer server;
  ASSERT_TRUE(server.Start().ok());
  const std::string state = server.root() + "/alice.state";
  auto bob = RegisterUser(server, "+15551300002");
  ASSERT_TRUE(bob.ok()) << bob.status().ToString();
  const uint64_t bob_id = (*bob)->state().user_id;
  {
    auto alice = RegisterUser(server, "+15551300001", {}, state);
    ASSERT_TRUE(alice.ok()) << alice.status().ToString();
  }
  uint64_t seq = 0;
  {
    // The app writes a message while offline and dies before it ever connects.
    auto offline = Client::Create(server.ClientOptions(state));
    ASSERT_TRUE(offline.ok()) << offline.status().ToString();
    Result<uint64_t> s = (*offline)->Send(bob_id, "written offline");
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    seq = *s;
  }
  auto restarted = Client::Create(server.ClientOptions(state));
  ASSERT_TRUE(restarted.ok()) << restarted.status().ToString();
  ASSERT_EQ((*restarted)->state().unacked.size(), 1u);
  ASSERT_TRUE((*restarted)->Resume().ok());
  Result<wire::SendAck> ack = (*restarted)->WaitForAck(seq, kWaitMs);
  ASSERT_TRUE(ack.ok()) << ack.status().ToString();
  EXPECT_EQ(ack->status, Code::kOk);
  ASSERT_TRUE((*bob)->WaitForItems(1, kWaitMs).ok());
  EXPECT_EQ((*bob)->inbox()[0].text, "written offline");

  // The ack is in the state file too: a later run does not send it again.
  (*restarted)->Close();
  auto later = Client::Create(server.ClientOptions(state));
  ASSERT_TRUE(later.ok());
  EXPECT_TRUE((*later)->state().unacked.empty());
  EXPECT_EQ((*later)->state().last_acked_client_seq, seq);
}

}  // namespace
}  // namespace tern::testing
