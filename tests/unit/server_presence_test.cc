// Presence in the server core under a fake clock (wire/PROTOCOL.md §3.12): online while a
// foreground connection exists, offline with last seen only after presence_offline_grace_ms,
// subscriptions limited to related users, snapshots on (re)subscribe, last-seen privacy.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "server_social_util.h"

namespace tern::server::testing {
namespace {

constexpr uint32_t kGraceMs = 5000;

Config PresenceConfig() {
  Config c;
  c.presence_offline_grace_ms = kGraceMs;
  c.max_presence_subscriptions = 8;
  return c;
}

// Alice (a, a2), Bob (b) who chatted with Alice, Carol (c) who knows nobody, Dan (d) who is in
// a group with Bob. a2 stays connected in the background unless a test says otherwise.
struct World {
  Harness h{PresenceConfig()};
  TestDevice a{h}, a2{h}, b{h}, c{h}, d{h};
  World() {
    h.Register(a, "+15550000001");
    h.LinkDevice(a, a2);
    h.Register(b, "+15550000002");
    h.Register(c, "+15550000003");
    h.Register(d, "+15550000004");
    a2.SendMsg(wire::SetPresence{false});
    a.SendMsg(wire::Send{1, b.user_id, "hi"});
    d.SendMsg(wire::CreateGroup{1, "g", {b.user_id}});
    h.Turn();
  }
  // Moves the clock and fires the timers.
  void Advance(uint64_t ms) {
    h.now_ms += ms;
    h.core->OnTick(h.now_ms);
    h.Turn();
  }
  // Subscribes `viewer` to `users`; returns the snapshot that answers it.
  wire::Presence Subscribe(TestDevice& viewer, std::vector<uint64_t> users) {
    const size_t before = AllOf<wire::Presence>(viewer).size();
    viewer.SendMsg(wire::SubscribePresence{std::move(users)});
    h.Turn();
    auto all = AllOf<wire::Presence>(viewer);
    EXPECT_EQ(all.size(), before + 1) << "one snapshot per subscription";
    return all.empty() ? wire::Presence{} : all.back();
  }
};

// Every presence update `viewer` received about `user`, in order.
std::vector<wire::PresenceInfo> Updates(const TestDevice& viewer, uint64_t user) {
  std::vector<wire::PresenceInfo> out;
  for (const auto& p : AllOf<wire::Presence>(viewer))
    for (const auto& u : p.users)
      if (u.user_id == user) out.push_back(u);
  return out;
}

std::vector<uint64_t> UsersIn(const wire::Presence& p) {
  std::vector<uint64_t> out;
  for (const auto& u : p.users) out.push_back(u.user_id);
  std::sort(out.begin(), out.end());
  return out;
}

TEST(ServerPresence, OnlineWhileConnectedOfflineWithLastSeenOnlyAfterTheGrace) {
  World w;
  auto snap = w.Subscribe(w.b, {w.a.user_id});
  ASSERT_EQ(snap.users.size(), 1u);
  EXPECT_TRUE(snap.users[0].online);
  EXPECT_EQ(snap.users[0].last_seen_ms, 0u);

  const uint64_t left = w.h.now_ms;
  w.a.Drop();
  w.h.Turn();
  w.Advance(kGraceMs - 1);
  EXPECT_EQ(Updates(w.b, w.a.user_id).size(), 1u) << "offline shown before the grace ran out";
  w.Advance(1);
  auto u = Updates(w.b, w.a.user_id);
  ASSERT_EQ(u.size(), 2u);
  EXPECT_FALSE(u[1].online);
  EXPECT_EQ(u[1].last_seen_ms, left);  // when the last connection went, not when it showed

  w.h.Resume(w.a);
  u = Updates(w.b, w.a.user_id);
  ASSERT_EQ(u.size(), 3u);
  EXPECT_TRUE(u[2].online);  // coming back is shown at once
}

TEST(ServerPresence, ADropAndReconnectWithinTheGraceShowsNothing) {
  World w;
  w.Subscribe(w.b, {w.a.user_id});
  w.a.Drop();
  w.h.Turn();
  w.Advance(kGraceMs - 1000);
  w.h.Resume(w.a);
  w.Advance(2 * kGraceMs);
  EXPECT_EQ(Updates(w.b, w.a.user_id).size(), 1u);  // the snapshot only
  EXPECT_TRUE(w.Subscribe(w.b, {w.a.user_id}).users.at(0).online);
}

TEST(ServerPresence, BackgroundOnEveryDeviceIsOffline) {
  World w;
  w.Subscribe(w.b, {w.a.user_id});
  w.a2.SendMsg(wire::SetPresence{true});
  w.h.Turn();
  w.a.SendMsg(wire::SetPresence{false});  // a2 is still in the foreground
  w.h.Turn();
  w.Advance(2 * kGraceMs);
  EXPECT_EQ(Updates(w.b, w.a.user_id).size(), 1u);
  const uint64_t left = w.h.now_ms;
  w.a2.SendMsg(wire::SetPresence{false});
  w.h.Turn();
  w.Advance(kGraceMs);
  auto u = Updates(w.b, w.a.user_id);
  ASSERT_EQ(u.size(), 2u);
  EXPECT_FALSE(u[1].online);
  EXPECT_EQ(u[1].last_seen_ms, left);
  w.a.SendMsg(wire::SetPresence{true});
  w.h.Turn();
  u = Updates(w.b, w.a.user_id);
  ASSERT_EQ(u.size(), 3u);
  EXPECT_TRUE(u[2].online);
}

TEST(ServerPresence, OnlyRelatedUsersCanBeWatched) {
  World w;
  // Alice shares a chat with Bob, Dan a group; Carol shares nothing with him.
  auto snap = w.Subscribe(w.b, {w.a.user_id, w.c.user_id, w.d.user_id, 424242});
  std::vector<uint64_t> related{w.a.user_id, w.d.user_id};
  std::sort(related.begin(), related.end());
  EXPECT_EQ(UsersIn(snap), related);
  w.c.Drop();
  w.h.Turn();
  w.Advance(kGraceMs);
  w.h.Resume(w.c);
  EXPECT_TRUE(Updates(w.b, w.c.user_id).empty());
  // Once Bob finds Carol's number she is his contact, and related.
  w.b.SendMsg(wire::SyncContacts{5, {"+15550000003"}});
  w.h.Turn();
  snap = w.Subscribe(w.b, {w.c.user_id});
  EXPECT_EQ(UsersIn(snap), (std::vector<uint64_t>{w.c.user_id}));
  // ... and she may watch him: being found relates both ways.
  EXPECT_EQ(UsersIn(w.Subscribe(w.c, {w.b.user_id})), (std::vector<uint64_t>{w.b.user_id}));
}

TEST(ServerPresence, TooManySubscriptionsIsAProtocolViolation) {
  World w;
  std::vector<uint64_t> many(PresenceConfig().max_presence_subscriptions + 1, w.a.user_id);
  w.b.SendMsg(wire::SubscribePresence{many});
  w.h.Turn();
  ASSERT_TRUE(w.b.error);
  EXPECT_EQ(w.b.error->code, Code::kProtocol);
}

TEST(ServerPresence, AReconnectingSubscriberGetsTheCurrentSnapshotAndNoHistory) {
  World w;
  w.Subscribe(w.b, {w.a.user_id});
  w.b.Drop();
  const uint64_t left = w.h.now_ms;
  w.a.Drop();
  w.h.Turn();
  w.Advance(kGraceMs);
  w.h.Resume(w.a);
  w.a.Drop();  // online and offline again while Bob was away
  w.h.Turn();
  const uint64_t left2 = w.h.now_ms;
  w.Advance(kGraceMs);
  w.h.Resume(w.b);
  EXPECT_EQ(Updates(w.b, w.a.user_id).size(), 1u) << "presence is never queued";
  auto snap = w.Subscribe(w.b, {w.a.user_id});
  ASSERT_EQ(snap.users.size(), 1u);
  EXPECT_FALSE(snap.users[0].online);
  EXPECT_EQ(snap.users[0].last_seen_ms, left2);
  EXPECT_NE(left, left2);
}

// Alice's last seen as Bob (a chat partner), Carol (found by Alice: her contact) and Dan (who
// found Alice, not the other way round) see it, per privacy setting.
TEST(ServerPresence, LastSeenPrivacyEveryoneContactsNobody) {
  World w;
  w.a.SendMsg(wire::SyncContacts{5, {"+15550000003"}});  // Alice finds Carol
  w.d.SendMsg(wire::ResolvePhone{6, "+15550000001"});    // Dan finds Alice
  w.h.Turn();
  for (TestDevice* v : {&w.b, &w.c, &w.d}) ASSERT_EQ(w.Subscribe(*v, {w.a.user_id}).users.size(), 1u);
  auto set = [&](wire::Visibility vis) {
    wire::SetProfile p;
    p.req_id = 9;
    p.fields = wire::kProfileLastSeen;
    p.last_seen = vis;
    auto r = ReplyTo(w.h, w.a2, p, 9);  // from the background device: Alice stays offline
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, Code::kOk);
  };
  auto seen = [&](TestDevice& v) {
    auto u = Updates(v, w.a.user_id);
    EXPECT_FALSE(u.empty());
    if (!u.empty()) {
      EXPECT_FALSE(u.back().online);
    }
    return u.empty() ? ~0ull : u.back().last_seen_ms;
  };

