#include "store/codec.h"

#include <gtest/gtest.h>

#include <limits>

namespace tern::store::codec {
namespace {

TEST(StoreCodec, BigEndianKeysSortNumerically) {
  std::string a, b;
  AppendBE64(a, 255);
  AppendBE64(b, 256);
  EXPECT_LT(a, b);  // std::string compares as unsigned char: memcmp order
  EXPECT_EQ(std::string("\x00\x00\x00\x00\x00\x00\x01\x00", 8), b);
  std::string k;
  AppendBE16(k, 0xabcd);
  AppendBE32(k, 0x01020304);
  AppendBE64(k, 0xfedcba9876543210ull);
  ASSERT_EQ(14u, k.size());
  EXPECT_EQ(0xabcd, LoadBE16(k.data()));
  EXPECT_EQ(0x01020304u, LoadBE32(k.data() + 2));
  EXPECT_EQ(0xfedcba9876543210ull, LoadBE64(k.data() + 6));
}

TEST(StoreCodec, ParseBE64RejectsWrongLength) {
  EXPECT_EQ(42u, ParseBE64(BE64(42), "x").value());
  EXPECT_EQ(Code::kCorrupt, ParseBE64("abc", "x").status().code());
}

std::string Sample() {
  return RecordWriter(3)
      .U64(0)
      .U64(std::numeric_limits<uint64_t>::max())
      .U64(300)
      .Str("hello")
      .Str("")
      .Finish();
}

TEST(StoreCodec, RecordRoundTrips) {
  const std::string rec = Sample();
  RecordReader r(rec, "sample");
  r.Version(3);
  EXPECT_EQ(0u, r.U64());
  EXPECT_EQ(std::numeric_limits<uint64_t>::max(), r.U64());
  EXPECT_EQ(300u, r.U32());
  EXPECT_EQ("hello", r.Str());
  EXPECT_EQ("", r.Str());
  EXPECT_TRUE(r.Finish().ok());
}

TEST(StoreCodec, GoldenBytes) {
  EXPECT_EQ(std::string("\x01\xac\x02\x02hi", 6),
            RecordWriter(1).U64(300).Str("hi").Finish());
}

TEST(StoreCodec, WrongVersionIsCorrupt) {
  const std::string rec = Sample();
  RecordReader r(rec, "sample");
  r.Version(4);
  EXPECT_EQ(0u, r.U64());
  EXPECT_EQ(Code::kCorrupt, r.Finish().code());
}

TEST(StoreCodec, EveryTruncationIsCorrupt) {
  const std::string rec = Sample();
  for (size_t n = 0; n < rec.size(); ++n) {
    RecordReader r(std::string_view(rec).substr(0, n), "sample");
    r.Version(3);
    r.U64();
    r.U64();
    r.U32();
    r.Str();
    r.Str();
    EXPECT_EQ(Code::kCorrupt, r.Finish().code()) << "prefix " << n;
  }
}

TEST(StoreCodec, TrailingBytesAreCorrupt) {
  const std::string rec = Sample() + "x";
  RecordReader r(rec, "sample");
  r.Version(3);
  r.U64();
  r.U64();
  r.U32();
  r.Str();
  r.Str();
  EXPECT_TRUE(r.ok());
  const Status s = r.Finish();
  EXPECT_EQ(Code::kCorrupt, s.code());
  EXPECT_NE(std::string::npos, s.message().find("trailing")) << s.message();
}

TEST(StoreCodec, OverlongVarintIsCorrupt) {
  const std::string eleven(11, '\xff');
  RecordReader r(eleven, "v");
  r.U64();
  EXPECT_FALSE(r.ok());
  const std::string tenth_too_big = std::string(9, '\xff') + "\x02";
  RecordReader r2(tenth_too_big, "v");
  r2.U64();
  EXPECT_FALSE(r2.ok());
}

TEST(StoreCodec, NarrowFieldOutOfRangeIsCorrupt) {
  const std::string rec = RecordWriter(1).U64(1ull << 32).U64(256).Finish();
  RecordReader r(rec, "n");
  r.Version(1);
  EXPECT_EQ(0u, r.U32());
  EXPECT_EQ(Code::kCorrupt, r.Finish().code());
  RecordReader r2(std::string_view(rec).substr(6), "n");  // just the 256
  EXPECT_EQ(0u, r2.U8());
  EXPECT_FALSE(r2.ok());
}

TEST(StoreCodec, HugeStringLengthFailsBeforeAllocating) {
  std::string rec(1, '\x01');
  AppendVarint(rec, 1ull << 60);
  rec += "abc";
  RecordReader r(rec, "s");
  r.Version(1);
  EXPECT_EQ("", r.Str());
  EXPECT_EQ(Code::kCorrupt, r.Finish().code());
}

}  // namespace
}  // namespace tern::store::codec
