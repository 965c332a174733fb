// tern-weaknet's sans-IO core: LinkShaper (latency, jitter, token bucket, stalls) and ConnCore
// (drops, black holes, byte cut), driven with a fake clock.
#include <gtest/gtest.h>

#include <string>

#include "tools/weaknet/conn_core.h"
#include "tools/weaknet/link_shaper.h"
#include "tools/weaknet/profile.h"

namespace tern::weaknet {
namespace {

constexpr uint64_t kMs = 1000;

// Pulls everything, jumping the clock to each deadline; returns the time the last byte left.
uint64_t DrainTimes(LinkShaper& s, std::string* out) {
  uint64_t t = 0;
  while (s.NextDeadline() != kNever) {
    t = s.NextDeadline();
    *out += s.Pull(t);
  }
  return t;
}

TEST(LinkShaperTest, UnshapedBytesPassAtOnce) {
  LinkShaper s(DirectionParams{}, 1);
  s.Push(5 * kMs, "hello");
  EXPECT_EQ(s.Pull(5 * kMs), "hello");
  EXPECT_EQ(s.NextDeadline(), kNever);
  EXPECT_EQ(s.stats().bytes_in, 5u);
  EXPECT_EQ(s.stats().bytes_out, 5u);
}

TEST(LinkShaperTest, DelayHoldsBytesForTheOneWayDelay) {
  DirectionParams p;
  p.delay_ms = 300;
  LinkShaper s(p, 1);
  s.Push(0, "abc");
  EXPECT_EQ(s.Pull(299 * kMs), "");
  EXPECT_EQ(s.NextDeadline(), 300 * kMs);
  EXPECT_EQ(s.Pull(300 * kMs), "abc");
}

TEST(LinkShaperTest, TokenBucketLimitsThroughputAfterTheBurst) {
  DirectionParams p;
  p.rate_bps = 40000;  // 5000 bytes/s
  p.burst_bytes = 0;
  LinkShaper s(p, 1);
  s.Push(0, std::string(50000, 'x'));
  std::string out;
  uint64_t last = DrainTimes(s, &out);
  EXPECT_EQ(out.size(), 50000u);
  EXPECT_NEAR(static_cast<double>(last), 10e6, 0.01e6);  // 10 s
  EXPECT_EQ(s.stats().segments, (50000 + kSegmentBytes - 1) / kSegmentBytes);
}

TEST(LinkShaperTest, BurstGoesOutAfterIdleThenRateApplies) {
  DirectionParams p;
  p.rate_bps = 8000;  // 1000 bytes/s
  p.burst_bytes = 1000;
  LinkShaper s(p, 1);
  s.Push(0, std::string(1000, 'a'));
  // The first segment starts at once; it is on the wire after its serialisation time.
  EXPECT_EQ(s.NextDeadline(), 1000 * kMs);
  s.Pull(1000 * kMs);
  // After 10 s idle the bucket is full again: a small segment is not queued behind anything.
  s.Push(10000 * kMs, std::string(100, 'b'));
  EXPECT_EQ(s.NextDeadline(), 10100 * kMs);
}

TEST(LinkShaperTest, JitterNeverReordersBytes) {
  DirectionParams p;
  p.delay_ms = 100;
  p.jitter_ms = 80;
  LinkShaper s(p, 42);
  std::string in;
  for (int i = 0; i < 200; ++i) {
    std::string chunk = std::to_string(i) + ",";
    in += chunk;
    s.Push(static_cast<uint64_t>(i) * kMs, chunk);
  }
  std::string out;
  DrainTimes(s, &out);
  EXPECT_EQ(out, in);
}

TEST(LinkShaperTest, LossStallsTheSegmentAndEverythingBehindIt) {
  DirectionParams p;
  p.delay_ms = 10;
  p.loss = 1.0;
  p.stall_ms = 500;
  LinkShaper s(p, 1);
  s.Push(0, "a");
  EXPECT_EQ(s.NextDeadline(), 510 * kMs);
  EXPECT_EQ(s.stats().stalls, 1u);
  EXPECT_EQ(s.stats().stall_ms, 500u);
  // A later segment cannot overtake the stalled one.
  p.loss = 0;
  LinkShaper t(p, 1);
  t.Push(0, "a");
  EXPECT_EQ(t.stats().stalls, 0u);
}

TEST(LinkShaperTest, PartialPullKeepsTheRemainder) {
  LinkShaper s(DirectionParams{}, 1);
  s.Push(0, "abcdef");
  EXPECT_EQ(s.Pull(0, 4), "abcd");
  EXPECT_EQ(s.held(), 2u);
  EXPECT_EQ(s.Pull(0), "ef");
}

TEST(LinkShaperTest, SameSeedGivesTheSameSchedule) {
  DirectionParams p;
  p.delay_ms = 50;
  p.jitter_ms = 40;
  p.loss = 0.2;
  p.stall_ms = 300;
  LinkShaper a(p, 7), b(p, 7), c(p, 8);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    std::string chunk(200, 'x');
    a.Push(static_cast<uint64_t>(i) * kMs, chunk);
    b.Push(static_cast<uint64_t>(i) * kMs, chunk);
    c.Push(static_cast<uint64_t>(i) * kMs, chunk);
    EXPECT_EQ(a.NextDeadline(), b.NextDeadline());
    differs |= a.NextDeadline() != c.NextDeadline();
  }
  EXPECT_EQ(a.stats().stalls, b.stats().stalls);
  EXPECT_TRUE(differs || a.stats().stalls != c.stats().stalls);
}

TEST(ConnCoreTest, PeriodicDropResetsAtItsTimeAndLosesHeldBytes) {
  Profile p;
  p.up.delay_ms = 100;
  p.faults.drop_every_ms = 1000;
  ConnCore c(p, 1, 0);
  EXPECT_EQ(c.drop_at_us(), 1000 * kMs);
  c.OnData(Dir::kUp, 950 * kMs, "late");
  c.Tick(999 * kMs);
  EXPECT_EQ(c.state(), ConnCore::State::kForwarding);
  c.Tick(1000 * kMs);
  EXPECT_EQ(c.state(), ConnCore::State::kReset);
  EXPECT_EQ(c.reason(), ConnCore::Reason::kDrop);
  EXPECT_EQ(c.stats(Dir::kUp).dropped, 4u);
  EXPECT_EQ(c.TakeOutput(Dir::kUp, 2000 * kMs), "");
  EXPECT_EQ(c.NextDeadline(), kNever);
}

TEST(ConnCoreTest, RandomDropFallsInsideTheInterval) {
  Profile p;
  p.faults.drop_min_ms = 5000;
  p.faults.drop_max_ms = 30000;
  for (uint64_t seed = 0; seed < 50; ++seed) {
    ConnCore c(p, seed, 1000 * kMs);
    EXPECT_GE(c.drop_at_us(), 6000 * kMs);
    EXPECT_LE(c.drop_at_us(), 31000 * kMs);
  }
}

TEST(ConnCoreTest, BlackHoleForwardsNothingAndCountsWhatItSwallows) {
  Profile p;
  p.faults.drop_every_ms = 10;
  p.faults.half_open = 1.0;
  ConnCore c(p, 1, 0);
  c.Tick(10 * kMs);
  ASSERT_EQ(c.state(), ConnCore::State::kBlackHole);
  c.OnData(Dir::kDown, 20 * kMs, "deliver");
  c.OnData(Dir::kUp, 20 * kMs, "ping");
  EXPECT_EQ(c.TakeOutput(Dir::kDown, 100 * kMs), "");
  EXPECT_EQ(c.TakeOutput(Dir::kUp, 100 * kMs), "");
  EXPECT_EQ(c.stats(Dir::kDown).dropped, 7u);
  EXPECT_EQ(c.stats(Dir::kUp).dropped, 4u);
}

TEST(ConnCoreTest, CutAfterNBytesForwardsExactlyNThenResets) {
  Profile p;
  p.faults.cut_after_bytes = 10;
  ConnCore c(p, 1, 0);
  c.OnData(Dir::kUp, 0, "123456");
  EXPECT_EQ(c.TakeOutput(Dir::kUp, 0), "123456");
  c.OnData(Dir::kDown, 0, "abcdefgh");
  EXPECT_EQ(c.TakeOutput(Dir::kDown, 0), "abcd");
  EXPECT_EQ(c.state(), ConnCore::State::kReset);
  EXPECT_EQ(c.reason(), ConnCore::Reason::kCut);
  EXPECT_EQ(c.stats(Dir::kDown).dropped, 4u);
}

TEST(ConnCoreTest, NoFaultsMeansNoDeadlineWhenIdle) {
  ConnCore c(Profile{}, 1, 0);
  EXPECT_EQ(c.NextDeadline(), kNever);
  c.ForceDrop(false);
  EXPECT_EQ(c.state(), ConnCore::State::kReset);
}

TEST(ProfileTest, NamedProfilesMatchTheirRoundTripAndRate) {
  Profile p;
  ASSERT_TRUE(NamedProfile("2g", &p));
  EXPECT_EQ(p.up.delay_ms + p.down.delay_ms, 600u);
  EXPECT_EQ(p.down.rate_bps, 40000u);
  ASSERT_TRUE(NamedProfile("3g", &p));
  EXPECT_EQ(p.up.delay_ms + p.down.delay_ms, 200u);
  EXPECT_EQ(p.down.rate_bps, 400000u);
  ASSERT_TRUE(NamedProfile("flaky", &p));
  EXPECT_EQ(p.faults.drop_min_ms, 5000u);
  EXPECT_EQ(p.faults.drop_max_ms, 30000u);
  ASSERT_TRUE(NamedProfile("edge-of-cell", &p));
  EXPECT_EQ(p.up.delay_ms + p.down.delay_ms, 600u);
  EXPECT_GT(p.faults.drop_max_ms, 0u);
  EXPECT_FALSE(NamedProfile("5g", &p));
}

}  // namespace
}  // namespace tern::weaknet
