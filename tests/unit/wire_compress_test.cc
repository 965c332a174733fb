// Compression (wire/compress.h) and its negotiation in the Session (PROTOCOL.md §2.3).
#define ZSTD_STATIC_LINKING_ONLY
#include "wire/compress.h"

#include <gtest/gtest.h>
#include <zstd.h>

#include <string>
#include <variant>
#include <vector>

#include "tests/unit/wire_test_util.h"
#include "wire/session.h"

namespace tern::wire {
namespace {

using testing::Bytes;

constexpr uint32_t kTernV1 = 1001;
constexpr uint32_t kTernV2 = 1002;

std::string ChatBody(const std::string& text) {
  return EncodeMessage(Send{42, 0x1234567890abcdefull, text, 0});
}

// A magicless zstd frame of `plain`, built directly with libzstd (not through CompressBody),
// with the given content-size flag: the receiver's view of a foreign encoder.
std::string RawZstd(const std::string& plain, bool content_size) {
  ZSTD_CCtx* c = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(c, ZSTD_c_format, ZSTD_f_zstd1_magicless);
  ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, content_size ? 1 : 0);
  std::string out(ZSTD_compressBound(plain.size()) + 16, '\0');
  size_t n;
  if (content_size) {
    n = ZSTD_compress2(c, out.data(), out.size(), plain.data(), plain.size());
  } else {  // streaming without a pledged size leaves the content size out
    ZSTD_inBuffer in{plain.data(), plain.size(), 0};
    ZSTD_outBuffer o{out.data(), out.size(), 0};
    n = ZSTD_compressStream2(c, &o, &in, ZSTD_e_end);
    n = ZSTD_isError(n) ? n : o.pos;
  }
  ZSTD_freeCCtx(c);
  EXPECT_FALSE(ZSTD_isError(n));
  out.resize(n);
  return out;
}

TEST(Compress, TrainedDictionariesAreBuiltIn) {
  ASSERT_NE(FindDict(kTernV1), nullptr);
  EXPECT_EQ(FindDict(kTernV1)->name, "tern-v1");
  ASSERT_NE(FindDict(kTernV2), nullptr);
  EXPECT_EQ(FindDict(kTernV2)->name, "tern-v2");
  EXPECT_NE(FindDict(kDictPlainZstd), nullptr);
  EXPECT_EQ(FindDict(kDictNone), nullptr);
  // A released dictionary never changes: the id in its header is the one it is known by.
  EXPECT_EQ(ZSTD_getDictID_fromDict(FindDict(kTernV2)->bytes.data(), FindDict(kTernV2)->bytes.size()),
            kTernV2);
  EXPECT_EQ(ZSTD_getDictID_fromDict(FindDict(kTernV1)->bytes.data(), FindDict(kTernV1)->bytes.size()),
            kTernV1);
  const std::vector<uint32_t> offer = DefaultDictOffer();
  EXPECT_EQ(offer, (std::vector<uint32_t>{kTernV2, kTernV1, kDictPlainZstd}));  // newest first
}

TEST(Compress, ServerChoosesTheNewestOfferedIdItKnows) {
  const std::vector<uint32_t> old_client = {kDictPlainZstd};
  const std::vector<uint32_t> v1_client = {kTernV1, kDictPlainZstd};  // released before tern-v2
  const std::vector<uint32_t> future_client = {1003, kTernV2, kTernV1, kDictPlainZstd};
  const std::vector<uint32_t> unknown_only = {7, 1999};
  EXPECT_EQ(ChooseDict(old_client), kDictPlainZstd);
  EXPECT_EQ(ChooseDict(v1_client), kTernV1);
  EXPECT_EQ(ChooseDict(future_client), kTernV2);
  EXPECT_EQ(ChooseDict(unknown_only), kDictNone);
  EXPECT_EQ(ChooseDict({}), kDictNone);
  const std::vector<uint32_t> only_plain = {kDictPlainZstd};
  EXPECT_EQ(ChooseDict(future_client, only_plain), kDictPlainZstd);
  // An operator who takes tern-v2 out of use (compression_dicts = 1001,1) keeps clients on v1.
  const std::vector<uint32_t> rolled_back = {kTernV1, kDictPlainZstd};
  EXPECT_EQ(ChooseDict(future_client, rolled_back), kTernV1);
}

// The roll-out of PROTOCOL.md §2.3: a client released with tern-v1 only and a new client with
// tern-v2 both talk to a new server, each compressing with what it negotiated; a frame
// compressed with one dictionary is not readable as the other.
TEST(Compress, ClientsOfEitherGenerationTalkToANewServer) {
  const std::string text = "привет! see you at 7 at the bus stop 🚌, bring the keys";
  for (const std::vector<uint32_t>& offer :
       {std::vector<uint32_t>{kTernV1, kDictPlainZstd}, DefaultDictOffer()}) {
    const uint32_t chosen = ChooseDict(offer);
    EXPECT_EQ(chosen, offer.front());
    const std::string body = ChatBody(text);
    auto z = CompressBody(body, chosen);
    ASSERT_TRUE(z.has_value()) << chosen;
    auto back = DecompressBody(Bytes(*z), chosen, 1 << 20);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, body);
  }
  auto v2 = CompressBody(ChatBody(text), kTernV2);
  ASSERT_TRUE(v2.has_value());
  auto wrong = DecompressBody(Bytes(*v2), kTernV1, 1 << 20);
  EXPECT_TRUE(!wrong.ok() || *wrong != ChatBody(text)) << "dictionaries are not interchangeable";
}

