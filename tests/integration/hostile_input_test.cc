// Hostile bytes against the real ternd while two well-behaved clients keep chatting: bytes that
// are not TLS, a truncated TLS handshake, malformed frames, a 4 GiB length prefix, large frames
// before authentication, zstd bombs (before and after authentication), invalid FlatBuffers.
// Each attack gets an Error frame with a clear code (or, below the frames, a TLS alert) and a
// close; the chatters see no error and lose nothing; ternd's memory stays where it was.
//
// Frame-level attacks run on a --plain-tcp server (the frames are the same under TLS, and plain
// bytes are what a test can craft); TLS-level ones on a TLS server.
#include <gtest/gtest.h>
#include <zstd.h>

#include <random>
#include <string>

#include "tests/integration/hostile_util.h"
#include "wire/tern_generated.h"

namespace tern::testing {
namespace {

constexpr int kCloseMs = 3000;

// Sends `bytes` on a fresh connection (optionally after a Resume as `as`) and returns the Error
// code the server answered with before closing (nullopt if none). Fails the test if the
// connection is not closed within kCloseMs.
std::optional<Code> Attack(const TestServer& server, const std::string& bytes, const Client* as = nullptr) {
  auto conn = RawConn::Open(server.port());
  EXPECT_TRUE(conn.ok()) << conn.status().ToString();
  if (!conn.ok()) return std::nullopt;
  std::string got;
  if (as != nullptr) {  // authenticate first: the attack then meets the post-auth rules
    Status authed = (*conn)->Authenticate(ResumeOf(*as), kCloseMs);
    EXPECT_TRUE(authed.ok()) << authed.ToString();
  }
  Status w = (*conn)->Write(bytes);  // may fail with EPIPE/RST: the server was quick
  (void)w;
  Status closed = (*conn)->ReadUntilClosed(kCloseMs, &got);
  EXPECT_TRUE(closed.ok()) << "connection not closed: " << closed.ToString();
  return RawConn::ErrorIn(got);
}

class HostileInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start().ok());
    auto c = Chatters::Create(server_, "+1555070000");
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    chat_ = std::move(c).value();
    auto v = RegisterUser(server_, "+15550700009");  // the attacker's own (valid) device
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    mallory_ = std::move(v).value();
    mallory_->Abort(false);
    ASSERT_TRUE(chat_->Exchange().ok());
    baseline_rss_ = RssOf(server_.pid());
  }
  void TearDown() override {
    if (!chat_) return;
    Status st = chat_->Exchange();
    EXPECT_TRUE(st.ok()) << "the well-behaved clients were hurt: " << st.ToString();
    // Small attacks must not grow the server: allow allocator noise only.
    if (kRssBoundsApply) {
      EXPECT_LT(RssOf(server_.pid()), baseline_rss_ + (8u << 20));
    }
  }

  TestServer server_;
  std::unique_ptr<Chatters> chat_;
  std::unique_ptr<Client> mallory_;
  uint64_t baseline_rss_ = 0;
};

TEST_F(HostileInputTest, MalformedFrameHeadersAreProtocolErrors) {
  EXPECT_EQ(Attack(server_, std::string("\x02\x02\x00", 3)), Code::kProtocol);  // reserved flag bit
  EXPECT_EQ(Attack(server_, std::string("\x80\x00", 2)), Code::kProtocol);      // non-minimal varint
  EXPECT_EQ(Attack(server_, std::string("\x00", 1)), Code::kProtocol);          // n = 0
  EXPECT_EQ(Attack(server_, std::string("\xff\xff\xff\xff\xff", 5)), Code::kProtocol);  // 6-byte varint
  EXPECT_TRUE(chat_->Exchange().ok());
}

TEST_F(HostileInputTest, FourGiBLengthPrefixIsRefusedBeforeAnyBody) {
  const std::string four_gib("\xff\xff\xff\xff\x0f", 5);  // n = 2^32 - 1
  EXPECT_EQ(Attack(server_, four_gib), Code::kFrameTooLarge);
  EXPECT_EQ(Attack(server_, four_gib, mallory_.get()), Code::kFrameTooLarge);  // after auth too
}

TEST_F(HostileInputTest, LargeFrameBeforeAuthenticationIsRefusedAtTheHeader) {
  std::string header;
  wire::PutVarint(header, 2001);  // a 2000-byte body: over the 1024-byte pre-auth limit
  EXPECT_EQ(Attack(server_, header), Code::kFrameTooLarge);  // no body needed: judged at once
  EXPECT_EQ(Attack(server_, header + "\x00" + std::string(2000, 'A')), Code::kFrameTooLarge);
}

