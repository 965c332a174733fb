// Groups against the real ternd: fan-out to every device of every member, membership events in
// the chat order, removed/added members, authorization, and the body of a group message stored
// once (ternd --stats) while members are offline, gone once they all drained.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/integration/client_util.h"
#include "tests/integration/server_util.h"

namespace tern::testing {
namespace {

using wire::GroupOp;

std::vector<wire::InboxItem> OfGroup(const Client& c, uint64_t group) {
  std::vector<wire::InboxItem> out;
  for (const auto& it : c.inbox())
    if (it.group_id == group) out.push_back(it);
  return out;
}

TEST(GroupTest, MembershipEventsOrderWhatMembersSeeAndOnlyAdminsChange) {
  TestServer server;
  ASSERT_TRUE(server.Start().ok());
  auto a = RegisterUser(server, "+15550300001");
  auto b = RegisterUser(server, "+15550300002");
  auto c = RegisterUser(server, "+15550300003");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  auto a2 = LinkDevice(server, **a, "tablet");
  ASSERT_TRUE(a2.ok()) << a2.status().ToString();
  Client& A = **a;
  Client& B = **b;
  Client& C = **c;
  Client& A2 = **a2;
  const uint64_t bid = B.state().user_id, cid = C.state().user_id;

  auto g = A.CreateGroup("walkers", {bid});
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  const uint64_t gid = g->group_id;
  ASSERT_EQ(g->members.size(), 2u);

  auto send = [&](Client& from, const std::string& text) {
    auto seq = from.SendToGroup(gid, text);
    EXPECT_TRUE(seq.ok());
    auto ack = from.WaitForAck(*seq, kWaitMs);
    EXPECT_TRUE(ack.ok());
    return ack.ok() ? *ack : wire::SendAck{};
  };
  EXPECT_EQ(send(A, "m1").chat_seq, 2u);
  auto added = A.ChangeGroup(gid, GroupOp::kAdd, cid);
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  EXPECT_EQ(*added, 3u);
  EXPECT_EQ(send(B, "m2").chat_seq, 4u);
  // Not an admin: refused, and nothing enters the chat.
  EXPECT_EQ(B.ChangeGroup(gid, GroupOp::kRemove, cid).status().code(), Code::kForbidden);
  EXPECT_EQ(B.ChangeGroup(gid, GroupOp::kRename, 0, "bobs").status().code(), Code::kForbidden);
  ASSERT_TRUE(A.ChangeGroup(gid, GroupOp::kRemove, bid).ok());  // seq 5
  EXPECT_EQ(send(A, "m3").chat_seq, 6u);
  EXPECT_EQ(send(B, "after removal").status, Code::kForbidden);
  EXPECT_EQ(B.GetGroup(gid).status().code(), Code::kNotFound);

  std::vector<Client*> all{&A, &A2, &B, &C};
  ASSERT_TRUE(PollAll(all, [&] {
    return OfGroup(A2, gid).size() == 6 && OfGroup(C, gid).size() == 4 && OfGroup(B, gid).size() == 4;
  }, kWaitMs, "group items").ok());
  auto seqs = [&](const Client& x) {
    std::vector<uint64_t> v;
    for (const auto& it : OfGroup(x, gid)) v.push_back(it.chat_seq);
    return v;
  };
  EXPECT_EQ(seqs(A2), (std::vector<uint64_t>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(seqs(B), (std::vector<uint64_t>{1, 2, 3, 5}));     // nothing after its removal
  EXPECT_EQ(seqs(C), (std::vector<uint64_t>{3, 4, 5, 6}));     // nothing before its add
  EXPECT_EQ(OfGroup(C, gid)[0].kind, wire::ItemKind::kGroupEvent);
  EXPECT_EQ(OfGroup(C, gid)[0].event, GroupOp::kAdd);
  EXPECT_EQ(OfGroup(C, gid)[0].event_user, cid);
  EXPECT_EQ(OfGroup(B, gid)[3].event, GroupOp::kRemove);
  EXPECT_EQ(OfGroup(C, gid)[3].text, "m3");

  auto info = C.GetGroup(gid);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->members.size(), 2u);
  EXPECT_EQ(info->chat_seq, 6u);
}

TEST(GroupTest, GroupMessageBodyIsStoredOnceForOfflineMembersAndGoesWithTheLastAck) {
  TestServer server;
  ASSERT_TRUE(server.Start().ok());
  constexpr int kMembers = 24;  // bounded here; the 1024-member case runs in the core unit test
  std::vector<std::unique_ptr<Client>> clients;
  std::vector<uint64_t> ids;
  for (int i = 0; i < kMembers; ++i) {
    auto c = RegisterUser(server, "+1555031" + std::to_string(1000 + i));
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    ids.push_back((*c)->state().user_id);
    clients.push_back(std::move(*c));
  }
  Client& admin = *clients[0];
  auto g = admin.CreateGroup("crowd", std::vector<uint64_t>(ids.begin() + 1, ids.end()));
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  for (int i = 1; i < kMembers; ++i) {
    ASSERT_TRUE(clients[i]->WaitForItems(1, kWaitMs).ok());
    ASSERT_TRUE(clients[i]->RoundTrip(kWaitMs).ok());  // its InboxAck is processed
    clients[i]->Close();
  }
  ASSERT_TRUE(admin.RoundTrip(kWaitMs).ok());

  auto seq = admin.SendToGroup(g->group_id, "to the crowd");
  ASSERT_TRUE(seq.ok());
  auto ack = admin.WaitForAck(*seq, kWaitMs);
  ASSERT_TRUE(ack.ok() && ack->status == Code::kOk);
  auto stats = server.Stats();
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ((*stats)["messages"], 1u);            // one body ...
  EXPECT_EQ((*stats)["refs"], uint64_t{kMembers - 1});  // ... one ref per offline device

  for (int i = 1; i < kMembers; ++i) {
    ASSERT_TRUE(clients[i]->Resume().ok());
    ASSERT_TRUE(clients[i]->WaitForItems(2, kWaitMs).ok());
    EXPECT_EQ(clients[i]->inbox().back().text, "to the crowd");
    EXPECT_EQ(clients[i]->inbox().back().group_id, g->group_id);
    ASSERT_TRUE(clients[i]->RoundTrip(kWaitMs).ok());
  }
  stats = server.Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ((*stats)["messages"], 0u);
  EXPECT_EQ((*stats)["refs"], 0u);
}

}  // namespace
}  // namespace tern::testing
