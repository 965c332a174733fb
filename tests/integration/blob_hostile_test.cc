// Hostile HTTP against the real ternd's built-in blob store (plain HTTP so the bytes are ours):
// oversized headers, wrong Content-Length, slowloris, path tricks. Each is refused, and a
// well-behaved upload and download right after (and a chat client) still work.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "tests/integration/blob_util.h"
#include "tests/integration/client_util.h"

namespace tern::testing {
namespace {

class BlobHostile : public ::testing::Test {
 protected:
  BlobHostile()
      : server_({"--blob-header-timeout-ms", "1000", "--blob-idle-timeout-ms", "1500", "--blob-max-header-bytes",
                 "4096", "--blob-max-object-bytes", "1000000"}) {}
  void SetUp() override {
    ASSERT_TRUE(server_.Start().ok());
    ASSERT_NE(server_.blob_port(), 0);
  }
  std::string Req(const std::string& method, const std::string& target, const std::string& headers,
                  const std::string& body = "") {
    return method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(server_.blob_port()) + "\r\n" +
           headers + "\r\n" + body;
  }
  // A good upload and download still work, and so does the chat side.
  void ExpectUnharmed(const std::string& key) {
    HttpReply put = OneShot(server_.blob_port(),
                            Req("PUT", BlobTarget(server_, "PUT", key), "Content-Length: 5\r\n", "hello"));
    EXPECT_EQ(put.status, 200) << put.head << put.body;
    HttpReply get = OneShot(server_.blob_port(), Req("GET", BlobTarget(server_, "GET", key), ""));
    EXPECT_EQ(get.status, 200);
    EXPECT_EQ(get.body, "hello");
    auto c = RegisterUser(server_, "+1555" + std::to_string(1000000 + (std::hash<std::string>()(key) % 8999999)));
    EXPECT_TRUE(c.ok()) << c.status().ToString();
  }
  TestServer server_;
};

TEST_F(BlobHostile, OversizedHeadersGet431AndAClose) {
  auto c = RawHttp::Connect(server_.blob_port()).value();
  ASSERT_TRUE(c->Send(Req("GET", BlobTarget(server_, "GET", "x"), "X-Big: " + std::string(8000, 'a') + "\r\n")).ok());
  EXPECT_EQ(c->Read().status, 431);
  EXPECT_TRUE(c->ClosedWithin(3000));
  // A header flood without an end (never a blank line) is cut at the limit too.
  auto d = RawHttp::Connect(server_.blob_port()).value();
  std::string flood = "GET /tern/x HTTP/1.1\r\n";
  for (int i = 0; i < 2000; ++i) flood += "X-" + std::to_string(i) + ": y\r\n";
  d->Send(flood).IgnoreError();  // the server may close before we finish writing
  EXPECT_EQ(d->Read().status, 431);
  ExpectUnharmed("after/headers");
}

TEST_F(BlobHostile, WrongContentLengthsAreRefused) {
  const std::string put = BlobTarget(server_, "PUT", "cl/short");
  // Longer than the body, then silence: the upload times out (408) and nothing becomes readable.
  auto c = RawHttp::Connect(server_.blob_port()).value();
  ASSERT_TRUE(c->Send(Req("PUT", put, "Content-Length: 100\r\n", "only ten b")).ok());
  EXPECT_EQ(c->Read(5000).status, 408);
  EXPECT_TRUE(c->ClosedWithin(3000));
  EXPECT_EQ(OneShot(server_.blob_port(), Req("GET", BlobTarget(server_, "GET", "cl/short"), "")).status, 404);
  // Shorter than the body: the rest is not a request -> 400 and a close.
  auto d = RawHttp::Connect(server_.blob_port()).value();
  ASSERT_TRUE(d->Send(Req("PUT", BlobTarget(server_, "PUT", "cl/long"), "Content-Length: 5\r\n", "helloXXXXX\r\n\r\n")).ok());
  EXPECT_EQ(d->Read().status, 200);
  EXPECT_EQ(d->Read().status, 400);
  EXPECT_TRUE(d->ClosedWithin(3000));
  // Two different Content-Lengths, a negative one, one over the object limit.
  EXPECT_EQ(OneShot(server_.blob_port(), Req("PUT", put, "Content-Length: 3\r\nContent-Length: 4\r\n", "abcd")).status,
            400);
  EXPECT_EQ(OneShot(server_.blob_port(), Req("PUT", put, "Content-Length: -1\r\n")).status, 400);
  EXPECT_EQ(OneShot(server_.blob_port(), Req("PUT", put, "Content-Length: 99999999999\r\n")).status, 413);
  EXPECT_EQ(OneShot(server_.blob_port(), Req("PUT", put, "")).status, 411);
  ExpectUnharmed("after/lengths");
}

TEST_F(BlobHostile, SlowlorisConnectionsAreClosedAtTheHeaderTimeout) {
  std::vector<std::unique_ptr<RawHttp>> slow;
  for (int i = 0; i < 40; ++i) {
    auto c = RawHttp::Connect(server_.blob_port());
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE((*c)->Send("GET /tern/x HTTP/1.1\r\nHost: a\r\n").ok());
    slow.push_back(std::move(c).value());
  }
  auto start = std::chrono::steady_clock::now();
  // Keep trickling a header byte every 200 ms; the header deadline does not move.
  bool all_closed = false;
  std::vector<bool> closed(slow.size(), false);
  while (!all_closed && std::chrono::steady_clock::now() - start < std::chrono::seconds(6)) {
    all_closed = true;
    for (size_t i = 0; i < slow.size(); ++i) {
      if (closed[i]) continue;
      if (!slow[i]->Send("X").ok() || slow[i]->ClosedWithin(5)) closed[i] = true;
      else all_closed = false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_TRUE(all_closed);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  // An idle connection that never sends a byte is closed at the idle timeout.
  auto idle = RawHttp::Connect(server_.blob_port()).value();
  EXPECT_TRUE(idle->ClosedWithin(4000));
  ExpectUnharmed("after/slowloris");
}

TEST_F(BlobHostile, PathTricksAreRefused) {
  const std::string q = BlobTarget(server_, "GET", "x");
  const std::string query = q.substr(q.find('?'));
  for (const char* path : {"/tern/../../etc/passwd", "/tern/a/../b", "/tern/a%2F..%2F..%2Fb", "/tern/..%2fx",
                           "/tern/a%5C..%5Cb", "/tern//x", "/tern/./x", "/tern/%2e%2e/x", "/tern/a%00b",
                           "/../tern/x"}) {
    HttpReply r = OneShot(server_.blob_port(), Req("GET", std::string(path) + query, ""));
    EXPECT_EQ(r.status, 400) << path << "\n" << r.head << r.body;
  }
  // Percent-encoded but harmless names are just names (and need their own signature).
  HttpReply other = OneShot(server_.blob_port(), Req("GET", "/tern/%78" + query, ""));
  EXPECT_EQ(other.status, 404);  // "/tern/x" decoded: signed for exactly that, not yet uploaded
  EXPECT_EQ(OneShot(server_.blob_port(), "GET http://127.0.0.1/tern/x HTTP/1.1\r\nHost: a\r\n\r\n").status, 400);
  ExpectUnharmed("after/paths");
}

}  // namespace
}  // namespace tern::testing
