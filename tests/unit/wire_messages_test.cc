// EncodeMessage/DecodeMessage round trips, message metadata, and decoding of hostile bodies.
#include <cstdint>
#include <string>
#include <utility>
#include <variant>

#include <gtest/gtest.h>

#include "tests/unit/wire_test_util.h"
#include "wire/messages.h"
#include "wire/tern_generated.h"

namespace tern::wire::testing {
namespace {

Result<Message> Decode(const std::string& body, const DecodeLimits& limits = {}) {
  return DecodeMessage(Bytes(body), limits);
}

template <typename F>
void ForEachDefaultMessage(F f) {
  [&]<size_t... I>(std::index_sequence<I...>) {
    (f(Message(std::in_place_index<I>)), ...);
  }(std::make_index_sequence<std::variant_size_v<Message>>());
}

TEST(Messages, EverySampleRoundTrips) {
  for (const Message& m : SampleMessages()) {
    SCOPED_TRACE(MessageName(m));
    const std::string body = EncodeMessage(m);
    auto got = Decode(body);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(got.value().index(), m.index());
    EXPECT_EQ(EncodeMessage(got.value()), body);
  }
}

TEST(Messages, DefaultValuedMessagesRoundTrip) {
  ForEachDefaultMessage([](const Message& m) {
    SCOPED_TRACE(MessageName(m));
    const std::string body = EncodeMessage(m);
    auto got = Decode(body);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(got.value().index(), m.index());
    EXPECT_EQ(EncodeMessage(got.value()), body);
  });
}

TEST(Messages, DecodedFieldsMatchTheEncodedOnes) {
  Welcome w{7, 2, "tok", 3, true, 55, 270000, 1700000000000, 262144, 64};
  auto got = Decode(EncodeMessage(w));
  ASSERT_TRUE(got.ok());
  const Welcome& d = std::get<Welcome>(got.value());
  EXPECT_EQ(d.user_id, 7u);
  EXPECT_EQ(d.device_id, 2u);
  EXPECT_EQ(d.token, "tok");
  EXPECT_EQ(d.inbox_epoch, 3u);
  EXPECT_TRUE(d.epoch_changed);
  EXPECT_EQ(d.client_seq_high, 55u);
  EXPECT_EQ(d.heartbeat_ms, 270000u);
  EXPECT_EQ(d.server_time_ms, 1700000000000u);
  EXPECT_EQ(d.max_frame, 262144u);
  EXPECT_EQ(d.max_inflight, 64u);

  Deliver del{{InboxItem{5, ItemKind::kExpired, 9, 1, 2, 3, 4, 6, std::string("a\0b", 3)}}};
  auto dd = Decode(EncodeMessage(del));
  ASSERT_TRUE(dd.ok());
  const auto& items = std::get<Deliver>(dd.value()).items;
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].kind, ItemKind::kExpired);
  EXPECT_EQ(items[0].text, std::string("a\0b", 3));  // embedded NUL survives
  EXPECT_EQ(items[0].sender_device, 2u);

  auto r = Decode(EncodeMessage(Reply{3, static_cast<Code>(4242), "x"}));
  ASSERT_TRUE(r.ok());  // unknown codes are kept for forward compatibility
  EXPECT_EQ(static_cast<uint16_t>(std::get<Reply>(r.value()).status), 4242);
}

TEST(Messages, NamesDirectionsAndPreAuthAllowance) {
  const auto samples = SampleMessages();
  const char* kC2S = "RequestCode Verify Link Resume Send InboxAck ResolvePhone CreateLinkCode "
                     "ListDevices UnlinkDevice CreateGroup GroupChange GetGroup ReadMark GetReceipts "
                     "SetPresence SubscribePresence SetProfile GetProfiles SyncContacts GetUploadTicket "
                     "GetDownloadTicket ";
  const char* kPreAuth = "RequestCode Verify Link Resume CodeSent Welcome Ping Pong Error ";
  std::string c2s, s2c, both, preauth;
  for (const Message& m : samples) {
    std::string name = std::string(MessageName(m)) + " ";
    switch (DirectionOf(m)) {
      case Direction::kClientToServer: c2s += name; break;
      case Direction::kServerToClient: s2c += name; break;
      case Direction::kBoth: both += name; break;
    }
    if (AllowedBeforeAuth(m)) preauth += name;
  }
  EXPECT_EQ(c2s, kC2S);
  EXPECT_EQ(s2c, "CodeSent Welcome SendAck Deliver Resolved LinkCode DeviceList Reply GroupInfo "
                 "ReceiptList Presence Profiles AssetTicket ");
  EXPECT_EQ(both, "Ping Pong Error ");
  EXPECT_EQ(preauth, kPreAuth);
}

