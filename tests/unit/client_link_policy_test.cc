// LinkPolicy (tools/client/link_policy.h): reconnect backoff with jitter, the dead-link
// timeout from the RTT estimate, heartbeat adaptation. Pure arithmetic on a fake clock.
#include <gtest/gtest.h>

#include <set>

#include "tools/client/link_policy.h"

namespace tern::tools {
namespace {

LinkPolicy::Options Opts() {
  LinkPolicy::Options o;
  o.backoff_initial_ms = 1000;
  o.backoff_max_ms = 16000;
  o.dead_min_ms = 2000;
  o.dead_max_ms = 30000;
  o.heartbeat_floor_ms = 30000;
  return o;
}

TEST(LinkPolicyTest, BackoffDoublesWithJitterUpToTheCap) {
  LinkPolicy p(Opts(), 1);
  uint64_t cap = 1000;
  for (int i = 0; i < 8; ++i) {
    uint64_t at = p.OnConnectFailed(0);
    EXPECT_GE(at, cap / 2) << "attempt " << i;
    EXPECT_LE(at, cap) << "attempt " << i;
    cap = std::min<uint64_t>(cap * 2, 16000);
  }
  EXPECT_EQ(p.failures_in_row(), 8u);
}

TEST(LinkPolicyTest, JitterSpreadsClientsApart) {
  std::set<uint64_t> at;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    LinkPolicy p(Opts(), seed);
    for (int i = 0; i < 3; ++i) p.OnConnectFailed(0);
    at.insert(p.OnConnectFailed(0));
  }
  EXPECT_GT(at.size(), 15u);  // not in lockstep
}

TEST(LinkPolicyTest, ASuccessfulSessionResetsTheBackoff) {
  LinkPolicy p(Opts(), 1);
  for (int i = 0; i < 5; ++i) p.OnConnectFailed(0);
  p.OnConnected(270000, 600);
  EXPECT_EQ(p.failures_in_row(), 0u);
  uint64_t at = p.OnDisconnected(100000, false);
  EXPECT_GE(at, 100500u);
  EXPECT_LE(at, 101000u);
}

TEST(LinkPolicyTest, DeadTimeoutFollowsTheRoundTripWithinBounds) {
  LinkPolicy p(Opts(), 1);
  p.OnConnected(270000, 100);  // loopback-fast: the floor applies
  for (int i = 0; i < 20; ++i) p.OnRttSample(100);
  EXPECT_EQ(p.dead_after_ms(), 2000u);
  LinkPolicy slow(Opts(), 1);
  slow.OnConnected(270000, 1200);  // 2G with stalls
  for (int i = 0; i < 20; ++i) slow.OnRttSample(1200);
  EXPECT_GE(slow.dead_after_ms(), 4800u);
  EXPECT_LE(slow.dead_after_ms(), 6000u);
  for (int i = 0; i < 50; ++i) slow.OnRttSample(60000);
  EXPECT_EQ(slow.dead_after_ms(), 30000u);
}

TEST(LinkPolicyTest, HeartbeatShrinksWhenIdleConnectionsDieAndRecoversSlowly) {
  LinkPolicy p(Opts(), 1);
  p.OnConnected(270000, 500);
  EXPECT_EQ(p.heartbeat_ms(), 270000u);
  p.OnDisconnected(0, /*idle=*/true);
  EXPECT_EQ(p.heartbeat_ms(), 180000u);
  p.OnConnected(270000, 500);
  EXPECT_EQ(p.heartbeat_ms(), 180000u);  // remembered across connections
  p.OnDisconnected(0, /*idle=*/false);   // a busy connection dropping says nothing about NATs
  EXPECT_EQ(p.heartbeat_ms(), 180000u);
  for (int i = 0; i < 10; ++i) p.OnDisconnected(0, true);
  EXPECT_EQ(p.heartbeat_ms(), 30000u);  // the floor
  p.OnConnected(270000, 500);
  for (int i = 0; i < 3; ++i) p.OnIdleHeartbeatAnswered();
  EXPECT_EQ(p.heartbeat_ms(), 37500u);
  for (int i = 0; i < 300; ++i) p.OnIdleHeartbeatAnswered();
  EXPECT_EQ(p.heartbeat_ms(), 270000u);  // never above what the server advertises
}

TEST(LinkPolicyTest, AServerThatLowersItsHeartbeatIsObeyed) {
  LinkPolicy p(Opts(), 1);
  p.OnConnected(270000, 500);
  p.OnConnected(60000, 500);
  EXPECT_EQ(p.heartbeat_ms(), 60000u);
}

}  // namespace
}  // namespace tern::tools