TEST(Compress, RoundTripsWithAndWithoutDictionary) {
  const std::string body = ChatBody("привет, как дела? I'm on my way, see you at the bus stop 🚌");
  for (uint32_t id : {kDictPlainZstd, kTernV1}) {
    auto z = CompressBody(body, id);
    ASSERT_TRUE(z.has_value()) << id;
    EXPECT_LT(z->size(), body.size());
    auto back = DecompressBody(Bytes(*z), id, 1 << 20);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, body);
  }
}

TEST(Compress, DictionaryBeatsPlainZstdOnChatFrames) {
  const std::string body = ChatBody("hi! where are you? call me when you get home");
  auto plain = CompressBody(body, kDictPlainZstd);
  auto dict = CompressBody(body, kTernV1);
  ASSERT_TRUE(dict.has_value());
  EXPECT_LT(dict->size(), plain ? plain->size() : body.size());
  EXPECT_LT(dict->size() * 2, body.size()) << "the dictionary should at least halve a chat frame";
}

TEST(Compress, NotSmallerIsNotCompressed) {
  EXPECT_FALSE(CompressBody("tiny", kTernV1).has_value());
  std::string noise;
  uint64_t x = 88172645463325252ull;
  for (int i = 0; i < 200; ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    noise.push_back(static_cast<char>(x));
  }
  EXPECT_FALSE(CompressBody(noise, kDictPlainZstd).has_value());
  EXPECT_FALSE(CompressBody(ChatBody("hello there"), 4242).has_value()) << "unknown id";
}

TEST(Compress, DeclaredSizeOverTheLimitIsProtocolBeforeDecompressing) {
  const std::string zeros(100000, '\0');  // compresses to a few bytes: a small bomb
  auto z = CompressBody(zeros, kDictPlainZstd);
  ASSERT_TRUE(z.has_value());
  EXPECT_LT(z->size(), 100u);
  EXPECT_EQ(DecompressBody(Bytes(*z), kDictPlainZstd, 99999).status().code(), Code::kProtocol);
  EXPECT_TRUE(DecompressBody(Bytes(*z), kDictPlainZstd, 100000).ok());
  // The hard cap holds whatever the caller's limit.
  const std::string big(kMaxDecompressedBody + 1, 'a');
  auto zb = CompressBody(big, kDictPlainZstd);
  ASSERT_TRUE(zb.has_value());
  EXPECT_EQ(DecompressBody(Bytes(*zb), kDictPlainZstd, SIZE_MAX).status().code(),
            Code::kProtocol);
}

TEST(Compress, MissingContentSizeIsProtocol) {
  const std::string body = ChatBody(std::string(300, 'x'));
  EXPECT_TRUE(DecompressBody(Bytes(RawZstd(body, true)), kDictPlainZstd, 1 << 20).ok());
  EXPECT_EQ(DecompressBody(Bytes(RawZstd(body, false)), kDictPlainZstd, 1 << 20).status().code(),
            Code::kProtocol);
}

TEST(Compress, TruncatedTrailingOrGarbageIsProtocol) {
  const std::string body = ChatBody("the bus is late again, sorry! see you in ten minutes");
  auto z = CompressBody(body, kTernV1);
  ASSERT_TRUE(z.has_value());
  for (size_t cut = 0; cut < z->size(); ++cut) {
    EXPECT_EQ(DecompressBody(Bytes(z->substr(0, cut)), kTernV1, 1 << 20).status().code(),
              Code::kProtocol)
        << cut;
  }
  EXPECT_EQ(DecompressBody(Bytes(*z + "x"), kTernV1, 1 << 20).status().code(), Code::kProtocol);
  EXPECT_EQ(DecompressBody(Bytes(*z), 4242, 1 << 20).status().code(), Code::kProtocol);
  // Decoding with the wrong dictionary never yields the original.
  auto other = DecompressBody(Bytes(*z), kDictPlainZstd, 1 << 20);
  EXPECT_TRUE(!other.ok() || *other != body);
}

// ---- negotiation in the Session ----

struct Pair {
  Session client{Session::Role::kClient, Session::Options{}};
  Session server{Session::Role::kServer, Session::Options{}};
  std::vector<Message> ToServer() {
    EXPECT_TRUE(server.Feed(Bytes(client.TakeOutput())).ok());
    std::vector<Message> out;
    while (auto m = server.NextEvent()) out.push_back(std::move(*m));
    return out;
  }
  std::vector<Message> ToClient() {
    EXPECT_TRUE(client.Feed(Bytes(server.TakeOutput())).ok());
    std::vector<Message> out;
    while (auto m = client.NextEvent()) out.push_back(std::move(*m));
    return out;
  }
};