TEST_F(HostileInputTest, ZstdBombsAreRefusedBeforeAndAfterAuthentication) {
  std::string zeros(64u << 20, '\0');  // 64 MiB of zeros compress to a few KiB
  std::string bomb(ZSTD_compressBound(zeros.size()), '\0');
  bomb.resize(ZSTD_compress(bomb.data(), bomb.size(), zeros.data(), zeros.size(), 1));
  ASSERT_LT(bomb.size(), 4096u);
  std::string small_bomb(ZSTD_compressBound(1u << 20), '\0');  // fits the pre-auth limit
  small_bomb.resize(ZSTD_compress(small_bomb.data(), small_bomb.size(), zeros.data(), 1u << 20, 1));
  ASSERT_LT(small_bomb.size(), 1000u);
  auto compressed = [](const std::string& body) { return wire::EncodeFrame(wire::kFlagCompressed, body); };
  auto pre = Attack(server_, compressed(small_bomb));
  ASSERT_TRUE(pre.has_value());
  EXPECT_TRUE(*pre == Code::kProtocol || *pre == Code::kFrameTooLarge) << CodeName(*pre);
  auto post = Attack(server_, compressed(bomb), mallory_.get());
  ASSERT_TRUE(post.has_value());
  EXPECT_TRUE(*post == Code::kProtocol || *post == Code::kFrameTooLarge) << CodeName(*post);
}

TEST_F(HostileInputTest, InvalidFlatBuffersAreProtocolErrors) {
  std::mt19937 rng(6);
  for (int i = 0; i < 20; ++i) {  // random bodies, before and after authentication
    std::string body(1 + rng() % 900, '\0');
    for (char& ch : body) ch = static_cast<char>(rng());
    auto code = Attack(server_, wire::EncodeFrame(0, body), i % 2 ? mallory_.get() : nullptr);
    ASSERT_TRUE(code.has_value()) << "random body " << i;
    EXPECT_TRUE(*code == Code::kProtocol || *code == Code::kUnauthenticated) << CodeName(*code);
  }
  // A root offset pointing at itself, and one pointing far outside the buffer.
  EXPECT_EQ(Attack(server_, wire::EncodeFrame(0, std::string("\x00\x00\x00\x00\x00\x00\x00\x00", 8))), Code::kProtocol);
  EXPECT_EQ(Attack(server_, wire::EncodeFrame(0, std::string("\xf0\xff\xff\x7f\x00\x00\x00\x00", 8))), Code::kProtocol);
  // A valid Send table whose text length runs past the end of the buffer.
  wire::Send hello;
  hello.client_seq = 1;
  hello.to_user = 1;
  hello.text = "hello";
  std::string send = wire::EncodeMessage(hello);
  size_t at = send.find("hello");
  ASSERT_TRUE(at != std::string::npos && at >= 4);
  send[at - 4] = '\x7f';  // the string's u32 length: 127 bytes, past the end
  EXPECT_EQ(Attack(server_, wire::EncodeFrame(0, send), mallory_.get()), Code::kProtocol);
}

// Nesting and sharing: the schema has no recursive type, so depth is bounded by it (and by the
// verifier's max_depth); what a crafted buffer can still do is point many offsets at one table.
// A Send whose assets vector names one AssetRef 60,000 times (240 KB of offsets, a
// "billion laughs" in FlatBuffers form) is refused before anything is materialised, and the
// well-behaved clients of the fixture chat on (TearDown).
TEST_F(HostileInputTest, SharedAndNestedFlatBufferTablesAreProtocolErrors) {
  flatbuffers::FlatBufferBuilder b;
  auto one = fb::CreateAssetRef(b, 1, 10, b.CreateString("image/jpeg"));
  std::vector<flatbuffers::Offset<fb::AssetRef>> same(60000, one);
  auto assets = b.CreateVector(same);
  auto send = fb::CreateSend(b, 1, 1, b.CreateString("x"), 0, 0, assets);
  b.Finish(fb::CreateFrame(b, fb::Msg::Send, send.Union()));
  std::string bomb(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
  EXPECT_EQ(Attack(server_, wire::EncodeFrame(0, bomb), mallory_.get()), Code::kProtocol);

}

// Below the frames: a TLS server facing bytes that are not TLS, and a handshake cut short.
TEST(HostileTlsTest, NotTlsAndTruncatedHandshakeAreClosedWhileTlsClientsChat) {
  TestServer server({"--handshake-timeout-ms", "800", "--heartbeat-ms", "60000"}, Security::kTls);
  ASSERT_TRUE(server.Start().ok());
  auto chat = Chatters::Create(server, "+1555071000");
  ASSERT_TRUE(chat.ok()) << chat.status().ToString();
  ASSERT_TRUE((*chat)->Exchange().ok());

  // Plain frames (a Ping) and an HTTP request: not TLS records. A TLS alert, then close.
  for (const std::string& junk : {FrameOf(wire::Ping{1}), std::string("GET / HTTP/1.1\r\nHost: x\r\n\r\n")}) {
    auto conn = RawConn::Open(server.port());
    ASSERT_TRUE(conn.ok());
    ASSERT_TRUE((*conn)->Write(junk).ok());
    std::string got;
    ASSERT_TRUE((*conn)->ReadUntilClosed(kCloseMs, &got).ok());
    if (!got.empty()) {
      EXPECT_EQ(got[0], '\x15') << "not a TLS alert record";
    }
  }
  // A ClientHello record header and a few bytes, then silence: closed at the handshake timeout.
  auto conn = RawConn::Open(server.port());
  ASSERT_TRUE(conn.ok());
  ASSERT_TRUE((*conn)->Write(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11)).ok());
  ASSERT_TRUE((*chat)->Exchange().ok());  // meanwhile
  std::string got;
  EXPECT_TRUE((*conn)->ReadUntilClosed(kCloseMs, &got).ok());
  EXPECT_TRUE((*chat)->Exchange().ok());
}

}  // namespace
}  // namespace tern::testing
