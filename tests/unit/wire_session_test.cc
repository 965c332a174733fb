// Session: pre-auth rules, the auth switch, directions, sticky failure, Error frames.
#include <string>
#include <variant>
#include <vector>

#include <gtest/gtest.h>

#include "tests/unit/wire_test_util.h"
#include "wire/session.h"

namespace tern::wire::testing {
namespace {

Session Server() { return Session(Session::Role::kServer, Session::Options{}); }
Session Client() { return Session(Session::Role::kClient, Session::Options{}); }

std::vector<Message> Events(Session& s) {
  std::vector<Message> out;
  while (auto m = s.NextEvent()) out.push_back(std::move(*m));
  return out;
}

// Decodes every frame of `bytes` (the session's output); fails the test on a malformed one.
std::vector<Message> Frames(const std::string& bytes) {
  FrameDecoder dec(1 << 20);
  dec.Feed(Bytes(bytes));
  std::vector<Message> out;
  for (;;) {
    auto f = dec.Next();
    EXPECT_TRUE(f.ok());
    if (!f.ok() || !f.value().has_value()) break;
    auto m = DecodeMessage(Bytes(f.value()->body));
    EXPECT_TRUE(m.ok());
    if (m.ok()) out.push_back(std::move(m.value()));
  }
  EXPECT_EQ(dec.buffered(), 0u);
  return out;
}

// The single Error frame a failed server session queued.
Error OnlyError(Session& s) {
  auto frames = Frames(s.TakeOutput());
  EXPECT_EQ(frames.size(), 1u);
  if (frames.size() != 1 || !std::holds_alternative<Error>(frames[0])) return Error{Code::kOk, ""};
  return std::get<Error>(frames[0]);
}

Welcome AWelcome() { return Welcome{7, 2, "", 3, false, 0, 270000, 1, 256 * 1024, 64}; }

TEST(Session, PreAuthMessageIsDelivered) {
  Session s = Server();
  ASSERT_TRUE(s.Feed(Bytes(FrameOf(Resume{1, 7, 2, "tok"}) + FrameOf(Ping{5}))).ok());
  auto ev = Events(s);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(std::get<Resume>(ev[0]).token, "tok");
  EXPECT_EQ(std::get<Ping>(ev[1]).nonce, 5u);
  EXPECT_EQ(s.state(), Session::State::kHandshake);
  EXPECT_FALSE(s.has_output());
}

TEST(Session, PostAuthMessageBeforeAuthIsUnauthenticatedWithErrorFrame) {
  Session s = Server();
  Status st = s.Feed(Bytes(FrameOf(Send{1, 2, "hi"})));
  EXPECT_EQ(st.code(), Code::kUnauthenticated);
  EXPECT_TRUE(s.failed());
  EXPECT_FALSE(s.NextEvent().has_value());
  EXPECT_EQ(OnlyError(s).code, Code::kUnauthenticated);
}

TEST(Session, OversizedPreAuthFrameIsFrameTooLarge) {
  Session s = Server();
  std::string header;
  PutVarint(header, 1026);  // 1025-byte body: the body never needs to arrive
  EXPECT_EQ(s.Feed(Bytes(header)).code(), Code::kFrameTooLarge);
  EXPECT_EQ(OnlyError(s).code, Code::kFrameTooLarge);
}

TEST(Session, SendingWelcomeAuthenticatesAndRaisesTheLimit) {
  Session s = Server();
  const std::string big = FrameOf(Send{1, 2, std::string(4000, 't')});
  ASSERT_TRUE(s.Feed(Bytes(FrameOf(Resume{1, 7, 2, "tok"}))).ok());
  s.Send(AWelcome());
  EXPECT_TRUE(s.authenticated());
  ASSERT_TRUE(s.Feed(Bytes(big)).ok());
  auto ev = Events(s);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(std::get<Send>(ev[1]).text.size(), 4000u);
  auto out = Frames(s.TakeOutput());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<Welcome>(out[0]));
}

TEST(Session, PostAuthLimitStillApplies) {
  Session::Options opts;
  opts.max_frame = 2048;
  Session s(Session::Role::kServer, opts);
  s.Send(AWelcome());
  EXPECT_EQ(s.Feed(Bytes(FrameOf(Send{1, 2, std::string(4000, 't')}))).code(),
            Code::kFrameTooLarge);
}

TEST(Session, WrongDirectionMessageIsProtocol) {
  Session s = Server();
  EXPECT_EQ(s.Feed(Bytes(FrameOf(Welcome{}))).code(), Code::kProtocol);
  EXPECT_EQ(OnlyError(s).code, Code::kProtocol);

  Session c = Client();
  EXPECT_EQ(c.Feed(Bytes(FrameOf(Resume{}))).code(), Code::kProtocol);
  EXPECT_FALSE(c.has_output());  // a client never answers with an Error frame on its own
}

TEST(Session, HandshakeMessageAfterAuthIsProtocol) {
  Session s = Server();
  s.Send(AWelcome());
  (void)s.TakeOutput();
  EXPECT_EQ(s.Feed(Bytes(FrameOf(Resume{1, 7, 2, "tok"}))).code(), Code::kProtocol);
  EXPECT_EQ(OnlyError(s).code, Code::kProtocol);
}

TEST(Session, CompressedFrameIsProtocol) {
  Session s = Server();
  EXPECT_EQ(s.Feed(Bytes(EncodeFrame(kFlagCompressed, EncodeMessage(Ping{1})))).code(),
            Code::kProtocol);
  EXPECT_EQ(OnlyError(s).code, Code::kProtocol);
}

TEST(Session, GarbageBodyIsProtocol) {
  Session s = Server();
  EXPECT_EQ(s.Feed(Bytes(EncodeFrame(0, "not a flatbuffer"))).code(), Code::kProtocol);
  EXPECT_EQ(OnlyError(s).code, Code::kProtocol);
}

TEST(Session, FailureIsSticky) {
  Session s = Server();
  EXPECT_EQ(s.Feed(Bytes(FrameOf(InboxAck{1}))).code(), Code::kUnauthenticated);
  (void)s.TakeOutput();
  EXPECT_EQ(s.Feed(Bytes(FrameOf(Ping{1}))).code(), Code::kUnauthenticated);
  EXPECT_FALSE(s.NextEvent().has_value());
  s.Send(Pong{1});  // no-op once failed
  s.Fail(Status(Code::kTimeout, "late"));
  EXPECT_FALSE(s.has_output());
  EXPECT_EQ(s.failure().code(), Code::kUnauthenticated);
}

TEST(Session, MessagesBeforeAViolationAreStillDelivered) {
  Session s = Server();
  EXPECT_EQ(s.Feed(Bytes(FrameOf(Ping{1}) + FrameOf(Send{}) + FrameOf(Ping{2}))).code(),
            Code::kUnauthenticated);
  auto ev = Events(s);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(std::get<Ping>(ev[0]).nonce, 1u);
}

TEST(Session, FailQueuesErrorFrameInServerRole) {
  Session s = Server();
  s.Fail(Status(Code::kBadCredentials, std::string(5000, 'x')));
  EXPECT_TRUE(s.failed());
  EXPECT_EQ(s.failure().code(), Code::kBadCredentials);
  Error e = OnlyError(s);
  EXPECT_EQ(e.code, Code::kBadCredentials);
  EXPECT_LE(e.message.size(), 256u);  // fits the peer's pre-auth limit
}

TEST(Session, SendingErrorFailsTheSession) {
  Session s = Server();
  s.Send(Error{Code::kBadCredentials, "bad token"});
  EXPECT_TRUE(s.failed());
  EXPECT_EQ(s.failure().code(), Code::kBadCredentials);
  EXPECT_EQ(OnlyError(s).message, "bad token");
}

TEST(Session, ClientReceivingErrorFailsWithItsCodeAfterDeliveringIt) {
  Session c = Client();
  Status st = c.Feed(Bytes(FrameOf(Error{Code::kBadCredentials, "revoked"}) + FrameOf(Ping{1})));
  EXPECT_EQ(st.code(), Code::kBadCredentials);
  EXPECT_EQ(st.message(), "revoked");
  EXPECT_TRUE(c.failed());
  auto ev = Events(c);
  ASSERT_EQ(ev.size(), 1u);  // the Ping after the Error is not decoded
  EXPECT_EQ(std::get<Error>(ev[0]).message, "revoked");
  EXPECT_FALSE(c.has_output());
}

TEST(Session, ErrorWithCodeOkIsProtocol) {
  Session c = Client();
  EXPECT_EQ(c.Feed(Bytes(FrameOf(Error{Code::kOk, ""}))).code(), Code::kProtocol);
}

TEST(Session, ClientIsAuthenticatedByWelcomeAndAcceptsLargeFramesAfterIt) {
  Session c = Client();
  c.Send(Resume{1, 7, 2, "tok"});
  Deliver del{{InboxItem{1, ItemKind::kMessage, 1, 9, 1, 7, 1, 1, std::string(3000, 'm')}}};
  ASSERT_TRUE(c.Feed(Bytes(FrameOf(AWelcome()) + FrameOf(del))).ok());
  EXPECT_TRUE(c.authenticated());
  auto ev = Events(c);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<Welcome>(ev[0]));
  EXPECT_EQ(std::get<Deliver>(ev[1]).items[0].text.size(), 3000u);
}

