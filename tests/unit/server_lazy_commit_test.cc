// Lazy commits in the server core (Config::store_lazy_commit_ms, server/core.h): a turn whose
// writes promise nothing durable defers its commit; the next turn that must sync, or the
// deadline, commits everything with one fsync; what was deferred is invisible to deliveries
// until then; a crash before that loses only what the client replays on Resume.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "server_social_util.h"

namespace tern::server::testing {
namespace {

constexpr uint32_t kLazyMs = 50;

struct Pair {
  Harness h;
  TestDevice a{h}, b{h};
  uint64_t next_seq = 0;

  Pair() : h(LazyConfig(), /*with_faults=*/false, /*lazy_commits=*/true) {
    h.Register(a, "+15550000001");
    h.Register(b, "+15550000002");
  }
  static Config LazyConfig() {
    Config c;
    c.store_lazy_commit_ms = kLazyMs;
    return c;
  }
  void Send(const std::string& text) {
    ++next_seq;
    a.SendMsg(wire::Send{next_seq, b.user_id, text, 0, 0});
    h.Turn();
    ASSERT_EQ(a.acks[next_seq].status, Code::kOk);
  }
};

TEST(ServerLazyCommit, AnAckOnlyTurnDefersItsCommitAndTheReceiptWaitsForTheDeadline) {
  Pair p;
  p.Send("hello");
  ASSERT_EQ(ChatItems(p.b).size(), 1u);
  const uint64_t commits = p.h.core->stats().commits;
  const uint64_t lazy = p.h.core->stats().lazy_turns;

  p.h.AckAll(p.b);  // only an InboxAck: nothing durable is promised to anyone
  EXPECT_EQ(p.h.core->stats().commits, commits) << "an ack-only turn must not fsync";
  EXPECT_EQ(p.h.core->stats().lazy_turns, lazy + 1);
  EXPECT_EQ(p.h.core->CommitDueMs(), p.h.now_ms + kLazyMs);
  EXPECT_TRUE(ReceiptItems(p.a).empty()) << "the delivered receipt is not committed yet";
  EXPECT_EQ(p.h.Stats().queue_items, 1u) << "other readers still see the committed queue";

  p.h.now_ms += kLazyMs - 1;
  p.h.Turn();  // before the deadline: still deferred
  EXPECT_EQ(p.h.core->stats().commits, commits);
  EXPECT_TRUE(ReceiptItems(p.a).empty());

  p.h.now_ms += 1;
  p.h.Turn();  // the loop wakes at CommitDueMs: one commit, then the receipt goes out
  EXPECT_EQ(p.h.core->stats().commits, commits + 1);
  EXPECT_EQ(p.h.core->CommitDueMs(), UINT64_MAX);
  ASSERT_EQ(ReceiptItems(p.a).size(), 1u);
  EXPECT_EQ(ReceiptItems(p.a)[0].receipt, wire::ReceiptType::kDelivered);
  EXPECT_EQ(p.h.Stats().messages, 0u) << "every device acked: the body is gone";
  EXPECT_EQ(p.h.Stats().queue_items, 1u) << "only the receipt waits for a's ack";
}

TEST(ServerLazyCommit, ASendCommitsTheDeferredWritesWithItsOwnSync) {
  Pair p;
  p.Send("one");
  p.h.AckAll(p.b);
  const uint64_t commits = p.h.core->stats().commits;
  ASSERT_NE(p.h.core->CommitDueMs(), UINT64_MAX);

  p.Send("two");  // its SendAck needs a sync: the deferred ack rides in the same commit
  EXPECT_EQ(p.h.core->stats().commits, commits + 1);
  EXPECT_EQ(p.h.core->CommitDueMs(), UINT64_MAX);
  EXPECT_EQ(ReceiptItems(p.a).size(), 1u) << "the receipt of 'one' left with the commit";
  ASSERT_EQ(ChatItems(p.b).size(), 2u);
  EXPECT_EQ(ChatItems(p.b)[1].text, "two");
}

TEST(ServerLazyCommit, ThePingOfAnAckTurnIsAnsweredAtOnceWithoutASync) {
  Pair p;
  p.Send("hello");
  const uint64_t commits = p.h.core->stats().commits;
  p.b.SendMsg(wire::InboxAck{p.b.last_seq});
  p.b.SendMsg(wire::Ping{77});
  p.h.Turn();
  EXPECT_EQ(p.h.core->stats().commits, commits);
  const auto* pong = LastOf<wire::Pong>(p.b);
  ASSERT_NE(pong, nullptr);
  EXPECT_EQ(pong->nonce, 77u);
}

TEST(ServerLazyCommit, TheDeliveryWindowReopensAtOnceOnADeferredAck) {
  Pair p;
  // b asks for a window of 2: the third message waits until b acks the first two.
  p.b.Drop();
  p.h.Resume(p.b, 0, 2);
  for (int i = 0; i < 3; ++i) p.Send("m" + std::to_string(i));
  ASSERT_EQ(ChatItems(p.b).size(), 2u);
  p.h.AckAll(p.b);  // deferred commit, but the window is in memory: m2 leaves now
  EXPECT_NE(p.h.core->CommitDueMs(), UINT64_MAX);
  ASSERT_EQ(ChatItems(p.b).size(), 3u);
  EXPECT_EQ(ChatItems(p.b)[2].text, "m2");
}

TEST(ServerLazyCommit, ACrashBeforeTheDeadlineLosesOnlyWhatResumeReplays) {
  Pair p;
  p.Send("hello");
  p.h.AckAll(p.b);
  ASSERT_NE(p.h.core->CommitDueMs(), UINT64_MAX);

  // Crash: the core vanishes with its open transaction (nothing of it reached the store).
  p.h.devices.clear();
  p.h.core.reset();
  p.h.core = std::make_unique<Core>(p.h.config, *p.h.env, p.h.entropy, p.h.sink);
  EXPECT_EQ(p.h.Stats().messages, 1u) << "the deferred deletion was lost with the crash";

  // b resumes from the seq it stored: the server deletes the item and the receipt follows.
  // (New TestDevices: the old ones belonged to the crashed core's connections.)
  auto reborn = [&](const TestDevice& old) {
    auto d = std::make_unique<TestDevice>(p.h);
    d->user_id = old.user_id;
    d->device_id = old.device_id;
    d->token = old.token;
    d->epoch = old.epoch;
    d->last_seq = old.last_seq;
    return d;
  };
  auto b2 = reborn(p.b);
  p.h.Resume(*b2);
  EXPECT_TRUE(ChatItems(*b2).empty()) << "no duplicate of the acknowledged item";
  auto a2 = reborn(p.a);
  p.h.Resume(*a2);
  p.h.now_ms += kLazyMs;
  p.h.Turn();
  ASSERT_EQ(ReceiptItems(*a2).size(), 1u) << "the delivered receipt was regenerated";
  EXPECT_EQ(ReceiptItems(*a2)[0].chat_seq, 1u);
}

TEST(ServerLazyCommit, ZeroMeansEveryTurnThatWroteCommits) {
  Config c;
  c.store_lazy_commit_ms = 0;
  Harness h(c, false, /*lazy_commits=*/true);
  TestDevice a{h}, b{h};
  h.Register(a, "+15550000001");
  h.Register(b, "+15550000002");
  a.SendMsg(wire::Send{1, b.user_id, "x", 0, 0});
  h.Turn();
  const uint64_t commits = h.core->stats().commits;
  h.AckAll(b);
  EXPECT_EQ(h.core->stats().commits, commits + 1);
  EXPECT_EQ(h.core->CommitDueMs(), UINT64_MAX);
  EXPECT_EQ(ReceiptItems(a).size(), 1u);
}

}  // namespace
}  // namespace tern::server::testing