// Shared fixtures for the wire unit tests: one fully populated sample of every message type
// (every field non-default, so a dropped or swapped field changes the encoding), and helpers.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "wire/frame.h"
#include "wire/messages.h"
#include "wire/hex.h"

namespace tern::wire::testing {

// One sample per alternative of Message, in variant order.
inline std::vector<Message> SampleMessages() {
  return {
      RequestCode{1, "+15550001"},
      Verify{1, "+15550001", "123456", "phone", 32},
      Link{1, "LNK-42", "laptop", 16},
      Resume{1, 7, 2, "tok", 3, 100, 55, 64},
      CodeSent{600000, 30000},
      Welcome{7, 2, "tok", 3, true, 55, 270000, 1700000000000, 262144, 64},
      Send{56, 9, "hi"},
      InboxAck{101},
      ResolvePhone{5, "+15550002"},
      CreateLinkCode{6},
      ListDevices{7},
      UnlinkDevice{8, 3},
      SendAck{56, Code::kOk, 4242, 17, 1700000000001},
      Deliver{{InboxItem{101, ItemKind::kMessage, 4242, 9, 1, 7, 17, 1700000000001, "yo"},
               InboxItem{102, ItemKind::kMissed, 4243, 9, 1, 7, 18, 1700000000002, ""}}},
      Resolved{5, 9},
      LinkCode{6, "LNK-42", 1700000300000},
      DeviceList{7, {DeviceInfo{1, "phone", 1600000000000, 1700000000000, true},
                     DeviceInfo{2, "laptop", 1650000000000, 1690000000000, false}}},
      Reply{8, Code::kNotFound, "no such device"},
      Ping{0x1122334455667788},
      Pong{0x1122334455667788},
      Error{Code::kUnauthenticated, "Send before authentication"},
      CreateGroup{9, "hikers", {9, 11}},
      GroupChange{10, 0x1122334455667788, GroupOp::kAdd, 12, ""},
      GetGroup{11, 0x1122334455667788},
      GroupInfo{11, Code::kOk, 0x1122334455667788, "hikers", {GroupMember{7, true}, GroupMember{9, false}},
                1700000000000, 3},
      ReadMark{12, 9, 0, 17},
      GetReceipts{13, 0, 0x1122334455667788},
      ReceiptList{13, Code::kOk, {ReceiptMark{7, 17, 15}, ReceiptMark{9, 17, 17}}},
      SetPresence{true},
      SubscribePresence{{7, 9}},
      Presence{{PresenceInfo{7, true, 0}, PresenceInfo{9, false, 1700000000000}}},
      SetProfile{14, kProfileStatus | kProfileLastSeen, "hiking", Availability::kUnset,
                 Visibility::kContacts},
      GetProfiles{15, {7, 9}},
      Profiles{16, Code::kOk, {Profile{9, "+15550001", "hiking", Availability::kBusy, 1700000000000}}, 0},
      SyncContacts{16, {"+15550001", "+15550002"}},
      GetUploadTicket{17, 2048, "image/jpeg", std::string(32, '\x5a')},
      GetDownloadTicket{18, 0x0102030405060708ull},
      AssetTicket{17, Code::kOk, 0x0102030405060708ull, "PUT", "https://127.0.0.1:7014/tern/a/0102030405060708?X-Amz-Signature=ab",
                  {{"x-amz-checksum-sha256", "Wlpa"}}, 1700000900000, 2048, "image/jpeg", std::string(32, '\x5a')},
  };
}

// A media message and its delivery (appended fields: Send.assets, InboxItem.assets).
inline AssetRef SampleAsset() {
  return AssetRef{0x0102030405060708ull, 2048, "image/jpeg", std::string(32, '\x5a'), 640, 480, 0,
                  std::string("\xff\xd8\xff", 3), "cat.jpg"};
}
inline Send SampleMediaSend() {
  Send s{57, 9, "look"};
  s.assets = {SampleAsset()};
  return s;
}
inline Deliver SampleMediaDeliver() {
  InboxItem it;
  it.seq = 3;
  it.msg_id = 4243;
  it.sender_user = 8;
  it.sender_device = 1;
  it.to_user = 9;
  it.chat_seq = 18;
  it.server_ts_ms = 1700000000002;
  it.text = "look";
  it.assets = {SampleAsset()};
  return Deliver{{it}};
}

inline std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

inline std::string ToHex(std::string_view s) { return HexLower(s); }

// Parses hex digits, ignoring spaces (so golden vectors can be grouped for reading).
inline std::string FromHex(std::string_view hex) {
  std::string out;
  int hi = -1;
  for (char c : hex) {
    int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (v < 0) continue;
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<char>(hi * 16 + v));
      hi = -1;
    }
  }
  return out;
}

// The whole frame for `m`, as the wire carries it.
inline std::string FrameOf(const Message& m) { return EncodeFrame(0, EncodeMessage(m)); }

}  // namespace tern::wire::testing