Welcome WelcomeWith(uint32_t dict) {
  Welcome w{7, 2, "", 3, false, 0, 270000, 1, 256 * 1024, 64};
  w.dict_id = dict;
  return w;
}

TEST(SessionCompression, NegotiatedFramesAreCompressedBothWaysAndPreAuthIsNot) {
  Pair p;
  Resume r{1, 7, 2, "tok"};
  r.dict_ids = {kTernV1, kDictPlainZstd};
  p.client.Send(r);
  const std::string hello = p.client.TakeOutput();
  EXPECT_EQ(static_cast<uint8_t>(hello[1]), 0) << "pre-auth frames go uncompressed";
  ASSERT_TRUE(p.server.Feed(Bytes(hello)).ok());
  auto ev = p.server.NextEvent();
  ASSERT_TRUE(ev && std::holds_alternative<Resume>(*ev));
  EXPECT_EQ(std::get<Resume>(*ev).dict_ids, r.dict_ids);

  const std::string text = "see you tomorrow at the station, don't be late! 😂";
  p.server.Send(WelcomeWith(ChooseDict(r.dict_ids)));
  p.server.Send(Deliver{{InboxItem{1, ItemKind::kMessage, 99, 5, 1, 7, 1, 1700000000000, text}}});
  EXPECT_EQ(p.server.dict_id(), kTernV1);
  auto got = p.ToClient();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(p.client.dict_id(), kTernV1);
  EXPECT_EQ(std::get<Deliver>(got[1]).items.at(0).text, text);
  const size_t deliver = Message(Deliver{}).index();
  EXPECT_EQ(p.client.traffic_in()[deliver].compressed, 1u);
  EXPECT_LT(p.client.traffic_in()[deliver].wire_bytes, p.client.traffic_in()[deliver].body_bytes);

  p.client.Send(Send{1, 5, text, 1});
  auto up = p.ToServer();
  ASSERT_EQ(up.size(), 1u);
  EXPECT_EQ(std::get<Send>(up[0]).text, text);
  EXPECT_EQ(std::get<Send>(up[0]).ack_inbox_seq, 1u);
  EXPECT_EQ(p.server.traffic_in()[Message(Send{}).index()].compressed, 1u);
}

TEST(SessionCompression, NoOfferMeansNoCompression) {
  Pair p;
  p.client.Send(Resume{1, 7, 2, "tok"});
  p.ToServer();
  p.server.Send(WelcomeWith(kDictNone));
  p.server.Send(Deliver{{InboxItem{1, ItemKind::kMessage, 99, 5, 1, 7, 1, 1, std::string(200, 'a')}}});
  p.ToClient();
  EXPECT_EQ(p.client.traffic_in()[Message(Deliver{}).index()].compressed, 0u);
}

TEST(SessionCompression, WelcomeWithADictionaryNotOfferedIsProtocol) {
  Pair p;
  Resume r{1, 7, 2, "tok"};
  r.dict_ids = {kDictPlainZstd};
  p.client.Send(r);
  p.ToServer();
  p.server.Send(WelcomeWith(kTernV1));
  EXPECT_EQ(p.client.Feed(Bytes(p.server.TakeOutput())).code(), Code::kProtocol);
}

TEST(SessionCompression, CompressedFrameWithoutNegotiationIsProtocol) {
  Session s(Session::Role::kServer, Session::Options{});
  ASSERT_TRUE(s.Feed(Bytes(EncodeFrame(0, EncodeMessage(Resume{1, 7, 2, "tok"})))).ok());
  s.Send(WelcomeWith(kDictNone));
  s.TakeOutput();
  auto z = CompressBody(ChatBody(std::string(100, 'q')), kDictPlainZstd);
  ASSERT_TRUE(z.has_value());
  EXPECT_EQ(s.Feed(Bytes(EncodeFrame(kFlagCompressed, *z))).code(), Code::kProtocol);
}

TEST(SessionCompression, BombOverTheFrameLimitIsProtocol) {
  Session::Options o;
  o.max_frame = 4096;
  Session s(Session::Role::kServer, o);
  Resume r{1, 7, 2, "tok"};
  r.dict_ids = {kDictPlainZstd};
  ASSERT_TRUE(s.Feed(Bytes(EncodeFrame(0, EncodeMessage(r)))).ok());
  s.Send(WelcomeWith(kDictPlainZstd));
  s.TakeOutput();
  auto z = CompressBody(ChatBody(std::string(5000, 'q')), kDictPlainZstd);
  ASSERT_TRUE(z.has_value());
  ASSERT_LT(z->size(), 4096u) << "the compressed frame itself is within the limit";
  EXPECT_EQ(s.Feed(Bytes(EncodeFrame(kFlagCompressed, *z))).code(), Code::kProtocol);
  EXPECT_TRUE(s.failed());
}

}  // namespace
}  // namespace tern::wire
