// Authorization audit against the real ternd: each test tries an operation the caller may not do
// and checks it fails, while the victims' own chat carries on unharmed. What exists today is
// 1:1 chats and devices; the group (non-admin changes, sending to a chat one is not in) and
// asset (tickets for assets not shared with you) checks arrive with those features.
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include <string>

#include "tests/integration/hostile_util.h"

namespace tern::testing {
namespace {

std::optional<Code> Refusal(const TestServer& server, const std::string& bytes) {
  auto conn = RawConn::Open(server.port());
  EXPECT_TRUE(conn.ok());
  if (!conn.ok()) return std::nullopt;
  EXPECT_TRUE((*conn)->Write(bytes).ok());
  std::string got;
  EXPECT_TRUE((*conn)->ReadUntilClosed(3000, &got).ok()) << "not closed";
  return RawConn::ErrorIn(got);
}

class AuthzAuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start().ok());
    auto c = Chatters::Create(server_, "+1555080000");
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    chat_ = std::move(c).value();
    ASSERT_TRUE(chat_->Exchange().ok());
  }
  void TearDown() override {
    if (chat_) {
      EXPECT_TRUE(chat_->Exchange().ok()) << "the victims' chat was hurt";
    }
  }
  TestServer server_{{"--link-code-ttl-ms", "300", "--otp-fail-delay-ms", "100"}};
  std::unique_ptr<Chatters> chat_;
};

TEST_F(AuthzAuditTest, ResumeAsAnotherDeviceIsRefused) {
  auto mallory = RegisterUser(server_, "+15550800009");
  ASSERT_TRUE(mallory.ok());
  wire::Resume r = ResumeOf(chat_->bob());
  r.token = (*mallory)->state().token;  // bob's ids, mallory's (valid) token
  EXPECT_EQ(Refusal(server_, FrameOf(r)), Code::kBadCredentials);
  r.token = std::string(32, 'x');       // bob's ids, a guessed token
  EXPECT_EQ(Refusal(server_, FrameOf(r)), Code::kBadCredentials);
  wire::Resume other_device = ResumeOf(**mallory);
  other_device.device_id += 1;          // mallory's token on a device id that is not hers
  EXPECT_EQ(Refusal(server_, FrameOf(other_device)), Code::kBadCredentials);
}

TEST_F(AuthzAuditTest, AcksOnlyReachTheCallersOwnQueue) {
  // InboxAck names no device: it applies to the authenticated one. Acking past what the server
  // sent (to delete someone else's items, or unseen ones) is a protocol violation.
  auto mallory = RegisterUser(server_, "+15550800019");
  ASSERT_TRUE(mallory.ok());
  (*mallory)->Abort(false);
  auto conn = RawConn::Open(server_.port());
  ASSERT_TRUE(conn.ok());
  ASSERT_TRUE((*conn)->Authenticate(ResumeOf(**mallory), 3000).ok());
  ASSERT_TRUE((*conn)->Write(FrameOf(wire::InboxAck{1000000})).ok());
  std::string got;
  ASSERT_TRUE((*conn)->ReadUntilClosed(3000, &got).ok());
  EXPECT_EQ(RawConn::ErrorIn(got), Code::kProtocol);
  // Bob's queue still holds what was sent to him while he is away.
  const size_t had = chat_->bob().inbox().size();
  chat_->bob().Abort(false);
  auto sent = chat_->alice().Send(chat_->bob().state().user_id, "kept for bob");
  ASSERT_TRUE(sent.ok());
  ASSERT_TRUE(chat_->alice().WaitForAck(*sent, kWaitMs).ok());
  ASSERT_TRUE(chat_->bob().Resume().ok());
  ASSERT_TRUE(chat_->bob().WaitForItems(had + 1, kWaitMs).ok());
  EXPECT_EQ(chat_->bob().inbox().back().text, "kept for bob");
}

TEST_F(AuthzAuditTest, LinkCodesAreSingleUseAndExpire) {
  auto code = chat_->alice().CreateLinkCode();
  ASSERT_TRUE(code.ok());
  Client::Options o = server_.ClientOptions();
  auto first = Client::Create(o);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE((*first)->Link(code->code, "laptop").ok());
  auto second = Client::Create(o);
  ASSERT_TRUE(second.ok());
  auto reused = (*second)->Link(code->code, "thief");
  ASSERT_FALSE(reused.ok());
  EXPECT_EQ(reused.status().code(), Code::kBadCredentials) << reused.status().ToString();

  auto stale = chat_->alice().CreateLinkCode();  // link_code_ttl_ms = 300 on this server
  ASSERT_TRUE(stale.ok());
  ASSERT_TRUE(chat_->alice().Poll(400).ok());  // let the code's lifetime pass (real clock)
  auto late = Client::Create(o);
  ASSERT_TRUE(late.ok());
  auto expired = (*late)->Link(stale->code, "late");
  ASSERT_FALSE(expired.ok());
  EXPECT_TRUE(expired.status().code() == Code::kExpired || expired.status().code() == Code::kBadCredentials)
      << expired.status().ToString();
}

TEST_F(AuthzAuditTest, OtpGuessesAreLimitedPerCode) {
  Client::Options o = server_.ClientOptions();
  auto c = Client::Create(o);
  ASSERT_TRUE(c.ok());
  const std::string phone = "+15550800029";
  ASSERT_TRUE((*c)->RequestCode(phone).ok());
  auto real = server_.CodeFor(phone);
  ASSERT_TRUE(real.ok());
  for (int i = 0; i < 5; ++i) {  // each wrong guess costs a connection
    std::string guess = std::string(6, static_cast<char>('0' + i));
    if (guess == *real) guess = "999999";
    auto w = (*c)->Verify(phone, guess, "guesser");
    ASSERT_FALSE(w.ok());
    EXPECT_EQ(w.status().code(), Code::kBadCredentials) << w.status().ToString();
    if (i == 4) break;
    // Slowed: the next guess right away is refused without being judged (not even the right
    // code would pass), until 100 ms x 2^i have gone by.
    auto hasty = (*c)->Verify(phone, *real, "guesser");
    ASSERT_FALSE(hasty.ok());
    EXPECT_EQ(hasty.status().code(), Code::kRateLimited) << hasty.status().ToString();
    std::this_thread::sleep_for(std::chrono::milliseconds(100 << i) + std::chrono::milliseconds(20));
  }
  auto w = (*c)->Verify(phone, *real, "guesser");  // the right code, too late: the code is void
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), Code::kRateLimited) << w.status().ToString();
  auto again = (*c)->RequestCode(phone);  // and no new code before otp_resend_ms
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), Code::kRateLimited) << again.status().ToString();
}

TEST_F(AuthzAuditTest, UnlinkedDevicesTokenStopsWorking) {
  auto linked = LinkDevice(server_, chat_->alice(), "tablet");
  ASSERT_TRUE(linked.ok()) << linked.status().ToString();
  wire::Resume r = ResumeOf(**linked);
  ASSERT_TRUE(chat_->alice().UnlinkDevice((*linked)->state().device_id).ok());
  EXPECT_EQ(Refusal(server_, FrameOf(r)), Code::kBadCredentials);
}

TEST_F(AuthzAuditTest, SendingToNoSuchUserIsRefused) {
  auto seq = chat_->alice().Send(0xfffffffffffull, "to nobody");
  ASSERT_TRUE(seq.ok());
  auto ack = chat_->alice().WaitForAck(*seq, kWaitMs);
  ASSERT_TRUE(ack.ok());
  EXPECT_EQ(ack->status, Code::kNotFound);
}

}  // namespace
}  // namespace tern::testing
