// Resume after drops and crashes against the real ternd: exactly-once, in order, nothing lost.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "tests/integration/client_util.h"
#include "tests/integration/server_util.h"

namespace tern::testing {
namespace {

// Every text of `c`'s inbox, in inbox order, must equal `texts`; chat seqs strictly increase.
void ExpectExactlyOnceInOrder(const Client& c, const std::vector<std::string>& texts) {
  EXPECT_EQ(InboxTexts(c), texts);
  for (size_t i = 1; i < c.inbox().size(); ++i) {
    ASSERT_LT(c.inbox()[i - 1].chat_seq, c.inbox()[i].chat_seq) << "inbox item " << i;
    ASSERT_EQ(c.inbox()[i - 1].seq + 1, c.inbox()[i].seq) << "inbox item " << i;
  }
}

TEST(ResumeTest, SenderDroppingBeforeAckResendsAndEachArrivesOnce) {
  TestServer server;
  ASSERT_TRUE(server.Start().ok());
  auto alice = RegisterUser(server, "+15550500001");
  ASSERT_TRUE(alice.ok()) << alice.status().ToString();
  auto bob = RegisterUser(server, "+15550500002");
  ASSERT_TRUE(bob.ok()) << bob.status().ToString();
  Client& a = **alice;
  Client& b = **bob;
  const uint64_t bob_id = b.state().user_id;

  std::vector<std::string> all;
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(round == 0 ? "reset after writing" : "close after writing");
    // Write every Send to the socket without reading a single ack, then drop.
    std::vector<std::string> texts = Texts("round" + std::to_string(round), 50);
    std::vector<uint64_t> seqs;
    const uint64_t acks_before = a.counters().acks_received;
    const uint64_t resends_before = a.counters().resends;
    // (Client::Send writes but handles no incoming frame: the acks are never processed.)
    for (const std::string& t : texts) {
      Result<uint64_t> seq = a.Send(bob_id, t);
      ASSERT_TRUE(seq.ok());
      seqs.push_back(*seq);
    }
    ASSERT_EQ(a.counters().acks_received, acks_before);
    a.Abort(/*rst=*/round == 0);
    all.insert(all.end(), texts.begin(), texts.end());

    Result<wire::Welcome> w = a.Resume();
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    EXPECT_LE(w->client_seq_high, seqs.back());
    auto acks = WaitForAcks(a, seqs);
    ASSERT_TRUE(acks.ok()) << acks.status().ToString();
    for (size_t i = 0; i < acks->size(); ++i) {
      ASSERT_EQ((*acks)[i].status, Code::kOk) << "message " << i;
      if (i > 0) {
        ASSERT_LT((*acks)[i - 1].chat_seq, (*acks)[i].chat_seq);
      }
    }
    EXPECT_TRUE(a.state().unacked.empty());
    RecordProperty("resends_round" + std::to_string(round),
                   static_cast<int>(a.counters().resends - resends_before));
  }