TEST(Session, ClientRejectsPostAuthMessageBeforeWelcome) {
  Session c = Client();
  EXPECT_EQ(c.Feed(Bytes(FrameOf(SendAck{}))).code(), Code::kUnauthenticated);
}

TEST(Session, ClientRejectsSecondWelcome) {
  Session c = Client();
  EXPECT_EQ(c.Feed(Bytes(FrameOf(AWelcome()) + FrameOf(AWelcome()))).code(), Code::kProtocol);
}

TEST(Session, FeedingOneByteAtATimeGivesTheSameEvents) {
  const std::string stream = FrameOf(RequestCode{1, "+1555"}) + FrameOf(Ping{3}) +
                             FrameOf(Verify{1, "+1555", "123456", "p", 0});
  Session s = Server();
  for (char c : stream) ASSERT_TRUE(s.Feed(Bytes(std::string_view(&c, 1))).ok());
  auto ev = Events(s);
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(std::get<Verify>(ev[2]).code, "123456");
  EXPECT_EQ(s.bytes_in(), stream.size());
  EXPECT_EQ(s.frames_in(), 3u);
}

TEST(Session, CountsBytesAndFramesBothWays) {
  Session s = Server();
  const std::string in = FrameOf(Ping{1}) + FrameOf(Ping{2}).substr(0, 3);
  ASSERT_TRUE(s.Feed(Bytes(in)).ok());
  s.Send(Pong{1});
  s.Send(CodeSent{1, 2});
  EXPECT_EQ(s.bytes_in(), in.size());
  EXPECT_EQ(s.frames_in(), 1u);
  EXPECT_EQ(s.frames_out(), 2u);
  EXPECT_EQ(s.bytes_out(), s.output_size());
  EXPECT_EQ(s.bytes_out(), FrameOf(Pong{1}).size() + FrameOf(CodeSent{1, 2}).size());
}

}  // namespace
}  // namespace tern::wire::testing