TEST(Messages, TrailingBytesInsideTheBodyAreIgnored) {
  const Message m = Send{1, 2, "hello"};
  auto got = Decode(EncodeMessage(m) + std::string(13, '\xee'));
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(EncodeMessage(got.value()), EncodeMessage(m));
}

TEST(Messages, MisalignedBodyDecodes) {
  const std::string body = EncodeMessage(SampleMessages()[13]);  // Deliver: u64 fields
  std::string storage = "x" + body;
  auto got = DecodeMessage(Bytes(storage).subspan(1));
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(EncodeMessage(got.value()), body);
}

TEST(Messages, TruncatedFlatBufferIsProtocolOrUnchanged) {
  // FlatBuffers tolerate losing tail padding; any other cut must fail verification.
  for (const Message& m : SampleMessages()) {
    SCOPED_TRACE(MessageName(m));
    const std::string body = EncodeMessage(m);
    for (size_t cut = 0; cut < body.size(); ++cut) {
      auto got = Decode(body.substr(0, cut));
      if (got.ok()) {
        EXPECT_EQ(EncodeMessage(got.value()), body) << cut;
      } else {
        EXPECT_EQ(got.status().code(), Code::kProtocol) << cut;
      }
    }
    EXPECT_EQ(Decode(body.substr(0, body.size() / 2)).status().code(), Code::kProtocol);
  }
}

TEST(Messages, GarbageFailsVerification) {
  EXPECT_EQ(Decode("").status().code(), Code::kProtocol);
  EXPECT_EQ(Decode("abc").status().code(), Code::kProtocol);
  EXPECT_EQ(Decode("hello, this is not a flatbuffer at all").status().code(), Code::kProtocol);
  EXPECT_EQ(Decode(std::string(64, '\xff')).status().code(), Code::kProtocol);
}