  ASSERT_TRUE(b.WaitForItems(all.size(), kWaitMs).ok());
  ASSERT_TRUE(b.RoundTrip(kWaitMs).ok());
  ExpectExactlyOnceInOrder(b, all);
}

TEST(ResumeTest, AckedMessagesSurviveKill9) {
  TestServer server;
  ASSERT_TRUE(server.Start().ok());
  auto alice = RegisterUser(server, "+15550600001");
  ASSERT_TRUE(alice.ok()) << alice.status().ToString();
  auto bob = RegisterUser(server, "+15550600002");
  ASSERT_TRUE(bob.ok()) << bob.status().ToString();
  Client& a = **alice;
  Client& b = **bob;
  const uint64_t bob_id = b.state().user_id;
  constexpr int kTotal = 400;
  constexpr size_t kKillAfterAcks = 150;
  const std::vector<std::string> texts = Texts("crash", kTotal);

  // Stream while Bob reads live; kill -9 once enough sent acks are in, mid-stream.
  std::vector<uint64_t> seqs;
  size_t next = 0;
  auto acked_ok = [&] {
    size_t n = 0;
    for (uint64_t s : seqs) {
      const wire::SendAck* ack = a.core().ack_for(s);
      n += ack != nullptr && ack->status == Code::kOk;
    }
    return n;
  };
  const uint64_t deadline = tools::SteadyNowMs() + kWaitMs;
  while (acked_ok() < kKillAfterAcks) {
    ASSERT_LT(tools::SteadyNowMs(), deadline) << "only " << acked_ok() << " acks before kill";
    for (int burst = 0; burst < 10 && next < texts.size(); ++burst, ++next) {
      Result<uint64_t> seq = a.Send(bob_id, texts[next]);
      ASSERT_TRUE(seq.ok());
      seqs.push_back(*seq);
    }
    ASSERT_TRUE(a.Poll(1).ok());
    ASSERT_TRUE(b.Poll(1).ok());
  }
  // A last burst goes out unanswered, then the crash.
  for (int burst = 0; burst < 20 && next < texts.size(); ++burst, ++next) {
    seqs.push_back(a.Send(bob_id, texts[next]).value());
  }
  ASSERT_TRUE(server.Kill9().ok());
  std::map<uint64_t, wire::SendAck> acked_before;  // client_seq -> sent ack
  for (uint64_t s : seqs) {
    const wire::SendAck* ack = a.core().ack_for(s);
    if (ack != nullptr && ack->status == Code::kOk) acked_before[s] = *ack;
  }
  // Alice keeps writing while the server is down: stored, pending, sent on resume.
  for (; next < texts.size(); ++next) seqs.push_back(a.Send(bob_id, texts[next]).value());
  Status down = a.WaitUntil([] { return false; }, kWaitMs, "the crash to close the connection");
  EXPECT_NE(down.code(), Code::kTimeout) << down.ToString();

  ASSERT_TRUE(server.Restart().ok());
  a.set_server("127.0.0.1", server.port());
  b.set_server("127.0.0.1", server.port());
  Result<wire::Welcome> wa = a.Resume();
  ASSERT_TRUE(wa.ok()) << wa.status().ToString();
  auto acks = WaitForAcks(a, seqs);
  ASSERT_TRUE(acks.ok()) << acks.status().ToString();
  for (size_t i = 0; i < seqs.size(); ++i) {
    ASSERT_EQ((*acks)[i].status, Code::kOk) << "message " << i;
  }
  EXPECT_TRUE(a.state().unacked.empty());

  Result<wire::Welcome> wb = b.Resume();
  ASSERT_TRUE(wb.ok()) << wb.status().ToString();
  EXPECT_FALSE(wb->epoch_changed);
  ASSERT_TRUE(b.WaitForItems(kTotal, kWaitMs).ok()) << "have " << b.inbox().size();
  ASSERT_TRUE(b.RoundTrip(kWaitMs).ok());
  ExpectExactlyOnceInOrder(b, texts);
  ASSERT_EQ(b.inbox().size(), static_cast<size_t>(kTotal));
  // Chat seqs have no gaps, and what was acked before the crash kept its id and place.
  for (int i = 0; i < kTotal; ++i) EXPECT_EQ(b.inbox()[i].chat_seq, static_cast<uint64_t>(i + 1));
  std::map<std::string, const wire::InboxItem*> by_text;
  for (const wire::InboxItem& it : b.inbox()) by_text[it.text] = &it;
  for (size_t i = 0; i < seqs.size(); ++i) {
    auto it = acked_before.find(seqs[i]);
    if (it == acked_before.end()) continue;
    const wire::InboxItem* got = by_text[texts[i]];
    ASSERT_NE(got, nullptr);
    EXPECT_EQ(got->msg_id, it->second.msg_id) << texts[i];
    EXPECT_EQ(got->chat_seq, it->second.chat_seq) << texts[i];
  }
  RecordProperty("acked_before_kill", static_cast<int>(acked_before.size()));
  RecordProperty("alice_resends", static_cast<int>(a.counters().resends));
}

}  // namespace
}  // namespace tern::testing