  const uint64_t left = w.h.now_ms;
  w.a.Drop();
  w.h.Turn();
  w.Advance(kGraceMs);
  EXPECT_EQ(seen(w.b), left);  // everyone (the default)
  EXPECT_EQ(seen(w.c), left);
  EXPECT_EQ(seen(w.d), left);

  set(wire::Visibility::kContacts);  // pushed to the watchers at once
  EXPECT_EQ(seen(w.b), 0u);
  EXPECT_EQ(seen(w.c), left);
  EXPECT_EQ(seen(w.d), 0u);

  set(wire::Visibility::kNobody);
  EXPECT_EQ(seen(w.b), 0u);
  EXPECT_EQ(seen(w.c), 0u);
  EXPECT_EQ(seen(w.d), 0u);
  // A fresh snapshot obeys the setting too.
  EXPECT_EQ(w.Subscribe(w.c, {w.a.user_id}).users.at(0).last_seen_ms, 0u);

  set(wire::Visibility::kEveryone);
  EXPECT_EQ(seen(w.d), left);
}

}  // namespace
}  // namespace tern::server::testing

namespace tern::server::testing {
namespace {

// A watch allowed at subscription stops carrying updates once the relation ends: Dan removes
// Bob from the only group they shared, then goes offline; Bob's watch learns nothing more.
TEST(ServerPresence, AWatcherNoLongerRelatedGetsNoMoreUpdates) {
  World w;
  ASSERT_EQ(UsersIn(w.Subscribe(w.b, {w.d.user_id})), (std::vector<uint64_t>{w.d.user_id}));
  const auto* info = LastOf<wire::GroupInfo>(w.d);
  ASSERT_NE(info, nullptr);
  const size_t before = Updates(w.b, w.d.user_id).size();
  w.d.SendMsg(wire::GroupChange{2, info->group_id, wire::GroupOp::kRemove, w.b.user_id, ""});
  w.h.Turn();
  w.d.Drop();
  w.h.Turn();
  w.Advance(kGraceMs);
  EXPECT_EQ(Updates(w.b, w.d.user_id).size(), before) << "Bob is no longer related to Dan";
  // Control: Alice (a 1:1 chat with Bob) going offline still reaches him.
  ASSERT_EQ(UsersIn(w.Subscribe(w.b, {w.a.user_id})), (std::vector<uint64_t>{w.a.user_id}));
  const size_t a_before = Updates(w.b, w.a.user_id).size();
  w.a.Drop();
  w.a2.Drop();
  w.h.Turn();
  w.Advance(kGraceMs);
  EXPECT_EQ(Updates(w.b, w.a.user_id).size(), a_before + 1);
  EXPECT_FALSE(Updates(w.b, w.a.user_id).back().online);
}

}  // namespace
}  // namespace tern::server::testing
