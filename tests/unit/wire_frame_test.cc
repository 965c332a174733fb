// Framing: varints, frame headers, EncodeFrame and the incremental FrameDecoder (wire/frame.h).
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/unit/wire_test_util.h"
#include "wire/frame.h"

namespace tern::wire::testing {
namespace {

std::string Varint(uint64_t v) {
  std::string s;
  PutVarint(s, v);
  return s;
}

Result<std::optional<FrameHeader>> Parse(const std::string& hex, size_t max_body = 1024) {
  const std::string bytes = FromHex(hex);
  return ParseFrameHeader(Bytes(bytes), max_body);
}

TEST(Varint, EncodesLeb128LowGroupFirst) {
  EXPECT_EQ(ToHex(Varint(0)), "00");
  EXPECT_EQ(ToHex(Varint(1)), "01");
  EXPECT_EQ(ToHex(Varint(127)), "7f");
  EXPECT_EQ(ToHex(Varint(128)), "8001");
  EXPECT_EQ(ToHex(Varint(300)), "ac02");
  EXPECT_EQ(ToHex(Varint(16384)), "808001");
  EXPECT_EQ(ToHex(Varint(UINT32_MAX)), "ffffffff0f");
}

TEST(FrameHeader, EmptyInputNeedsMoreBytes) {
  auto h = Parse("");
  ASSERT_TRUE(h.ok());
  EXPECT_FALSE(h.value().has_value());
}

TEST(FrameHeader, VarintWithoutFlagsByteNeedsMoreBytes) {
  for (const char* hex : {"03", "ac", "ac02"}) {
    auto h = Parse(hex, 1 << 20);
    ASSERT_TRUE(h.ok()) << hex;
    EXPECT_FALSE(h.value().has_value()) << hex;
  }
}

TEST(FrameHeader, ParsesLengthAndFlags) {
  auto h = Parse("0300abcd");
  ASSERT_TRUE(h.ok());
  ASSERT_TRUE(h.value().has_value());
  EXPECT_EQ(h.value()->header_len, 2u);
  EXPECT_EQ(h.value()->body_len, 2u);
  EXPECT_EQ(h.value()->flags, 0);

  h = Parse("ac0201");  // n = 300: a compressed 299-byte body
  ASSERT_TRUE(h.ok());
  ASSERT_TRUE(h.value().has_value());
  EXPECT_EQ(h.value()->header_len, 3u);
  EXPECT_EQ(h.value()->body_len, 299u);
  EXPECT_EQ(h.value()->flags, kFlagCompressed);
}

TEST(FrameHeader, EmptyBodyIsValid) {
  auto h = Parse("0100");
  ASSERT_TRUE(h.ok());
  ASSERT_TRUE(h.value().has_value());
  EXPECT_EQ(h.value()->body_len, 0u);
}

TEST(FrameHeader, ZeroLengthIsProtocol) {
  EXPECT_EQ(Parse("00").status().code(), Code::kProtocol);
  EXPECT_EQ(Parse("0000").status().code(), Code::kProtocol);
}

TEST(FrameHeader, NonMinimalVarintIsProtocol) {
  EXPECT_EQ(Parse("8000").status().code(), Code::kProtocol);    // 0 in two bytes
  EXPECT_EQ(Parse("830000").status().code(), Code::kProtocol);  // 3 in two bytes
  EXPECT_EQ(Parse("83808000", 1 << 20).status().code(), Code::kProtocol);
}

TEST(FrameHeader, OverlongVarintIsProtocolAfterFiveBytes) {
  // Five continuation bytes are already a violation; no sixth byte is waited for.
  EXPECT_EQ(Parse("8080808080").status().code(), Code::kProtocol);
  EXPECT_EQ(Parse("808080808001").status().code(), Code::kProtocol);
  // Four continuation bytes may still be completed by a fifth.
  auto h = Parse("81808080");
  ASSERT_TRUE(h.ok());
  EXPECT_FALSE(h.value().has_value());
}

TEST(FrameHeader, VarintOverU32IsProtocol) {
  EXPECT_EQ(Parse("ffffffff1f00", SIZE_MAX).status().code(), Code::kProtocol);
  auto h = Parse("ffffffff0f00", SIZE_MAX);
  ASSERT_TRUE(h.ok());
  ASSERT_TRUE(h.value().has_value());
  EXPECT_EQ(h.value()->body_len, uint64_t{UINT32_MAX} - 1);
}

TEST(FrameHeader, UnknownFlagBitsAreProtocol) {
  for (const char* hex : {"0102", "0180", "01ff", "0103"}) {
    EXPECT_EQ(Parse(hex).status().code(), Code::kProtocol) << hex;
  }
}

TEST(FrameHeader, DeclaredLengthOverLimitIsFrameTooLargeBeforeFlagsByte) {
  // n = 1026: a 1025-byte body against a 1024 limit; only the varint has arrived.
  EXPECT_EQ(Parse(ToHex(Varint(1026)), 1024).status().code(), Code::kFrameTooLarge);
  auto h = Parse(ToHex(Varint(1025)) + "00", 1024);  // exactly the limit
  ASSERT_TRUE(h.ok());
  ASSERT_TRUE(h.value().has_value());
  EXPECT_EQ(h.value()->body_len, 1024u);
}

TEST(EncodeFrame, PrefixesLengthAndFlags) {
  EXPECT_EQ(ToHex(EncodeFrame(0, "ab")), "03006162");
  EXPECT_EQ(ToHex(EncodeFrame(kFlagCompressed, "")), "0101");
  const std::string big(200, 'x');
  EXPECT_EQ(ToHex(EncodeFrame(0, big).substr(0, 3)), "c90100");
  EXPECT_EQ(EncodeFrame(0, big).size(), 203u);
}

}  // namespace
}  // namespace tern::wire::testing