TEST(Messages, MissingMessageIsProtocol) {
  flatbuffers::FlatBufferBuilder b;
  b.Finish(fb::CreateFrame(b));
  std::string body(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
  EXPECT_EQ(Decode(body).status().code(), Code::kProtocol);
}

TEST(Messages, UnionTypeWithoutTableIsProtocol) {
  flatbuffers::FlatBufferBuilder b;
  b.Finish(fb::CreateFrame(b, fb::Msg::Ping, 0));
  std::string body(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
  EXPECT_EQ(Decode(body).status().code(), Code::kProtocol);
}

TEST(Messages, UnknownUnionTypeIsProtocol) {
  flatbuffers::FlatBufferBuilder b;
  auto ping = fb::CreatePing(b, 1);
  b.Finish(fb::CreateFrame(b, static_cast<fb::Msg>(39), ping.Union()));  // one past AssetTicket
  std::string body(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
  EXPECT_EQ(Decode(body).status().code(), Code::kProtocol);
}

TEST(Messages, UnknownGroupOpIsProtocol) {
  flatbuffers::FlatBufferBuilder b;
  auto change = fb::CreateGroupChange(b, 1, 2, static_cast<fb::GroupOp>(8));
  b.Finish(fb::CreateFrame(b, fb::Msg::GroupChange, change.Union()));
  std::string body(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
  EXPECT_EQ(Decode(body).status().code(), Code::kProtocol);
}

TEST(Messages, UnknownItemKindIsProtocol) {
  flatbuffers::FlatBufferBuilder b;
  std::vector<flatbuffers::Offset<fb::InboxItem>> items{
      fb::CreateInboxItem(b, 1, static_cast<fb::ItemKind>(5))};  // one past Receipt
  auto del = fb::CreateDeliver(b, b.CreateVector(items));
  b.Finish(fb::CreateFrame(b, fb::Msg::Deliver, del.Union()));
  std::string body(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
  EXPECT_EQ(Decode(body).status().code(), Code::kProtocol);
}

TEST(Messages, UnknownReceiptTypeIsProtocol) {
  flatbuffers::FlatBufferBuilder b;
  std::vector<flatbuffers::Offset<fb::InboxItem>> items{fb::CreateInboxItem(
      b, 1, fb::ItemKind::Receipt, 0, 7, 0, 9, 17, 0, 0, 0, fb::GroupOp::None, 0,
      static_cast<fb::ReceiptType>(3))};  // one past Read
  auto del = fb::CreateDeliver(b, b.CreateVector(items));
  b.Finish(fb::CreateFrame(b, fb::Msg::Deliver, del.Union()));
  std::string body(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
  EXPECT_EQ(Decode(body).status().code(), Code::kProtocol);
}

TEST(Messages, UnknownVisibilityIsProtocol) {
  flatbuffers::FlatBufferBuilder b;
  auto set = fb::CreateSetProfile(b, 1, 4, 0, fb::Availability::Unset, static_cast<fb::Visibility>(3));
  b.Finish(fb::CreateFrame(b, fb::Msg::SetProfile, set.Union()));
  std::string body(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
  EXPECT_EQ(Decode(body).status().code(), Code::kProtocol);
}

TEST(Messages, ReceiptItemRoundTrips) {
  InboxItem it{5, ItemKind::kReceipt, 0, 9, 0, 7, 17, 1700000000000, ""};
  it.receipt = ReceiptType::kRead;
  auto got = Decode(EncodeMessage(Deliver{{it}}));
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  const auto& item = std::get<Deliver>(got.value()).items.at(0);
  EXPECT_EQ(item.kind, ItemKind::kReceipt);
  EXPECT_EQ(item.receipt, ReceiptType::kRead);
  EXPECT_EQ(item.chat_seq, 17u);
}

TEST(Messages, TooManyItemsIsProtocol) {
  DecodeLimits limits;
  limits.max_items = 2;
  Deliver del;
  del.items.resize(2);
  EXPECT_TRUE(Decode(EncodeMessage(del), limits).ok());
  del.items.resize(3);
  EXPECT_EQ(Decode(EncodeMessage(del), limits).status().code(), Code::kProtocol);
  DeviceList list;
  list.devices.resize(3);
  EXPECT_EQ(Decode(EncodeMessage(list), limits).status().code(), Code::kProtocol);
}

TEST(Messages, StringOverMaxStringIsProtocol) {
  DecodeLimits limits;
  limits.max_string = 5;
  EXPECT_TRUE(Decode(EncodeMessage(Send{1, 2, "12345"}), limits).ok());
  EXPECT_EQ(Decode(EncodeMessage(Send{1, 2, "123456"}), limits).status().code(),
            Code::kProtocol);
  Deliver del{{InboxItem{1, ItemKind::kMessage, 1, 1, 1, 1, 1, 1, "toolong"}}};
  EXPECT_EQ(Decode(EncodeMessage(del), limits).status().code(), Code::kProtocol);
}

TEST(Messages, VerifierDepthAndTableLimitsApply) {
  Deliver del;
  del.items.resize(3);
  const std::string body = EncodeMessage(del);
  DecodeLimits shallow;
  shallow.max_depth = 2;  // Frame -> Deliver -> items vector -> InboxItem is deeper
  EXPECT_EQ(Decode(body, shallow).status().code(), Code::kProtocol);
  DecodeLimits few;
  few.max_tables = 3;  // Frame + Deliver + 3 items = 5 tables
  EXPECT_EQ(Decode(body, few).status().code(), Code::kProtocol);
  EXPECT_TRUE(Decode(body).ok());
}

}  // namespace
}  // namespace tern::wire::testing
