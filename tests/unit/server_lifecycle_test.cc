// Server core: devices, expiry, limits and liveness under a fake clock.
#include <gtest/gtest.h>

#include "server_harness.h"

namespace tern::server::testing {
namespace {

TEST(ServerLifecycle, MultiDeviceConvergesOnOneOrder) {
  Harness h;
  TestDevice a1(h), a2(h), b1(h), b2(h);
  uint64_t a = h.Register(a1, "+15550000001");
  uint64_t b = h.Register(b1, "+15550000002");
  h.LinkDevice(a1, a2);
  h.LinkDevice(b1, b2);
  a1.SendMsg(wire::Send{1, b, "from a1"});
  b2.SendMsg(wire::Send{1, a, "from b2"});
  a2.SendMsg(wire::Send{1, b, "from a2"});
  h.Turn();
  // Each device sees every message of the chat except its own sends, in chat order.
  auto texts = [](const TestDevice& d) {
    std::vector<std::pair<uint64_t, std::string>> v;
    for (const auto& it : d.items) v.emplace_back(it.chat_seq, it.text);
    return v;
  };
  using V = std::vector<std::pair<uint64_t, std::string>>;
  EXPECT_EQ(texts(a1), (V{{2, "from b2"}, {3, "from a2"}}));
  EXPECT_EQ(texts(a2), (V{{1, "from a1"}, {2, "from b2"}}));
  EXPECT_EQ(texts(b1), (V{{1, "from a1"}, {2, "from b2"}, {3, "from a2"}}));
  EXPECT_EQ(texts(b2), (V{{1, "from a1"}, {3, "from a2"}}));
}

TEST(ServerLifecycle, ExpiredMessagesBecomeMissedAndExpiredNotices) {
  Harness h;
  TestDevice a(h), b(h);
  h.Register(a, "+15550000001");
  uint64_t bu = h.Register(b, "+15550000002");
  b.Drop();
  a.SendMsg(wire::Send{1, bu, "too late"});
  h.Turn();
  uint64_t msg_id = a.acks[1].msg_id;
  h.now_ms += h.config.message_ttl_ms + 1;
  a.SendMsg(wire::Ping{1});  // a stays alive across the jump; b is offline
  h.core->OnTick(h.now_ms);
  h.Turn();
  ASSERT_EQ(a.items.size(), 1u);  // the sender is told, live
  EXPECT_EQ(a.items[0].kind, wire::ItemKind::kExpired);
  EXPECT_EQ(a.items[0].msg_id, msg_id);
  h.Resume(b);
  ASSERT_EQ(b.items.size(), 1u);
  EXPECT_EQ(b.items[0].kind, wire::ItemKind::kMissed);
  EXPECT_EQ(b.items[0].msg_id, msg_id);
  EXPECT_TRUE(b.items[0].text.empty());
  EXPECT_EQ(h.Stats().messages, 0u);
}

TEST(ServerLifecycle, FullQueueRefusesWithQueueFull) {
  Config c;
  c.queue_cap = 3;
  Harness h(c);
  TestDevice a(h), b(h);
  h.Register(a, "+15550000001");
  uint64_t bu = h.Register(b, "+15550000002");
  b.Drop();
  for (uint64_t i = 1; i <= 4; ++i) a.SendMsg(wire::Send{i, bu, "x"});
  h.Turn();
  EXPECT_EQ(a.acks[3].status, Code::kOk);
  EXPECT_EQ(a.acks[4].status, Code::kQueueFull);
}

TEST(ServerLifecycle, UnlinkedDeviceIsClosedAndRefused) {
  Harness h;
  TestDevice a1(h), a2(h);
  h.Register(a1, "+15550000001");
  h.LinkDevice(a1, a2);
  a1.SendMsg(wire::UnlinkDevice{9, a2.device_id});
  h.Turn();
  EXPECT_TRUE(a2.closed_by_server());
  ASSERT_TRUE(a2.error);
  EXPECT_EQ(a2.error->code, Code::kBadCredentials);
  h.Resume(a2);
  ASSERT_TRUE(a2.error);
  EXPECT_EQ(a2.error->code, Code::kBadCredentials);
  EXPECT_FALSE(a2.welcome);
}

TEST(ServerLifecycle, WrongTokenAndWrongCodeAreRefused) {
  Harness h;
  TestDevice a(h), x(h);
  h.Register(a, "+15550000001");
  x.Connect();
  x.SendMsg(wire::Resume{wire::kProtocolVersion, a.user_id, a.device_id, "not-the-token", 0, 0, 0, 0});
  h.Turn();
  ASSERT_TRUE(x.error);
  EXPECT_EQ(x.error->code, Code::kBadCredentials);

  TestDevice y(h);
  y.Connect();
  y.SendMsg(wire::RequestCode{wire::kProtocolVersion, "+15550000009"});
  h.Turn();
  std::string good = h.sink.codes["+15550000009"];
  std::string bad = good == "000000" ? "111111" : "000000";
  y.SendMsg(wire::Verify{wire::kProtocolVersion, "+15550000009", bad, "p", 0});
  h.Turn();
  ASSERT_TRUE(y.error);
  EXPECT_EQ(y.error->code, Code::kBadCredentials);
}

TEST(ServerLifecycle, OtpAttemptsAreLimited) {
  Config c;
  c.otp_max_attempts = 2;
  Harness h(c);
  TestDevice d(h);
  std::string phone = "+15550000003";
  d.Connect();
  d.SendMsg(wire::RequestCode{wire::kProtocolVersion, phone});
  h.Turn();
  std::string good = h.sink.codes[phone];
  std::string bad = good == "000000" ? "111111" : "000000";
  for (int i = 0; i < 2; ++i) {
    d.Connect();
    d.SendMsg(wire::Verify{wire::kProtocolVersion, phone, bad, "p", 0});
    h.Turn();
  }
  d.Connect();
  d.SendMsg(wire::Verify{wire::kProtocolVersion, phone, good, "p", 0});  // too late
  h.Turn();
  ASSERT_TRUE(d.error);
  EXPECT_EQ(d.error->code, Code::kRateLimited);
}

TEST(ServerLifecycle, LinkCodeIsSingleUseAndExpires) {
  Harness h;
  TestDevice a(h), l1(h), l2(h), l3(h);
  h.Register(a, "+15550000001");
  a.SendMsg(wire::CreateLinkCode{1});
  h.Turn();
  std::string code;
  for (const auto& m : a.received)
    if (auto* lc = std::get_if<wire::LinkCode>(&m)) code = lc->code;
  l1.Connect();
  l1.SendMsg(wire::Link{wire::kProtocolVersion, code, "l1", 0});
  h.Turn();
  EXPECT_TRUE(l1.welcome);
  l2.Connect();
  l2.SendMsg(wire::Link{wire::kProtocolVersion, code, "l2", 0});
  h.Turn();
  ASSERT_TRUE(l2.error);
  EXPECT_EQ(l2.error->code, Code::kBadCredentials);

  a.received.clear();
  a.SendMsg(wire::CreateLinkCode{2});
  h.Turn();
  for (const auto& m : a.received)
    if (auto* lc = std::get_if<wire::LinkCode>(&m)) code = lc->code;
  h.now_ms += h.config.link_code_ttl_ms;
  l3.Connect();
  l3.SendMsg(wire::Link{wire::kProtocolVersion, code, "l3", 0});
  h.Turn();
  ASSERT_TRUE(l3.error);
  EXPECT_EQ(l3.error->code, Code::kExpired);
}

TEST(ServerLifecycle, SilentConnectionIsClosedAfterOneAndAHalfHeartbeats) {
  Harness h;
  TestDevice a(h);
  h.Register(a, "+15550000001");
  h.now_ms += h.config.heartbeat_ms;  // one interval: still fine
  h.core->OnTick(h.now_ms);
  h.Turn();
  EXPECT_TRUE(a.connected());
  h.now_ms += h.config.heartbeat_ms / 2;
  h.core->OnTick(h.now_ms);
  h.Turn();
  EXPECT_FALSE(a.connected());
  ASSERT_TRUE(a.error);
  EXPECT_EQ(a.error->code, Code::kTimeout);
}

TEST(ServerLifecycle, PingIsAnsweredAndKeepsTheConnection) {
  Harness h;
  TestDevice a(h);
  h.Register(a, "+15550000001");
  for (int i = 0; i < 3; ++i) {
    h.now_ms += h.config.heartbeat_ms;
    a.SendMsg(wire::Ping{static_cast<uint64_t>(i)});
    h.core->OnTick(h.now_ms);
    h.Turn();
  }
  EXPECT_TRUE(a.connected());
  EXPECT_TRUE(std::holds_alternative<wire::Pong>(a.received.back()));
}

TEST(ServerLifecycle, SecondConnectionOfADeviceReplacesTheFirst) {
  Harness h;
  TestDevice a(h), b(h);
  h.Register(a, "+15550000001");
  uint64_t bu = h.Register(b, "+15550000002");
  b.Drop();
  a.SendMsg(wire::Send{1, bu, "m1"});
  h.Turn();
  h.Resume(b);
  ASSERT_EQ(b.items.size(), 1u);
  // A new connection for the same device (no ack sent on the first one).
  TestDevice b_new(h);
  b_new.user_id = b.user_id;
  b_new.device_id = b.device_id;
  b_new.token = b.token;
  b_new.epoch = b.epoch;
  h.Resume(b_new);
  EXPECT_TRUE(b.closed_by_server());
  ASSERT_TRUE(b.error);
  EXPECT_EQ(b.error->code, Code::kReplaced);
  ASSERT_EQ(b_new.items.size(), 1u);  // not acked on the old one: sent again
  EXPECT_EQ(b_new.items[0].text, "m1");
}

TEST(ServerLifecycle, HandshakeTimesOut) {
  Harness h;
  TestDevice a(h);
  a.Connect();
  h.now_ms += h.config.handshake_timeout_ms;
  h.core->OnTick(h.now_ms);
  h.Turn();
  EXPECT_FALSE(a.connected());
  ASSERT_TRUE(a.error);
  EXPECT_EQ(a.error->code, Code::kTimeout);
}

}  // namespace
}  // namespace tern::server::testing
