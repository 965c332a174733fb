// Profiles and contact discovery in the server core under a fake clock (wire/PROTOCOL.md
// §3.13): the status length limit, profiles only for related users, SyncContacts answering only
// registered phones, and the per-user discovery budget (burst, refill, retry_after_ms) that
// ResolvePhone spends too.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "server_social_util.h"

namespace tern::server::testing {
namespace {

constexpr uint64_t kSecondMs = 1000;

Config SocialConfig() {
  Config c;
  c.max_status_bytes = 10;
  c.max_profiles_per_request = 4;
  c.discovery_max_batch = 4;
  c.discovery_burst = 5;
  c.discovery_per_hour = 3600;  // one lookup a second once the burst is spent
  return c;
}

// Alice and Bob chatted; Carol knows nobody.
struct World {
  Harness h{SocialConfig()};
  TestDevice a{h}, b{h}, c{h};
  uint32_t next_req = 100;
  World() {
    h.Register(a, "+15550000001");
    h.Register(b, "+15550000002");
    h.Register(c, "+15550000003");
    a.SendMsg(wire::Send{1, b.user_id, "hi"});
    h.Turn();
  }
  wire::Profiles Ask(TestDevice& d, wire::Message m, uint32_t req) {
    d.SendMsg(m);
    h.Turn();
    const auto* p = LastOf<wire::Profiles>(d);
    EXPECT_NE(p, nullptr);
    if (p == nullptr) return {};
    EXPECT_EQ(p->req_id, req);
    return *p;
  }
  wire::Profiles Sync(TestDevice& d, std::vector<std::string> phones) {
    const uint32_t req = next_req++;
    return Ask(d, wire::SyncContacts{req, std::move(phones)}, req);
  }
  wire::Profiles Get(TestDevice& d, std::vector<uint64_t> users) {
    const uint32_t req = next_req++;
    return Ask(d, wire::GetProfiles{req, std::move(users)}, req);
  }
  // ResolvePhone: the user id, or the refusal's code as a negative number.
  int64_t Resolve(TestDevice& d, const std::string& phone) {
    const uint32_t req = next_req++;
    d.SendMsg(wire::ResolvePhone{req, phone});
    h.Turn();
    for (auto it = d.received.rbegin(); it != d.received.rend(); ++it) {
      if (const auto* r = std::get_if<wire::Resolved>(&*it); r && r->req_id == req) return static_cast<int64_t>(r->user_id);
      if (const auto* r = std::get_if<wire::Reply>(&*it); r && r->req_id == req) return -static_cast<int64_t>(r->status);
    }
    ADD_FAILURE() << "no answer to ResolvePhone";
    return 0;
  }
  Code SetStatus(TestDevice& d, std::string status, wire::Availability av = wire::Availability::kUnset) {
    wire::SetProfile p;
    p.req_id = next_req++;
    p.fields = wire::kProfileStatus | (av != wire::Availability::kUnset ? wire::kProfileAvailability : 0);
    p.status = std::move(status);
    p.availability = av;
    auto r = ReplyTo(h, d, p, p.req_id);
    return r ? r->status : Code::kInternal;
  }
};

std::vector<uint64_t> UsersOf(const wire::Profiles& p) {
  std::vector<uint64_t> out;
  for (const auto& x : p.profiles) out.push_back(x.user_id);
  std::sort(out.begin(), out.end());
  return out;
}

TEST(ServerProfiles, StatusLongerThanTheLimitIsRefusedAndChangesNothing) {
  World w;
  EXPECT_EQ(w.SetStatus(w.a, "0123456789", wire::Availability::kBusy), Code::kOk);  // exactly 10
  const uint64_t set_at = w.h.now_ms;
  w.h.now_ms += 1000;
  EXPECT_EQ(w.SetStatus(w.a, "0123456789X", wire::Availability::kAway), Code::kInvalidArgument);
  auto p = w.Get(w.b, {w.a.user_id});
  ASSERT_EQ(p.profiles.size(), 1u);
  EXPECT_EQ(p.profiles[0].status, "0123456789");
  EXPECT_EQ(p.profiles[0].availability, wire::Availability::kBusy);
  EXPECT_EQ(p.profiles[0].updated_ms, set_at);
  EXPECT_TRUE(p.profiles[0].phone.empty());  // phones travel in SyncContacts answers only
}

TEST(ServerProfiles, OnlyRelatedUsersProfilesAreReturned) {
  World w;
  EXPECT_EQ(w.SetStatus(w.c, "secret"), Code::kOk);
  auto p = w.Get(w.b, {w.a.user_id, w.c.user_id, 987654321, w.b.user_id});
  std::vector<uint64_t> want{w.a.user_id, w.b.user_id};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(p.status, Code::kOk);
  EXPECT_EQ(UsersOf(p), want);  // Carol and the unknown id are left out alike
  EXPECT_EQ(w.Get(w.b, {1, 2, 3, 4, 5}).status, Code::kInvalidArgument);  // > max per request
  // Carol becomes related once Bob finds her number.
  w.Sync(w.b, {"+15550000003"});
  p = w.Get(w.b, {w.c.user_id});
  ASSERT_EQ(p.profiles.size(), 1u);
  EXPECT_EQ(p.profiles[0].status, "secret");
}

TEST(ServerDiscovery, SyncContactsAnswersOnlyRegisteredPhones) {
  World w;
  auto p = w.Sync(w.c, {"+15550000001", "+15559999999", "+15550000002", "+15550000003"});
  EXPECT_EQ(p.status, Code::kOk);
  ASSERT_EQ(p.profiles.size(), 2u);  // not the unknown number, not Carol herself
  for (const auto& x : p.profiles) {
    if (x.user_id == w.a.user_id) {
      EXPECT_EQ(x.phone, "+15550000001");
    } else if (x.user_id == w.b.user_id) {
      EXPECT_EQ(x.phone, "+15550000002");
    } else {
      ADD_FAILURE() << "unexpected user " << x.user_id;
    }
  }
}

TEST(ServerDiscovery, BatchOverTheLimitOrEmptyIsInvalidAndCostsNothing) {
  World w;
  EXPECT_EQ(w.Sync(w.c, {"+1", "+2", "+3", "+4", "+5"}).status, Code::kInvalidArgument);
  EXPECT_EQ(w.Sync(w.c, {}).status, Code::kInvalidArgument);
  EXPECT_EQ(w.Sync(w.c, {"+1", "+2", "+3", "+4"}).status, Code::kOk);  // the whole burst is left
  EXPECT_EQ(w.Sync(w.c, {"+15550000001"}).status, Code::kOk);
}

TEST(ServerDiscovery, BurstThenRefillWithAnExactRetryAfter) {
  World w;
  EXPECT_EQ(w.Sync(w.c, {"+1", "+2", "+3", "+4"}).status, Code::kOk);  // 1 of 5 left
  auto p = w.Sync(w.c, {"+15550000001", "+15550000002"});
  EXPECT_EQ(p.status, Code::kRateLimited);
  EXPECT_TRUE(p.profiles.empty());
  EXPECT_EQ(p.retry_after_ms, kSecondMs);  // one lookup short at one a second
  w.h.now_ms += kSecondMs - 1;
  p = w.Sync(w.c, {"+15550000001", "+15550000002"});
  EXPECT_EQ(p.status, Code::kRateLimited);
  EXPECT_EQ(p.retry_after_ms, 1u);
  w.h.now_ms += 1;
  p = w.Sync(w.c, {"+15550000001", "+15550000002"});
  EXPECT_EQ(p.status, Code::kOk);
  EXPECT_EQ(p.profiles.size(), 2u);

  // A long pause refills the bucket only up to the burst.
  w.h.now_ms += 10 * 3600 * kSecondMs;
  EXPECT_EQ(w.Sync(w.c, {"+1", "+2", "+3", "+4"}).status, Code::kOk);
  EXPECT_EQ(w.Sync(w.c, {"+1"}).status, Code::kOk);
  p = w.Sync(w.c, {"+1"});
  EXPECT_EQ(p.status, Code::kRateLimited);
  EXPECT_EQ(p.retry_after_ms, kSecondMs);
  // The budget is per user: Bob's is untouched.
  EXPECT_EQ(w.Sync(w.b, {"+1", "+2", "+3", "+4"}).status, Code::kOk);
}

TEST(ServerDiscovery, ResolvePhoneSpendsTheSameBudget) {
  World w;
  EXPECT_EQ(w.Resolve(w.c, "+15550000001"), static_cast<int64_t>(w.a.user_id));
  EXPECT_EQ(w.Sync(w.c, {"+1", "+2", "+3", "+4"}).status, Code::kOk);  // 5 of 5 spent
  EXPECT_EQ(w.Resolve(w.c, "+15550000002"), -static_cast<int64_t>(Code::kRateLimited));
  EXPECT_EQ(w.Sync(w.c, {"+1"}).status, Code::kRateLimited);
  w.h.now_ms += kSecondMs;
  EXPECT_EQ(w.Resolve(w.c, "+15550000002"), static_cast<int64_t>(w.b.user_id));
  EXPECT_EQ(w.Resolve(w.c, "+15550000002"), -static_cast<int64_t>(Code::kRateLimited));
}

}  // namespace
}  // namespace tern::server::testing
