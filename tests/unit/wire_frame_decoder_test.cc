// FrameDecoder fed three ways (whole buffer, byte by byte, with a trailing partial frame), plus
// limits and sticky errors.
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/unit/wire_test_util.h"
#include "wire/frame.h"

namespace tern::wire::testing {
namespace {

// Every sample message framed, plus an empty body and a compressed-flag frame.
std::vector<Frame> StreamFrames() {
  std::vector<Frame> frames;
  for (const Message& m : SampleMessages()) frames.push_back(Frame{0, EncodeMessage(m)});
  frames.push_back(Frame{0, ""});
  frames.push_back(Frame{kFlagCompressed, std::string(300, 'z')});
  return frames;
}

std::string Concat(const std::vector<Frame>& frames) {
  std::string s;
  for (const Frame& f : frames) s += EncodeFrame(f.flags, f.body);
  return s;
}

// Drains every complete frame; fails the test on an error.
std::vector<Frame> Drain(FrameDecoder& dec) {
  std::vector<Frame> out;
  for (;;) {
    auto f = dec.Next();
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    if (!f.ok() || !f.value().has_value()) return out;
    out.push_back(std::move(*f.value()));
  }
}

void ExpectSame(const std::vector<Frame>& got, const std::vector<Frame>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].flags, want[i].flags) << i;
    EXPECT_EQ(got[i].body, want[i].body) << i;
  }
}

TEST(FrameDecoder, WholeBufferYieldsEveryFrame) {
  const auto frames = StreamFrames();
  FrameDecoder dec(1024);
  dec.Feed(Bytes(Concat(frames)));
  ExpectSame(Drain(dec), frames);
  EXPECT_EQ(dec.buffered(), 0u);
}

TEST(FrameDecoder, OneByteAtATimeYieldsEveryFrame) {
  const auto frames = StreamFrames();
  const std::string stream = Concat(frames);
  FrameDecoder dec(1024);
  std::vector<Frame> got;
  for (char c : stream) {
    dec.Feed(Bytes(std::string_view(&c, 1)));
    for (Frame& f : Drain(dec)) got.push_back(std::move(f));
    EXPECT_LE(dec.buffered(), 1024u + kMaxVarintBytes + 1);
  }
  ExpectSame(got, frames);
  EXPECT_EQ(dec.buffered(), 0u);
}

TEST(FrameDecoder, TrailingPartialFrameStaysBuffered) {
  const auto frames = StreamFrames();
  const std::string next = FrameOf(Ping{42});
  const std::string stream = Concat(frames) + next.substr(0, 5);
  FrameDecoder dec(1024);
  dec.Feed(Bytes(stream));
  ExpectSame(Drain(dec), frames);
  EXPECT_EQ(dec.buffered(), 5u);
  dec.Feed(Bytes(next.substr(5)));
  auto rest = Drain(dec);
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].body, EncodeMessage(Ping{42}));
  EXPECT_EQ(dec.buffered(), 0u);
}

TEST(FrameDecoder, TruncatedFrameIsNeedData) {
  const std::string frame = FrameOf(Ping{7});
  for (size_t cut = 0; cut < frame.size(); ++cut) {
    FrameDecoder dec(1024);
    dec.Feed(Bytes(frame.substr(0, cut)));
    auto f = dec.Next();
    ASSERT_TRUE(f.ok()) << cut;
    EXPECT_FALSE(f.value().has_value()) << cut;
    EXPECT_EQ(dec.buffered(), cut);
  }
}

TEST(FrameDecoder, OversizedDeclaredLengthIsRejectedBeforeTheBodyArrives) {
  FrameDecoder dec(1024);
  std::string header;
  PutVarint(header, 5000);
  dec.Feed(Bytes(header));
  auto f = dec.Next();
  EXPECT_EQ(f.status().code(), Code::kFrameTooLarge);
  EXPECT_EQ(dec.buffered(), 0u);
}

TEST(FrameDecoder, ErrorsAreSticky) {
  FrameDecoder dec(1024);
  dec.Feed(Bytes(FromHex("0102")));  // unknown flag bit
  EXPECT_EQ(dec.Next().status().code(), Code::kProtocol);
  dec.Feed(Bytes(FrameOf(Ping{1})));
  auto again = dec.Next();
  EXPECT_EQ(again.status().code(), Code::kProtocol);
  EXPECT_EQ(again.status().message(), "unknown frame flag bits");
  EXPECT_EQ(dec.buffered(), 0u);  // nothing is kept after a failure
}

TEST(FrameDecoder, ValidFramesBeforeAnErrorAreReturnedFirst) {
  FrameDecoder dec(1024);
  dec.Feed(Bytes(FrameOf(Ping{1}) + FrameOf(Pong{2}) + FromHex("00")));
  ASSERT_TRUE(dec.Next().ok());
  ASSERT_TRUE(dec.Next().ok());
  EXPECT_EQ(dec.Next().status().code(), Code::kProtocol);
}

TEST(FrameDecoder, RaisedLimitAppliesToTheNextHeader) {
  const std::string big = EncodeFrame(0, std::string(2000, 'b'));
  FrameDecoder dec(1024);
  dec.Feed(Bytes(FrameOf(Ping{1}) + big));
  auto first = dec.Next();
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(first.value().has_value());
  dec.set_max_body(4096);
  auto second = dec.Next();
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  ASSERT_TRUE(second.value().has_value());
  EXPECT_EQ(second.value()->body.size(), 2000u);
}

TEST(FrameDecoder, BufferHoldsOnlyTheUnreturnedTail) {
  const std::string frame = FrameOf(Ping{9});
  FrameDecoder dec(1024);
  for (int i = 0; i < 1000; ++i) {
    dec.Feed(Bytes(frame + frame.substr(0, 3)));
    ASSERT_EQ(Drain(dec).size(), 1u);
    EXPECT_EQ(dec.buffered(), 3u);
    dec.Feed(Bytes(frame.substr(3)));
    ASSERT_EQ(Drain(dec).size(), 1u);
    EXPECT_EQ(dec.buffered(), 0u);
  }
}

}  // namespace
}  // namespace tern::wire::testing
