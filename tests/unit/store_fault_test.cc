#include "store/fault_env.h"

#include <gtest/gtest.h>

#include "store/mailbox.h"
#include "store/mem_env.h"
#include "tests/unit/store_test_env.h"

namespace tern::store::testing {
namespace {

// A scenario of 5 counted ops: Begin(write), Put, Put, Del, Commit.
Status Scenario(KvEnv& env) {
  auto w = env.Begin(true);
  if (!w.ok()) return w.status();
  KvTxn& txn = *w.value();
  TERN_RETURN_IF_ERROR(txn.Put(Table::kMsgs, "a", "1"));
  auto got = txn.Get(Table::kMsgs, "a");  // reads are not counted
  if (!got.ok()) return got.status();
  TERN_RETURN_IF_ERROR(txn.Put(Table::kMsgs, "b", "2"));
  TERN_RETURN_IF_ERROR(txn.Del(Table::kMsgs, "seed"));
  return txn.Commit();
}

std::unique_ptr<FaultEnv> SeededFaultEnv() {
  auto env = std::make_unique<FaultEnv>(NewMemEnv());
  auto w = env->Begin(true);
  if (!w.ok() || !w.value()->Put(Table::kMsgs, "seed", "0").ok() || !w.value()->Commit().ok()) {
    std::abort();
  }
  env->ResetCount();
  return env;
}

uint64_t MsgCount(KvEnv& env) { return env.Stats()->entries[static_cast<size_t>(Table::kMsgs)]; }

TEST(FaultEnv, CountsWriteBeginsPutsDelsAndCommitsButNotReads) {
  auto env = SeededFaultEnv();
  TERN_ASSERT_OK(Scenario(*env));
  EXPECT_EQ(5u, env->ops());
  auto r = env->Begin(false);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r.value()->Get(Table::kMsgs, "a").ok());
  TERN_ASSERT_OK(r.value()->Scan(Table::kMsgs, "", [](auto, auto) { return true; }));
  TERN_ASSERT_OK(r.value()->Commit());
  EXPECT_EQ(5u, env->ops());
}

// CONVENTIONS rule 11: fail op i on run i; every run fails cleanly and leaves the store as it
// was, and the env works again afterwards.
TEST(FaultEnv, FailingEachOpInTurnLeavesTheStoreUnchanged) {
  for (uint64_t i = 1; i <= 5; ++i) {
    auto env = SeededFaultEnv();
    env->FailCommits(false, /*sticky=*/false);
    env->FailOpAt(i, Status(Code::kNoSpace, "injected"));
    const Status s = Scenario(*env);
    EXPECT_EQ(Code::kNoSpace, s.code()) << "op " << i;
    EXPECT_EQ(1u, MsgCount(*env)) << "op " << i;
    env->FailOpAt(0);
    TERN_EXPECT_OK(Scenario(*env));
    EXPECT_EQ(2u, MsgCount(*env));
  }
}

TEST(FaultEnv, FailedPutLeavesTheTxnUsable) {
  auto env = SeededFaultEnv();
  env->FailOpAt(2);
  auto w = env->Begin(true);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(Code::kUnavailable, w.value()->Put(Table::kMsgs, "x", "1").code());
  TERN_ASSERT_OK(w.value()->Put(Table::kMsgs, "y", "1"));
  TERN_ASSERT_OK(w.value()->Commit());
  EXPECT_EQ(2u, MsgCount(*env));
}

TEST(FaultEnv, CommitFailureIsStickyUntilHeal) {
  auto env = SeededFaultEnv();
  env->FailCommits(true);
  EXPECT_EQ(Code::kUnavailable, Scenario(*env).code());
  EXPECT_EQ(1u, MsgCount(*env));  // the failed commit wrote nothing
  env->FailCommits(false);
  auto w = env->Begin(true);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(Code::kUnavailable, w.status().code());
  auto r = env->Begin(false);  // reads still work
  EXPECT_TRUE(r.ok());
  r = Result<std::unique_ptr<KvTxn>>(Status(Code::kInternal, "dropped"));
  env->Heal();
  TERN_EXPECT_OK(Scenario(*env));
  EXPECT_EQ(2u, MsgCount(*env));
}

TEST(FaultEnv, FailedCommitAtChosenOpIsStickyToo) {
  auto env = SeededFaultEnv();
  env->FailOpAt(5, Status(Code::kUnavailable, "fsync failed"));
  EXPECT_EQ("fsync failed", Scenario(*env).message());
  auto w = env->Begin(true);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ("fsync failed", w.status().message());
}

TEST(FaultEnv, NonStickyCommitFailureOnlyFailsThatCommit) {
  auto env = SeededFaultEnv();
  env->FailCommits(true, /*sticky=*/false);
  EXPECT_EQ(Code::kUnavailable, Scenario(*env).code());
  env->FailCommits(false, false);
  TERN_EXPECT_OK(Scenario(*env));
}

// A send as the server core does it: one txn appends to two queues and records the dedupe
// result. Returns the first error (the txn is then aborted by its destructor).
Status SendOnce(KvEnv& env) {
  auto w = env.Begin(true);
  if (!w.ok()) return w.status();
  Mailbox mb(*w.value());
  MessageRecord m;
  m.msg_id = 77;
  m.text = "hi";
  m.expire_at_ms = 5000;
  const DeviceKey targets[] = {{2, 1}, {2, 2}};
  auto seqs = mb.Append(m, targets);
  if (!seqs.ok()) return seqs.status();
  TERN_RETURN_IF_ERROR(mb.PutSendResult(DeviceKey{1, 1}, 1, SendResult{0, 77, 1, 0}));
  return w.value()->Commit();
}

MailboxStats StatsOf(KvEnv& env) {
  auto r = env.Begin(false);
  if (!r.ok()) std::abort();
  auto s = Mailbox(*r.value()).Stats();
  if (!s.ok()) std::abort();
  return s.value();
}

// CONVENTIONS rule 11 on a real scenario: whichever op fails, the send is all or nothing, and
// the retry after Heal() applies it exactly once.
TEST(FaultEnv, SendIsAllOrNothingWhicheverOpFails) {
  auto make = [] {
    auto env = std::make_unique<FaultEnv>(NewMemEnv());
    auto w = env->Begin(true);
    Mailbox mb(*w.value());
    if (!mb.EnsureQueue({2, 1}, 1).ok() || !mb.EnsureQueue({2, 2}, 1).ok() ||
        !w.value()->Commit().ok()) {
      std::abort();
    }
    env->ResetCount();
    return env;
  };
  auto counting = make();
  TERN_ASSERT_OK(SendOnce(*counting));
  const uint64_t n = counting->ops();
  ASSERT_GT(n, 5u);
  for (uint64_t i = 1; i <= n; ++i) {
    auto env = make();
    env->FailOpAt(i);
    EXPECT_FALSE(SendOnce(*env).ok()) << "op " << i;
    EXPECT_EQ(0u, StatsOf(*env).messages) << "op " << i;
    EXPECT_EQ(0u, StatsOf(*env).queue_items) << "op " << i;
    env->FailOpAt(0);
    env->Heal();
    TERN_ASSERT_OK(SendOnce(*env));
    const MailboxStats s = StatsOf(*env);
    EXPECT_EQ(1u, s.messages);
    EXPECT_EQ(2u, s.queue_items);
    EXPECT_EQ(2u, s.refs);
    EXPECT_EQ(1u, s.expiry_entries);
  }
}

}  // namespace
}  // namespace tern::store::testing
