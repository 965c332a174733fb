// Hostile connections against the real ternd while two well-behaved clients keep chatting:
// a thousand connections opened at once from one address (per-address cap and accept rate),
// a reader that never drains (bounded server memory, then disconnect, nothing lost), and a
// half-open authenticated connection (closed by the heartbeat deadline).
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/integration/hostile_util.h"

namespace tern::testing {
namespace {

std::string Log(const TestServer& s) {
  std::ifstream in(s.root() + "/ternd.log");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// True once the peer closed `fd` (EOF or reset) within timeout_ms; reads and discards data.
bool ClosedWithin(int fd, int timeout_ms) {
  const uint64_t deadline = tools::SteadyNowMs() + static_cast<uint64_t>(timeout_ms);
  char buf[4096];
  while (true) {
    uint64_t now = tools::SteadyNowMs();
    pollfd p{fd, POLLIN, 0};
    int n = ::poll(&p, 1, now >= deadline ? 0 : static_cast<int>(deadline - now));
    if (n <= 0) return false;
    ssize_t r = ::recv(fd, buf, sizeof buf, 0);
    if (r <= 0) return true;
  }
}

TEST(HostileConnTest, ConnectionFloodFromOneAddressIsCappedAndOthersCarryOn) {
  TestServer server({"--max-connections-per-ip", "50", "--accept-rate", "400"});
  ASSERT_TRUE(server.Start().ok());
  auto chat = Chatters::Create(server, "+1555072000");
  ASSERT_TRUE(chat.ok()) << chat.status().ToString();
  ASSERT_TRUE((*chat)->Exchange().ok());
  const uint64_t rss_before = RssOf(server.pid());

  // 1000 connections at once from 127.0.0.2 (another "address" on loopback).
  std::vector<std::unique_ptr<RawConn>> flood;
  for (int i = 0; i < 1000; ++i) {
    auto c = RawConn::Open(server.port(), "127.0.0.2");
    ASSERT_TRUE(c.ok()) << "connect " << i << ": " << c.status().ToString();
    flood.push_back(std::move(c).value());
  }
  ASSERT_TRUE((*chat)->Exchange().ok());  // the chatters (127.0.0.1) are untouched meanwhile
  // Refused ones were closed at accept; the bound covers a close still in flight.
  int open = 0;
  for (auto& c : flood) open += ClosedWithin(c->fd(), 20) ? 0 : 1;
  EXPECT_LE(open, 50) << "per-address cap not enforced";
  EXPECT_GT(open, 0);
  EXPECT_NE(Log(server).find("event=conn_refused ip=127.0.0.2 reason=max_connections_per_ip"), std::string::npos);

  // Another address still gets in (the accept bucket refills within milliseconds).
  Status reconnect = Status(Code::kUnavailable, "not tried");
  for (int attempt = 0; attempt < 20 && !reconnect.ok(); ++attempt)
    reconnect = (*chat)->alice().Resume().status();
  EXPECT_TRUE(reconnect.ok()) << reconnect.ToString();
  flood.clear();
  EXPECT_TRUE((*chat)->Exchange().ok());
  if (kRssBoundsApply) {
    EXPECT_LT(RssOf(server.pid()), rss_before + (8u << 20));
  }
  // And the flooding address may connect again once its connections are gone.
  auto again = RawConn::Open(server.port(), "127.0.0.2");
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE((*again)->Write(FrameOf(wire::Ping{7})).ok());
  EXPECT_FALSE(ClosedWithin((*again)->fd(), 100));
}

TEST(HostileConnTest, ReaderThatNeverDrainsIsDroppedAndLosesNothing) {
  TestServer server({"--max-outbound-bytes", "65536"});
  ASSERT_TRUE(server.Start().ok());
  auto chat = Chatters::Create(server, "+1555073000");
  ASSERT_TRUE(chat.ok()) << chat.status().ToString();
  tools::ClientCore::Options big_window;
  big_window.max_inflight = 1024;
  auto carol = RegisterUser(server, "+15550730009", big_window);
  ASSERT_TRUE(carol.ok()) << carol.status().ToString();
  (*carol)->Abort(false);
  const uint64_t rss_before = RssOf(server.pid());

  // Carol's device, on a connection with a tiny receive buffer that is never read.
  auto slow = RawConn::Open(server.port(), "", 4096);
  ASSERT_TRUE(slow.ok());
  wire::Resume r = ResumeOf(**carol);
  r.max_inflight = 1024;
  ASSERT_TRUE((*slow)->Authenticate(r, 3000).ok());
  const uint64_t carol_id = (*carol)->state().user_id;
  // ~6.5 MB for carol, all within her window: more than the kernel buffers of both sockets
  // (tcp_wmem allows the server's up to 4 MiB) plus max_outbound_bytes.
  std::vector<std::string> texts = Texts(std::string(6500, 'x'), 1000);
  auto seqs = SendAll((*chat)->bob(), carol_id, texts);
  ASSERT_TRUE(seqs.ok());
  auto acks = WaitForAcks((*chat)->bob(), *seqs);
  ASSERT_TRUE(acks.ok()) << acks.status().ToString();
  ASSERT_TRUE((*chat)->Exchange().ok());
  EXPECT_TRUE(ClosedWithin((*slow)->fd(), 5000)) << "the slow reader was not dropped";
  EXPECT_NE(Log(server).find("event=conn_overloaded conn="), std::string::npos);
  if (kRssBoundsApply) {
    EXPECT_LT(RssOf(server.pid()), rss_before + (32u << 20));
  }

  // Nothing was lost: carol resumes properly and gets every message once, in order.
  ASSERT_TRUE((*carol)->Resume().ok());
  ASSERT_TRUE((*carol)->WaitForItems(texts.size(), kWaitMs).ok());
  EXPECT_EQ(InboxTexts(**carol), texts);
  EXPECT_TRUE((*chat)->Exchange().ok());
}

TEST(HostileConnTest, HalfOpenAuthenticatedConnectionIsClosedAtTheHeartbeatDeadline) {
  TestServer server({"--heartbeat-ms", "1000"});
  ASSERT_TRUE(server.Start().ok());
  auto chat = Chatters::Create(server, "+1555074000");
  ASSERT_TRUE(chat.ok()) << chat.status().ToString();
  auto dave = RegisterUser(server, "+15550740009");
  ASSERT_TRUE(dave.ok());
  (*dave)->Abort(false);
  auto silent = RawConn::Open(server.port());
  ASSERT_TRUE(silent.ok());
  ASSERT_TRUE((*silent)->Authenticate(ResumeOf(**dave), 3000).ok());
  // The chatters keep polling (and so heartbeating) while the silent one times out.
  bool closed = false;
  const uint64_t deadline = tools::SteadyNowMs() + 5000;
  while (!closed && tools::SteadyNowMs() < deadline) {
    ASSERT_TRUE((*chat)->alice().Poll(50).ok());
    ASSERT_TRUE((*chat)->bob().Poll(50).ok());
    closed = ClosedWithin((*silent)->fd(), 0);
  }
  EXPECT_TRUE(closed) << "a silent connection outlived 1.5 x heartbeat";
  EXPECT_TRUE((*chat)->Exchange().ok());
}

}  // namespace
}  // namespace tern::testing
