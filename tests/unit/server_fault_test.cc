// Systematic fault injection (CONVENTIONS rule 11): run a chat scenario once through FaultEnv
// to count its store operations, then rerun it failing operation i on run i. After the store
// heals and the clients retry as the protocol says, every message the sender saw acked ok is
// delivered exactly once, in chat order, and the store ends empty.
#include <gtest/gtest.h>

#include <set>

#include "server_harness.h"

namespace tern::server::testing {
namespace {

constexpr uint64_t kMessages = 5;

struct Outcome {
  uint64_t ops = 0;
};

Outcome RunScenario(uint64_t fail_at) {
  Harness h(Config(), /*with_faults=*/true);
  TestDevice a(h), b(h);
  h.Register(a, "+15550000001");
  uint64_t bu = h.Register(b, "+15550000002");
  h.fault->ResetCount();
  if (fail_at) h.fault->FailOpAt(fail_at);

  // Scenario: three sends online, an ack, a drop, two sends offline, a resume and an ack.
  for (uint64_t i = 1; i <= 3; ++i) a.SendMsg(wire::Send{i, bu, "m" + std::to_string(i)});
  h.Turn();
  if (b.connected()) h.AckAll(b);
  b.Drop();
  for (uint64_t i = 4; i <= kMessages; ++i)
    if (a.connected()) a.SendMsg(wire::Send{i, bu, "m" + std::to_string(i)});
  h.Turn();
  h.Resume(b);
  if (b.connected()) h.AckAll(b);
  Outcome out{h.fault->ops()};

  // Recovery: the store heals; clients reconnect and retry what was not acked ok.
  h.fault->Heal();
  for (int round = 0; round < 4; ++round) {
    if (!a.connected()) h.Resume(a, 0);
    for (uint64_t i = 1; i <= kMessages; ++i) {
      auto it = a.acks.find(i);
      if (it == a.acks.end() || it->second.status != Code::kOk)
        a.SendMsg(wire::Send{i, bu, "m" + std::to_string(i)});
    }
    h.Turn();
    if (!b.connected()) h.Resume(b);
    h.AckAll(b);
  }

  // An ack lost with a failed turn is applied by the next Resume (it carries last_inbox_seq).
  b.Drop();
  h.Resume(b);
  // The sender's device takes its delivered receipt the same way.
  a.Drop();
  h.Resume(a, kMessages);
  h.AckAll(a);
  a.Drop();
  h.Resume(a, kMessages);

  SCOPED_TRACE("fail_at=" + std::to_string(fail_at));
  std::set<uint64_t> acked_ids;
  for (uint64_t i = 1; i <= kMessages; ++i) {
    EXPECT_EQ(a.acks[i].status, Code::kOk) << "client seq " << i;
    acked_ids.insert(a.acks[i].msg_id);
  }
  std::set<uint64_t> got;
  uint64_t last_chat_seq = 0;
  for (const auto& it : b.items) {
    EXPECT_TRUE(got.insert(it.msg_id).second) << "duplicate msg " << it.msg_id;
    EXPECT_GT(it.chat_seq, last_chat_seq);
    last_chat_seq = it.chat_seq;
  }
  EXPECT_EQ(got, acked_ids);
  auto s = h.Stats();
  EXPECT_EQ(s.messages, 0u);
  EXPECT_EQ(s.queue_items, 0u);
  return out;
}

TEST(ServerFault, EveryStoreFailurePointLosesAndDuplicatesNothing) {
  uint64_t n = RunScenario(0).ops;
  ASSERT_GT(n, 10u);
  for (uint64_t i = 1; i <= n; ++i) RunScenario(i);
}

}  // namespace
}  // namespace tern::server::testing
