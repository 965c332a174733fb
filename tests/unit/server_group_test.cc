// Groups in the server core under a fake clock: create, fan-out to every device of every member,
// membership events in the chat order, authorization, admins, leave, and a 1024-member group
// whose message body is stored once.
#include <gtest/gtest.h>

#include <deque>
#include <string>

#include "server_harness.h"

namespace tern::server::testing {
namespace {

using wire::GroupOp;

// The last message of type T that `d` received.
template <typename T>
const T* Last(const TestDevice& d) {
  for (auto it = d.received.rbegin(); it != d.received.rend(); ++it)
    if (const T* m = std::get_if<T>(&*it)) return m;
  return nullptr;
}

std::vector<wire::InboxItem> OfGroup(const TestDevice& d, uint64_t group_id) {
  std::vector<wire::InboxItem> out;
  for (const auto& it : d.items)
    if (it.group_id == group_id) out.push_back(it);
  return out;
}

struct Trio {
  Harness h;
  TestDevice a{h}, a2{h}, b{h}, c{h}, d{h};
  uint32_t next_req = 100;
  uint64_t next_seq = 1;
  Trio() {
    h.Register(a, "+15550000001");
    h.LinkDevice(a, a2);
    h.Register(b, "+15550000002");
    h.Register(c, "+15550000003");
    h.Register(d, "+15550000004");
  }
  uint64_t Create(TestDevice& by, const std::string& name, std::vector<uint64_t> members) {
    by.SendMsg(wire::CreateGroup{next_req++, name, std::move(members)});
    h.Turn();
    const auto* info = Last<wire::GroupInfo>(by);
    EXPECT_NE(info, nullptr);
    if (info == nullptr) return 0;
    EXPECT_EQ(info->status, Code::kOk);
    return info->group_id;
  }
  Code Change(TestDevice& by, uint64_t group, GroupOp op, uint64_t user = 0, std::string name = "") {
    by.SendMsg(wire::GroupChange{next_req++, group, op, user, std::move(name)});
    h.Turn();
    const auto* r = Last<wire::Reply>(by);
    return r == nullptr ? Code::kInternal : r->status;
  }
  wire::SendAck Send(TestDevice& by, uint64_t group, const std::string& text) {
    uint64_t seq = by.acks.empty() ? 1 : by.acks.rbegin()->first + 1;
    by.SendMsg(wire::Send{seq, 0, text, 0, group});
    h.Turn();
    return by.acks[seq];
  }
};

TEST(ServerGroup, CreateThenSendReachesEveryDeviceOfEveryMember) {
  Trio t;
  const uint64_t g = t.Create(t.a, "hikers", {t.b.user_id, t.c.user_id});
  ASSERT_NE(g, 0u);
  const auto* info = Last<wire::GroupInfo>(t.a);
  ASSERT_EQ(info->members.size(), 3u);
  EXPECT_EQ(info->name, "hikers");
  EXPECT_EQ(info->chat_seq, 1u);
  // The creation event is the chat's first entry, on every device of every member: the
  // creating one too, whose GroupInfo answer is not replayed if the connection drops.
  for (TestDevice* x : {&t.a, &t.a2, &t.b, &t.c}) {
    auto items = OfGroup(*x, g);
    ASSERT_EQ(items.size(), 1u);
    EXPECT_EQ(items[0].kind, wire::ItemKind::kGroupEvent);
    EXPECT_EQ(items[0].event, GroupOp::kCreate);
    EXPECT_EQ(items[0].text, "hikers");
    EXPECT_EQ(items[0].chat_seq, 1u);
    EXPECT_EQ(items[0].sender_user, t.a.user_id);
  }
  EXPECT_TRUE(OfGroup(t.d, g).empty());

  wire::SendAck ack = t.Send(t.b, g, "hello all");
  EXPECT_EQ(ack.status, Code::kOk);
  EXPECT_EQ(ack.chat_seq, 2u);
  for (TestDevice* x : {&t.a, &t.a2, &t.c}) {
    auto items = OfGroup(*x, g);
    ASSERT_FALSE(items.empty());
    EXPECT_EQ(items.back().kind, wire::ItemKind::kMessage);
    EXPECT_EQ(items.back().text, "hello all");
    EXPECT_EQ(items.back().chat_seq, 2u);
    EXPECT_EQ(items.back().to_user, 0u);
    EXPECT_EQ(items.back().msg_id, ack.msg_id);
  }
  EXPECT_EQ(OfGroup(t.b, g).size(), 1u);  // the create event; the message is not echoed
  EXPECT_TRUE(OfGroup(t.d, g).empty());
}

TEST(ServerGroup, NonMembersAndNonAdminsAreRefused) {
  Trio t;
  const uint64_t g = t.Create(t.a, "club", {t.b.user_id});
  EXPECT_EQ(t.Send(t.d, g, "let me in").status, Code::kForbidden);
  EXPECT_EQ(t.Send(t.d, 0x4242, "no such group").status, Code::kForbidden);
  EXPECT_EQ(t.Change(t.b, g, GroupOp::kAdd, t.d.user_id), Code::kForbidden);
  EXPECT_EQ(t.Change(t.b, g, GroupOp::kRename, 0, "mine"), Code::kForbidden);
  EXPECT_EQ(t.Change(t.b, g, GroupOp::kRemove, t.a.user_id), Code::kForbidden);
  EXPECT_EQ(t.Change(t.b, g, GroupOp::kPromote, t.b.user_id), Code::kForbidden);
  EXPECT_EQ(t.Change(t.d, g, GroupOp::kAdd, t.d.user_id), Code::kNotFound);  // existence hidden
  t.d.SendMsg(wire::GetGroup{1, g});
  t.h.Turn();
  EXPECT_EQ(Last<wire::GroupInfo>(t.d)->status, Code::kNotFound);
  // A send to a group and a user at once is malformed, and an empty name is refused.
  t.a.SendMsg(wire::Send{1, t.b.user_id, "both", 0, g});
  t.h.Turn();
  EXPECT_EQ(t.a.acks[1].status, Code::kInvalidArgument);
  t.a.SendMsg(wire::CreateGroup{5, "", {}});
  t.h.Turn();
  EXPECT_EQ(Last<wire::GroupInfo>(t.a)->status, Code::kInvalidArgument);
  t.a.SendMsg(wire::CreateGroup{6, "ghosts", {999999}});
  t.h.Turn();
  EXPECT_EQ(Last<wire::GroupInfo>(t.a)->status, Code::kNotFound);
}

TEST(ServerGroup, MembershipEventsAreInTheChatOrderAndBoundWhatMembersSee) {
  Trio t;
  const uint64_t g = t.Create(t.a, "order", {t.b.user_id});  // seq 1
  ASSERT_EQ(t.Send(t.a, g, "m1").chat_seq, 2u);
  ASSERT_EQ(t.Change(t.a, g, GroupOp::kAdd, t.d.user_id), Code::kOk);  // seq 3
  ASSERT_EQ(t.Send(t.b, g, "m2").chat_seq, 4u);
  ASSERT_EQ(t.Change(t.a, g, GroupOp::kRemove, t.b.user_id), Code::kOk);  // seq 5
  ASSERT_EQ(t.Send(t.d, g, "m3").chat_seq, 6u);
  EXPECT_EQ(t.Send(t.b, g, "still here?").status, Code::kForbidden);

  auto seqs = [&](TestDevice& x) {
    std::vector<uint64_t> v;
    for (const auto& it : OfGroup(x, g)) v.push_back(it.chat_seq);
    return v;
  };
  // The added member sees nothing before its own add event; the removed one nothing after its
  // removal event; the creator's other device sees everything.
  EXPECT_EQ(seqs(t.d), (std::vector<uint64_t>{3, 4, 5}));
  EXPECT_EQ(seqs(t.b), (std::vector<uint64_t>{1, 2, 3, 5}));
  EXPECT_EQ(seqs(t.a2), (std::vector<uint64_t>{1, 2, 3, 4, 5, 6}));
  // The acting device gets its own membership events (no Resume replays a Reply), not its own
  // messages (Resume replays SendAcks).
  EXPECT_EQ(seqs(t.a), (std::vector<uint64_t>{1, 3, 4, 5, 6}));
  auto d_items = OfGroup(t.d, g);
  EXPECT_EQ(d_items[0].event, GroupOp::kAdd);
  EXPECT_EQ(d_items[0].event_user, t.d.user_id);
  EXPECT_EQ(d_items[2].event, GroupOp::kRemove);
  EXPECT_EQ(d_items[2].event_user, t.b.user_id);
  EXPECT_EQ(t.Change(t.a, g, GroupOp::kAdd, t.d.user_id), Code::kInvalidArgument);  // already in
}

TEST(ServerGroup, AdminsPromoteDemoteRenameAndLeave) {
  Trio t;
  const uint64_t g = t.Create(t.a, "admins", {t.b.user_id, t.c.user_id});
  EXPECT_EQ(t.Change(t.a, g, GroupOp::kDemote, t.a.user_id), Code::kInvalidArgument);  // last admin
  EXPECT_EQ(t.Change(t.a, g, GroupOp::kPromote, t.b.user_id), Code::kOk);
  EXPECT_EQ(t.Change(t.b, g, GroupOp::kRename, 0, "renamed"), Code::kOk);
  EXPECT_EQ(OfGroup(t.c, g).back().event, GroupOp::kRename);
  EXPECT_EQ(OfGroup(t.c, g).back().text, "renamed");
  EXPECT_EQ(t.Change(t.b, g, GroupOp::kDemote, t.a.user_id), Code::kOk);
  EXPECT_EQ(t.Change(t.a, g, GroupOp::kAdd, t.d.user_id), Code::kForbidden);
  EXPECT_EQ(t.Change(t.b, g, GroupOp::kLeave), Code::kOk);
  // b was the only admin: the lowest remaining member id takes over.
  t.a.SendMsg(wire::GetGroup{77, g});
  t.h.Turn();
  const auto* info = Last<wire::GroupInfo>(t.a);
  ASSERT_EQ(info->status, Code::kOk);
  EXPECT_EQ(info->name, "renamed");
  ASSERT_EQ(info->members.size(), 2u);
  EXPECT_EQ(info->members[0].user_id, std::min(t.a.user_id, t.c.user_id));
  EXPECT_TRUE(info->members[0].admin);
  EXPECT_EQ(OfGroup(t.a2, g).back().event, GroupOp::kLeave);
  EXPECT_EQ(OfGroup(t.a2, g).back().event_user, t.b.user_id);
  EXPECT_EQ(t.Send(t.b, g, "bye?").status, Code::kForbidden);
  EXPECT_EQ(t.Change(t.a, g, GroupOp::kLeave), Code::kOk);
  EXPECT_EQ(t.Change(t.c, g, GroupOp::kLeave), Code::kOk);  // the last one: the group is gone
  EXPECT_EQ(t.Change(t.c, g, GroupOp::kLeave), Code::kNotFound);
}

TEST(ServerGroup, OfflineMembersGetGroupItemsOnResume) {
  Trio t;
  const uint64_t g = t.Create(t.a, "offline", {t.b.user_id});
  t.h.AckAll(t.b);
  t.b.Drop();
  t.h.core->OnClosed(t.b.id(), t.h.now_ms);
  ASSERT_EQ(t.Send(t.a, g, "while you were out").status, Code::kOk);
  const size_t before = t.b.items.size();
  t.h.Resume(t.b);
  ASSERT_EQ(t.b.items.size(), before + 1);
  EXPECT_EQ(t.b.items.back().text, "while you were out");
  EXPECT_EQ(t.b.items.back().group_id, g);
}

TEST(ServerGroup, A1024MemberGroupStoresTheBodyOnceAndRefusesMember1025) {
  Config cfg;
  Harness h(cfg);
  std::deque<TestDevice> devs;
  std::vector<uint64_t> members;
  for (int i = 0; i < 1025; ++i) {
    devs.emplace_back(h);
    members.push_back(h.Register(devs.back(), "+1555100" + std::to_string(1000 + i)));
  }
  TestDevice& admin = devs[0];
  std::vector<uint64_t> initial(members.begin() + 1, members.begin() + 1024);  // 1023 + creator
  admin.SendMsg(wire::CreateGroup{1, "big", initial});
  h.Turn();
  const auto* info = Last<wire::GroupInfo>(admin);
  ASSERT_NE(info, nullptr);
  ASSERT_EQ(info->status, Code::kOk);
  ASSERT_EQ(info->members.size(), 1024u);
  const uint64_t g = info->group_id;
  for (auto& d : devs) h.AckAll(d);
  h.Turn();
  const store::MailboxStats before = h.Stats();

  admin.SendMsg(wire::Send{1, 0, "to everyone", 0, g});
  const uint64_t commits = h.core->stats().commits;
  h.Turn();
  EXPECT_EQ(h.core->stats().commits, commits + 1);  // one send, one transaction
  ASSERT_EQ(admin.acks[1].status, Code::kOk);
  const store::MailboxStats after = h.Stats();
  EXPECT_EQ(after.messages, before.messages + 1);  // one body
  EXPECT_EQ(after.refs, before.refs + 1023);       // one small ref per receiving device
  for (size_t i = 1; i < 1024; ++i) {
    ASSERT_FALSE(devs[i].items.empty()) << i;
    EXPECT_EQ(devs[i].items.back().text, "to everyone");
  }
  EXPECT_TRUE(devs[1024].items.empty());
  admin.SendMsg(wire::GroupChange{2, g, GroupOp::kAdd, members[1024], ""});
  h.Turn();
  EXPECT_EQ(Last<wire::Reply>(admin)->status, Code::kInvalidArgument);
  // Once every device acked, the body is gone with its last ref.
  for (auto& d : devs) h.AckAll(d);
  h.Turn();
  EXPECT_EQ(h.Stats().messages, 0u);
  EXPECT_EQ(h.Stats().refs, 0u);
}

}  // namespace
}  // namespace tern::server::testing
