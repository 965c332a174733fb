// EncodeMessage: C++ message structs -> FlatBuffer frame bodies (wire/messages.h).
//
// The encoding is deterministic (same message, same bytes): every table is built through the
// generated Create* helper, which adds fields in one fixed order, and the golden vectors in
// tests/unit/wire_golden_test.cc depend on that. Empty strings are omitted (they decode as
// empty), which saves 8+ bytes per empty field on slow links.
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "wire/messages.h"
#include "wire/tern_generated.h"

namespace tern::wire {
namespace {

using flatbuffers::FlatBufferBuilder;
using flatbuffers::Offset;

Offset<flatbuffers::String> Str(FlatBufferBuilder& b, const std::string& s) {
  return s.empty() ? Offset<flatbuffers::String>() : b.CreateString(s);
}

// An empty list is omitted (absent decodes as empty), like an empty string.
Offset<flatbuffers::Vector<uint32_t>> Ids(FlatBufferBuilder& b, const std::vector<uint32_t>& v) {
  return v.empty() ? Offset<flatbuffers::Vector<uint32_t>>() : b.CreateVector(v);
}

uint16_t CodeValue(Code c) { return static_cast<uint16_t>(c); }

Offset<fb::RequestCode> Build(FlatBufferBuilder& b, const RequestCode& m) {
  auto phone = Str(b, m.phone);
  return fb::CreateRequestCode(b, m.version, phone);
}

Offset<fb::VerifyPhone> Build(FlatBufferBuilder& b, const Verify& m) {
  auto phone = Str(b, m.phone);
  auto code = Str(b, m.code);
  auto device_name = Str(b, m.device_name);
  auto dict_ids = Ids(b, m.dict_ids);
  return fb::CreateVerifyPhone(b, m.version, phone, code, device_name, m.max_inflight, dict_ids);
}

Offset<fb::Link> Build(FlatBufferBuilder& b, const Link& m) {
  auto link_code = Str(b, m.link_code);
  auto device_name = Str(b, m.device_name);
  auto dict_ids = Ids(b, m.dict_ids);
  return fb::CreateLink(b, m.version, link_code, device_name, m.max_inflight, dict_ids);
}

Offset<fb::Resume> Build(FlatBufferBuilder& b, const Resume& m) {
  auto token = Str(b, m.token);
  auto dict_ids = Ids(b, m.dict_ids);
  return fb::CreateResume(b, m.version, m.user_id, m.device_id, token, m.inbox_epoch,
                          m.last_inbox_seq, m.last_acked_client_seq, m.max_inflight, dict_ids);
}

Offset<fb::CodeSent> Build(FlatBufferBuilder& b, const CodeSent& m) {
  return fb::CreateCodeSent(b, m.code_ttl_ms, m.retry_after_ms);
}

Offset<fb::Welcome> Build(FlatBufferBuilder& b, const Welcome& m) {
  auto token = Str(b, m.token);
  return fb::CreateWelcome(b, m.user_id, m.device_id, token, m.inbox_epoch, m.epoch_changed,
                           m.client_seq_high, m.heartbeat_ms, m.server_time_ms, m.max_frame,
                           m.max_inflight, m.dict_id);
}

Offset<flatbuffers::Vector<uint8_t>> Bytes(FlatBufferBuilder& b, const std::string& s) {
  return s.empty() ? Offset<flatbuffers::Vector<uint8_t>>()
                   : b.CreateVector(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

// An empty list is omitted, so messages without media cost nothing extra.
Offset<flatbuffers::Vector<Offset<fb::AssetRef>>> Assets(FlatBufferBuilder& b, const std::vector<AssetRef>& v) {
  if (v.empty()) return {};
  std::vector<Offset<fb::AssetRef>> refs;
  refs.reserve(v.size());
  for (const AssetRef& a : v) {
    auto mime = Str(b, a.mime);
    auto sha = Bytes(b, a.sha256);
    auto thumb = Bytes(b, a.thumbnail);
    auto name = Str(b, a.name);
    refs.push_back(fb::CreateAssetRef(b, a.asset_id, a.size, mime, sha, a.width, a.height, a.duration_ms, thumb, name));
  }
  return b.CreateVector(refs);
}

Offset<fb::GetUploadTicket> Build(FlatBufferBuilder& b, const GetUploadTicket& m) {
  auto mime = Str(b, m.mime);
  auto sha = Bytes(b, m.sha256);
  return fb::CreateGetUploadTicket(b, m.req_id, m.size, mime, sha, m.asset_id);
}

Offset<fb::GetDownloadTicket> Build(FlatBufferBuilder& b, const GetDownloadTicket& m) {
  return fb::CreateGetDownloadTicket(b, m.req_id, m.asset_id);
}

Offset<fb::AssetTicket> Build(FlatBufferBuilder& b, const AssetTicket& m) {
  auto method = Str(b, m.method);
  auto url = Str(b, m.url);
  std::vector<Offset<fb::HttpHeader>> hs;
  for (const HttpHeader& h : m.headers) {
    auto n = Str(b, h.name);
    auto v = Str(b, h.value);
    hs.push_back(fb::CreateHttpHeader(b, n, v));
  }
  auto headers = hs.empty() ? Offset<flatbuffers::Vector<Offset<fb::HttpHeader>>>() : b.CreateVector(hs);
  auto mime = Str(b, m.mime);
  auto sha = Bytes(b, m.sha256);
  return fb::CreateAssetTicket(b, m.req_id, CodeValue(m.status), m.asset_id, method, url, headers, m.expires_ms,
                               m.size, mime, sha);
}

Offset<fb::Send> Build(FlatBufferBuilder& b, const Send& m) {
  auto text = Str(b, m.text);
  auto assets = Assets(b, m.assets);
  return fb::CreateSend(b, m.client_seq, m.to_user, text, m.ack_inbox_seq, m.group_id, assets);
}

Offset<fb::InboxAck> Build(FlatBufferBuilder& b, const InboxAck& m) {
  return fb::CreateInboxAck(b, m.seq);
}

Offset<fb::ResolvePhone> Build(FlatBufferBuilder& b, const ResolvePhone& m) {
  auto phone = Str(b, m.phone);
  return fb::CreateResolvePhone(b, m.req_id, phone);
}

Offset<fb::NewLinkCode> Build(FlatBufferBuilder& b, const CreateLinkCode& m) {
  return fb::CreateNewLinkCode(b, m.req_id);
}

Offset<fb::ListDevices> Build(FlatBufferBuilder& b, const ListDevices& m) {
  return fb::CreateListDevices(b, m.req_id);
}

Offset<fb::UnlinkDevice> Build(FlatBufferBuilder& b, const UnlinkDevice& m) {
  return fb::CreateUnlinkDevice(b, m.req_id, m.device_id);
}

Offset<fb::SendAck> Build(FlatBufferBuilder& b, const SendAck& m) {
  return fb::CreateSendAck(b, m.client_seq, CodeValue(m.status), m.msg_id, m.chat_seq,
                           m.server_ts_ms);
}

Offset<fb::Deliver> Build(FlatBufferBuilder& b, const Deliver& m) {
  std::vector<Offset<fb::InboxItem>> items;
  items.reserve(m.items.size());
  for (const InboxItem& it : m.items) {
    auto text = Str(b, it.text);
    auto assets = Assets(b, it.assets);
    items.push_back(fb::CreateInboxItem(b, it.seq, static_cast<fb::ItemKind>(it.kind), it.msg_id,
                                        it.sender_user, it.sender_device, it.to_user,
                                        it.chat_seq, it.server_ts_ms, text, it.group_id,
                                        static_cast<fb::GroupOp>(it.event), it.event_user,
                                        static_cast<fb::ReceiptType>(it.receipt), assets));
  }
  // An empty list is written as an empty vector, not omitted: both decode the same.
  return fb::CreateDeliver(b, b.CreateVector(items));
}

Offset<fb::Resolved> Build(FlatBufferBuilder& b, const Resolved& m) {
  return fb::CreateResolved(b, m.req_id, m.user_id);
}

Offset<fb::LinkCode> Build(FlatBufferBuilder& b, const LinkCode& m) {
  auto code = Str(b, m.code);
  return fb::CreateLinkCode(b, m.req_id, code, m.expires_ms);
}

Offset<fb::DeviceList> Build(FlatBufferBuilder& b, const DeviceList& m) {
  std::vector<Offset<fb::DeviceInfo>> devices;
  devices.reserve(m.devices.size());
  for (const DeviceInfo& d : m.devices) {
    auto name = Str(b, d.name);
    devices.push_back(
        fb::CreateDeviceInfo(b, d.device_id, name, d.created_ms, d.last_seen_ms, d.online));
  }
  return fb::CreateDeviceList(b, m.req_id, b.CreateVector(devices));
}

Offset<fb::Reply> Build(FlatBufferBuilder& b, const Reply& m) {
  auto message = Str(b, m.message);
  return fb::CreateReply(b, m.req_id, CodeValue(m.status), message);
}

Offset<fb::Ping> Build(FlatBufferBuilder& b, const Ping& m) { return fb::CreatePing(b, m.nonce); }

Offset<fb::Pong> Build(FlatBufferBuilder& b, const Pong& m) { return fb::CreatePong(b, m.nonce); }

Offset<fb::Error> Build(FlatBufferBuilder& b, const Error& m) {
  auto message = Str(b, m.message);
  return fb::CreateError(b, CodeValue(m.code), message);
}

Offset<fb::CreateGroup> Build(FlatBufferBuilder& b, const CreateGroup& m) {
  auto name = Str(b, m.name);
  auto members = m.members.empty() ? Offset<flatbuffers::Vector<uint64_t>>() : b.CreateVector(m.members);
  return fb::CreateCreateGroup(b, m.req_id, name, members);
}

Offset<fb::GroupChange> Build(FlatBufferBuilder& b, const GroupChange& m) {
  auto name = Str(b, m.name);
  return fb::CreateGroupChange(b, m.req_id, m.group_id, static_cast<fb::GroupOp>(m.op), m.user_id,
                               name);
}

Offset<fb::GetGroup> Build(FlatBufferBuilder& b, const GetGroup& m) {
  return fb::CreateGetGroup(b, m.req_id, m.group_id);
}

Offset<fb::GroupInfo> Build(FlatBufferBuilder& b, const GroupInfo& m) {
  auto name = Str(b, m.name);
  std::vector<Offset<fb::GroupMember>> members;
  members.reserve(m.members.size());
  for (const GroupMember& x : m.members) members.push_back(fb::CreateGroupMember(b, x.user_id, x.admin));
  auto list = members.empty() ? Offset<flatbuffers::Vector<Offset<fb::GroupMember>>>() : b.CreateVector(members);
  return fb::CreateGroupInfo(b, m.req_id, CodeValue(m.status), m.group_id, name, list, m.created_ms,
                             m.chat_seq);
}

Offset<fb::ReadMark> Build(FlatBufferBuilder& b, const ReadMark& m) {
  return fb::CreateReadMark(b, m.req_id, m.peer_user, m.group_id, m.chat_seq);
}

Offset<fb::GetReceipts> Build(FlatBufferBuilder& b, const GetReceipts& m) {
  return fb::CreateGetReceipts(b, m.req_id, m.peer_user, m.group_id);
}

Offset<fb::ReceiptList> Build(FlatBufferBuilder& b, const ReceiptList& m) {
  std::vector<Offset<fb::ReceiptMark>> marks;
  marks.reserve(m.marks.size());
  for (const ReceiptMark& x : m.marks)
    marks.push_back(fb::CreateReceiptMark(b, x.user_id, x.delivered_seq, x.read_seq));
  auto list = marks.empty() ? Offset<flatbuffers::Vector<Offset<fb::ReceiptMark>>>() : b.CreateVector(marks);
  return fb::CreateReceiptList(b, m.req_id, CodeValue(m.status), list);
}

Offset<fb::SetPresence> Build(FlatBufferBuilder& b, const SetPresence& m) {
  return fb::CreateSetPresence(b, m.active);
}

Offset<fb::SubscribePresence> Build(FlatBufferBuilder& b, const SubscribePresence& m) {
  auto users = m.users.empty() ? Offset<flatbuffers::Vector<uint64_t>>() : b.CreateVector(m.users);
  return fb::CreateSubscribePresence(b, users);
}

Offset<fb::Presence> Build(FlatBufferBuilder& b, const Presence& m) {
  std::vector<Offset<fb::PresenceInfo>> users;
  users.reserve(m.users.size());
  for (const PresenceInfo& x : m.users)
    users.push_back(fb::CreatePresenceInfo(b, x.user_id, x.online, x.last_seen_ms));
  auto list = users.empty() ? Offset<flatbuffers::Vector<Offset<fb::PresenceInfo>>>() : b.CreateVector(users);
  return fb::CreatePresence(b, list);
}

Offset<fb::SetProfile> Build(FlatBufferBuilder& b, const SetProfile& m) {
  auto status = Str(b, m.status);
  return fb::CreateSetProfile(b, m.req_id, m.fields, status,
                              static_cast<fb::Availability>(m.availability),
                              static_cast<fb::Visibility>(m.last_seen));
}

Offset<fb::GetProfiles> Build(FlatBufferBuilder& b, const GetProfiles& m) {
  auto users = m.users.empty() ? Offset<flatbuffers::Vector<uint64_t>>() : b.CreateVector(m.users);
  return fb::CreateGetProfiles(b, m.req_id, users);
}

Offset<fb::Profiles> Build(FlatBufferBuilder& b, const Profiles& m) {
  std::vector<Offset<fb::Profile>> list;
  list.reserve(m.profiles.size());
  for (const Profile& x : m.profiles) {
    auto phone = Str(b, x.phone);
    auto status = Str(b, x.status);
    list.push_back(fb::CreateProfile(b, x.user_id, phone, status,
                                     static_cast<fb::Availability>(x.availability), x.updated_ms));
  }
  auto vec = list.empty() ? Offset<flatbuffers::Vector<Offset<fb::Profile>>>() : b.CreateVector(list);
  return fb::CreateProfiles(b, m.req_id, CodeValue(m.status), vec, m.retry_after_ms);
}

Offset<fb::SyncContacts> Build(FlatBufferBuilder& b, const SyncContacts& m) {
  std::vector<Offset<flatbuffers::String>> phones;
  phones.reserve(m.phones.size());
  for (const std::string& p : m.phones) phones.push_back(b.CreateString(p));
  auto vec = phones.empty() ? Offset<flatbuffers::Vector<Offset<flatbuffers::String>>>() : b.CreateVector(phones);
  return fb::CreateSyncContacts(b, m.req_id, vec);
}

// The union type number of a generated table, from the generated traits.
template <typename FbTable>
constexpr fb::Msg UnionType(Offset<FbTable>) {
  return fb::MsgTraits<FbTable>::enum_value;
}

}  // namespace

std::string EncodeMessage(const Message& m) {
  FlatBufferBuilder b(128);
  std::visit(
      [&b](const auto& v) {
        auto table = Build(b, v);
        b.Finish(fb::CreateFrame(b, UnionType(table), table.Union()));
      },
      m);
  return std::string(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
}

}  // namespace tern::wire
