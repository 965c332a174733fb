// DecodeMessage: verified FlatBuffer frame bodies -> C++ message structs (wire/messages.h).
//
// Order of defences: size cap, alignment (FlatBuffers reads scalars through typed pointers, so a
// body at an odd address is copied to aligned storage first), the FlatBuffers verifier with the
// caller's depth/table limits, then per-field limits while converting. Every failure is
// kProtocol: the peer sent something no correct encoder produces.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "wire/messages.h"
#include "wire/tern_generated.h"

namespace tern::wire {
namespace {

Status Bad(std::string what) { return Status(Code::kProtocol, std::move(what)); }

// Converts FlatBuffers tables to structs, enforcing DecodeLimits on strings and vectors.
class Converter {
 public:
  explicit Converter(const DecodeLimits& limits) : limits_(limits) {}

  // Copies an optional string field; absent reads as empty.
  bool Str(const flatbuffers::String* s, std::string& out) {
    if (s == nullptr) return true;
    if (s->size() > limits_.max_string) return Fail("string field over max_string");
    out.assign(s->data(), s->size());
    return true;
  }

  // Copies an optional list of ids; absent reads as empty.
  bool Ids(const flatbuffers::Vector<uint32_t>* v, std::vector<uint32_t>& out) {
    if (v == nullptr) return true;
    if (v->size() > kMaxDictIds) return Fail("dict_ids over 16 entries");
    out.assign(v->begin(), v->end());
    return true;
  }

  // Copies an optional byte vector (sha256, thumbnail); absent reads as empty.
  bool Bytes(const flatbuffers::Vector<uint8_t>* v, std::string& out) {
    if (v == nullptr) return true;
    if (v->size() > limits_.max_string) return Fail("byte field over max_string");
    out.assign(reinterpret_cast<const char*>(v->data()), v->size());
    return true;
  }

  // Media references (Send.assets, InboxItem.assets); at most kMaxAssetsPerMessage.
  bool Assets(const flatbuffers::Vector<flatbuffers::Offset<fb::AssetRef>>* v, std::vector<AssetRef>& out) {
    if (v == nullptr) return true;
    if (v->size() > kMaxAssetsPerMessage) return Fail("more than kMaxAssetsPerMessage assets");
    out.reserve(v->size());
    for (const fb::AssetRef* x : *v) {
      AssetRef a;
      a.asset_id = x->asset_id();
      a.size = x->size();
      a.width = x->width();
      a.height = x->height();
      a.duration_ms = x->duration_ms();
      if (!Str(x->mime(), a.mime) || !Bytes(x->sha256(), a.sha256) || !Bytes(x->thumbnail(), a.thumbnail) ||
          !Str(x->name(), a.name))
        return false;
      out.push_back(std::move(a));
    }
    return true;
  }

  template <typename V>
  bool Count(const V* v) {
    if (v != nullptr && v->size() > limits_.max_items) return Fail("vector over max_items");
    return true;
  }

  // An unknown group operation cannot be applied or shown safely: reject rather than guess.
  GroupOp Op(fb::GroupOp op) {
    if (static_cast<uint8_t>(op) > kMaxGroupOp) {
      Fail("unknown GroupOp");
      return GroupOp::kNone;
    }
    return static_cast<GroupOp>(op);
  }

  // Any other unknown enum value: rejected the same way.
  template <typename E, typename F>
  E Enum(F v, F max, const char* what) {
    if (v > max) {
      Fail(what);
      return E{};
    }
    return static_cast<E>(v);
  }

  // A [ulong] vector. The verifier checks only the 4-byte alignment of a vector's length; every
  // FlatBuffers builder puts 8-byte elements on an 8-byte boundary (the body is copied to an
  // 8-aligned buffer before decoding), so other data is crafted: refuse it rather than read it
  // with misaligned loads.
  template <typename V>
  bool U64s(const V* v, std::vector<uint64_t>& out) {
    if (v == nullptr) return true;
    if (!Count(v)) return false;
    if (v->size() != 0 && reinterpret_cast<uintptr_t>(v->Data()) % alignof(uint64_t) != 0)
      return Fail("misaligned [ulong] vector");
    out.assign(v->begin(), v->end());
    return true;
  }

  bool Fail(const char* why) {
    if (error_.ok()) error_ = Bad(why);
    return false;
  }
  const Status& error() const { return error_; }

  RequestCode Get(const fb::RequestCode& t) {
    RequestCode m;
    m.version = t.version();
    Str(t.phone(), m.phone);
    return m;
  }
  Verify Get(const fb::VerifyPhone& t) {
    Verify m;
    m.version = t.version();
    Str(t.phone(), m.phone);
    Str(t.code(), m.code);
    Str(t.device_name(), m.device_name);
    m.max_inflight = t.max_inflight();
    Ids(t.dict_ids(), m.dict_ids);
    return m;
  }
  Link Get(const fb::Link& t) {
    Link m;
    m.version = t.version();
    Str(t.link_code(), m.link_code);
    Str(t.device_name(), m.device_name);
    m.max_inflight = t.max_inflight();
    Ids(t.dict_ids(), m.dict_ids);
    return m;
  }
  Resume Get(const fb::Resume& t) {
    Resume m;
    m.version = t.version();
    m.user_id = t.user_id();
    m.device_id = t.device_id();
    Str(t.token(), m.token);
    m.inbox_epoch = t.inbox_epoch();
    m.last_inbox_seq = t.last_inbox_seq();
    m.last_acked_client_seq = t.last_acked_client_seq();
    m.max_inflight = t.max_inflight();
    Ids(t.dict_ids(), m.dict_ids);
    return m;
  }
  CodeSent Get(const fb::CodeSent& t) { return CodeSent{t.code_ttl_ms(), t.retry_after_ms()}; }
  Welcome Get(const fb::Welcome& t) {
    Welcome m;
    m.user_id = t.user_id();
    m.device_id = t.device_id();
    Str(t.token(), m.token);
    m.inbox_epoch = t.inbox_epoch();
    m.epoch_changed = t.epoch_changed();
    m.client_seq_high = t.client_seq_high();
    m.heartbeat_ms = t.heartbeat_ms();
    m.server_time_ms = t.server_time_ms();
    m.max_frame = t.max_frame();
    m.max_inflight = t.max_inflight();
    m.dict_id = t.dict_id();
    return m;
  }
  Send Get(const fb::Send& t) {
    Send m;
    m.client_seq = t.client_seq();
    m.to_user = t.to_user();
    Str(t.text(), m.text);
    m.ack_inbox_seq = t.ack_inbox_seq();
    m.group_id = t.group_id();
    Assets(t.assets(), m.assets);
    return m;
  }
  GetUploadTicket Get(const fb::GetUploadTicket& t) {
    GetUploadTicket m;
    m.req_id = t.req_id();
    m.size = t.size();
    Str(t.mime(), m.mime);
    Bytes(t.sha256(), m.sha256);
    m.asset_id = t.asset_id();
    return m;
  }
  GetDownloadTicket Get(const fb::GetDownloadTicket& t) { return GetDownloadTicket{t.req_id(), t.asset_id()}; }
  AssetTicket Get(const fb::AssetTicket& t) {
    AssetTicket m;
    m.req_id = t.req_id();
    m.status = static_cast<Code>(t.status());
    m.asset_id = t.asset_id();
    Str(t.method(), m.method);
    Str(t.url(), m.url);
    if (Count(t.headers()) && t.headers() != nullptr)
      for (const fb::HttpHeader* h : *t.headers()) {
        HttpHeader x;
        Str(h->name(), x.name);
        Str(h->value(), x.value);
        m.headers.push_back(std::move(x));
      }
    m.expires_ms = t.expires_ms();
    m.size = t.size();
    Str(t.mime(), m.mime);
    Bytes(t.sha256(), m.sha256);
    return m;
  }
  InboxAck Get(const fb::InboxAck& t) { return InboxAck{t.seq()}; }
  ResolvePhone Get(const fb::ResolvePhone& t) {
    ResolvePhone m;
    m.req_id = t.req_id();
    Str(t.phone(), m.phone);
    return m;
  }
  CreateLinkCode Get(const fb::NewLinkCode& t) { return CreateLinkCode{t.req_id()}; }
  ListDevices Get(const fb::ListDevices& t) { return ListDevices{t.req_id()}; }
  UnlinkDevice Get(const fb::UnlinkDevice& t) { return UnlinkDevice{t.req_id(), t.device_id()}; }
  SendAck Get(const fb::SendAck& t) {
    // Unknown Code values are kept as-is (newer servers may add codes); CodeName says "unknown".
    return SendAck{t.client_seq(), static_cast<Code>(t.status()), t.msg_id(), t.chat_seq(),
                   t.server_ts_ms()};
  }
  Deliver Get(const fb::Deliver& t) {
    Deliver m;
    if (!Count(t.items()) || t.items() == nullptr) return m;
    m.items.reserve(t.items()->size());
    for (const fb::InboxItem* it : *t.items()) {
      InboxItem item;
      item.seq = it->seq();
      // An unknown kind cannot be shown or acted on safely: reject rather than guess.
      if (it->kind() > fb::ItemKind::MAX) Fail("unknown InboxItem.kind");
      item.kind = static_cast<ItemKind>(it->kind());
      item.msg_id = it->msg_id();
      item.sender_user = it->sender_user();
      item.sender_device = it->sender_device();
      item.to_user = it->to_user();
      item.chat_seq = it->chat_seq();
      item.server_ts_ms = it->server_ts_ms();
      Str(it->text(), item.text);
      item.group_id = it->group_id();
      item.event = Op(it->event());
      item.event_user = it->event_user();
      item.receipt = Enum<ReceiptType>(it->receipt(), fb::ReceiptType::MAX, "unknown ReceiptType");
      Assets(it->assets(), item.assets);
      m.items.push_back(std::move(item));
    }
    return m;
  }
  Resolved Get(const fb::Resolved& t) { return Resolved{t.req_id(), t.user_id()}; }
  LinkCode Get(const fb::LinkCode& t) {
    LinkCode m;
    m.req_id = t.req_id();
    Str(t.code(), m.code);
    m.expires_ms = t.expires_ms();
    return m;
  }
  DeviceList Get(const fb::DeviceList& t) {
    DeviceList m;
    m.req_id = t.req_id();
    if (!Count(t.devices()) || t.devices() == nullptr) return m;
    m.devices.reserve(t.devices()->size());
    for (const fb::DeviceInfo* d : *t.devices()) {
      DeviceInfo info;
      info.device_id = d->device_id();
      Str(d->name(), info.name);
      info.created_ms = d->created_ms();
      info.last_seen_ms = d->last_seen_ms();
      info.online = d->online();
      m.devices.push_back(std::move(info));
    }
    return m;
  }
  Reply Get(const fb::Reply& t) {
    Reply m;
    m.req_id = t.req_id();
    m.status = static_cast<Code>(t.status());
    Str(t.message(), m.message);
    return m;
  }
  CreateGroup Get(const fb::CreateGroup& t) {
    CreateGroup m;
    m.req_id = t.req_id();
    Str(t.name(), m.name);
    U64s(t.members(), m.members);
    return m;
  }
  GroupChange Get(const fb::GroupChange& t) {
    GroupChange m;
    m.req_id = t.req_id();
    m.group_id = t.group_id();
    m.op = Op(t.op());
    m.user_id = t.user_id();
    Str(t.name(), m.name);
    return m;
  }
  GetGroup Get(const fb::GetGroup& t) { return GetGroup{t.req_id(), t.group_id()}; }
  GroupInfo Get(const fb::GroupInfo& t) {
    GroupInfo m;
    m.req_id = t.req_id();
    m.status = static_cast<Code>(t.status());
    m.group_id = t.group_id();
    Str(t.name(), m.name);
    m.created_ms = t.created_ms();
    m.chat_seq = t.chat_seq();
    if (!Count(t.members()) || t.members() == nullptr) return m;
    m.members.reserve(t.members()->size());
    for (const fb::GroupMember* x : *t.members()) m.members.push_back(GroupMember{x->user_id(), x->admin()});
    return m;
  }
  ReadMark Get(const fb::ReadMark& t) {
    return ReadMark{t.req_id(), t.peer_user(), t.group_id(), t.chat_seq()};
  }
  GetReceipts Get(const fb::GetReceipts& t) {
    return GetReceipts{t.req_id(), t.peer_user(), t.group_id()};
  }
  ReceiptList Get(const fb::ReceiptList& t) {
    ReceiptList m;
    m.req_id = t.req_id();
    m.status = static_cast<Code>(t.status());
    if (!Count(t.marks()) || t.marks() == nullptr) return m;
    m.marks.reserve(t.marks()->size());
    for (const fb::ReceiptMark* x : *t.marks())
      m.marks.push_back(ReceiptMark{x->user_id(), x->delivered_seq(), x->read_seq()});
    return m;
  }
  SetPresence Get(const fb::SetPresence& t) { return SetPresence{t.active()}; }
  SubscribePresence Get(const fb::SubscribePresence& t) {
    SubscribePresence m;
    U64s(t.users(), m.users);
    return m;
  }
  Presence Get(const fb::Presence& t) {
    Presence m;
    if (!Count(t.users()) || t.users() == nullptr) return m;
    m.users.reserve(t.users()->size());
    for (const fb::PresenceInfo* x : *t.users())
      m.users.push_back(PresenceInfo{x->user_id(), x->online(), x->last_seen_ms()});
    return m;
  }
  SetProfile Get(const fb::SetProfile& t) {
    SetProfile m;
    m.req_id = t.req_id();
    m.fields = t.fields();
    Str(t.status(), m.status);
    m.availability = Enum<Availability>(t.availability(), fb::Availability::MAX, "unknown Availability");
    m.last_seen = Enum<Visibility>(t.last_seen(), fb::Visibility::MAX, "unknown Visibility");
    return m;
  }
  GetProfiles Get(const fb::GetProfiles& t) {
    GetProfiles m;
    m.req_id = t.req_id();
    U64s(t.users(), m.users);
    return m;
  }
  Profiles Get(const fb::Profiles& t) {
    Profiles m;
    m.req_id = t.req_id();
    m.status = static_cast<Code>(t.status());
    m.retry_after_ms = t.retry_after_ms();
    if (!Count(t.profiles()) || t.profiles() == nullptr) return m;
    m.profiles.reserve(t.profiles()->size());
    for (const fb::Profile* x : *t.profiles()) {
      Profile p;
      p.user_id = x->user_id();
      Str(x->phone(), p.phone);
      Str(x->status(), p.status);
      p.availability = Enum<Availability>(x->availability(), fb::Availability::MAX, "unknown Availability");
      p.updated_ms = x->updated_ms();
      m.profiles.push_back(std::move(p));
    }
    return m;
  }
  SyncContacts Get(const fb::SyncContacts& t) {
    SyncContacts m;
    m.req_id = t.req_id();
    if (!Count(t.phones()) || t.phones() == nullptr) return m;
    m.phones.reserve(t.phones()->size());
    for (const flatbuffers::String* x : *t.phones()) {
      std::string p;
      if (!Str(x, p)) break;
      m.phones.push_back(std::move(p));
    }
    return m;
  }
  Ping Get(const fb::Ping& t) { return Ping{t.nonce()}; }
  Pong Get(const fb::Pong& t) { return Pong{t.nonce()}; }
  Error Get(const fb::Error& t) {
    Error m;
    m.code = static_cast<Code>(t.code());
    Str(t.message(), m.message);
    return m;
  }

 private:
  const DecodeLimits& limits_;
  Status error_;
};

// Converts the union member of type FbTable; a set type with an absent table is malformed (the
// verifier accepts it, so this check is ours).
template <typename FbTable>
Result<Message> Convert(const fb::Frame& frame, Converter& conv) {
  const auto* table = frame.msg_as<FbTable>();
  if (table == nullptr) return Bad("union type set but message table absent");
  Message m = conv.Get(*table);
  if (!conv.error().ok()) return conv.error();
  return m;
}

}  // namespace

Result<Message> DecodeMessage(std::span<const uint8_t> body, const DecodeLimits& limits) {
  if (body.size() >= FLATBUFFERS_MAX_BUFFER_SIZE) return Bad("body too large for FlatBuffers");
  const uint8_t* data = body.data();
  std::unique_ptr<uint64_t[]> aligned;
  if (reinterpret_cast<uintptr_t>(data) % alignof(uint64_t) != 0) {
    aligned.reset(new uint64_t[(body.size() + 7) / 8]);
    std::memcpy(aligned.get(), body.data(), body.size());
    data = reinterpret_cast<const uint8_t*>(aligned.get());
  }
  auto clamp = [](size_t v) {
    return static_cast<flatbuffers::uoffset_t>(std::min<size_t>(v, UINT32_MAX));
  };
  flatbuffers::Verifier verifier(data, body.size(), clamp(limits.max_depth),
                                 clamp(limits.max_tables));
  if (!verifier.VerifyBuffer<fb::Frame>(nullptr)) return Bad("FlatBuffers verification failed");
  const fb::Frame& frame = *flatbuffers::GetRoot<fb::Frame>(data);
  Converter conv(limits);
  switch (frame.msg_type()) {
    case fb::Msg::NONE: return Bad("frame carries no message");
    case fb::Msg::RequestCode: return Convert<fb::RequestCode>(frame, conv);
    case fb::Msg::Verify: return Convert<fb::VerifyPhone>(frame, conv);
    case fb::Msg::Link: return Convert<fb::Link>(frame, conv);
    case fb::Msg::Resume: return Convert<fb::Resume>(frame, conv);
    case fb::Msg::CodeSent: return Convert<fb::CodeSent>(frame, conv);
    case fb::Msg::Welcome: return Convert<fb::Welcome>(frame, conv);
    case fb::Msg::Send: return Convert<fb::Send>(frame, conv);
    case fb::Msg::InboxAck: return Convert<fb::InboxAck>(frame, conv);
    case fb::Msg::ResolvePhone: return Convert<fb::ResolvePhone>(frame, conv);
    case fb::Msg::CreateLinkCode: return Convert<fb::NewLinkCode>(frame, conv);
    case fb::Msg::ListDevices: return Convert<fb::ListDevices>(frame, conv);
    case fb::Msg::UnlinkDevice: return Convert<fb::UnlinkDevice>(frame, conv);
    case fb::Msg::SendAck: return Convert<fb::SendAck>(frame, conv);
    case fb::Msg::Deliver: return Convert<fb::Deliver>(frame, conv);
    case fb::Msg::Resolved: return Convert<fb::Resolved>(frame, conv);
    case fb::Msg::LinkCode: return Convert<fb::LinkCode>(frame, conv);
    case fb::Msg::DeviceList: return Convert<fb::DeviceList>(frame, conv);
    case fb::Msg::Reply: return Convert<fb::Reply>(frame, conv);
    case fb::Msg::Ping: return Convert<fb::Ping>(frame, conv);
    case fb::Msg::Pong: return Convert<fb::Pong>(frame, conv);
    case fb::Msg::Error: return Convert<fb::Error>(frame, conv);
    case fb::Msg::CreateGroup: return Convert<fb::CreateGroup>(frame, conv);
    case fb::Msg::GroupChange: return Convert<fb::GroupChange>(frame, conv);
    case fb::Msg::GetGroup: return Convert<fb::GetGroup>(frame, conv);
    case fb::Msg::GroupInfo: return Convert<fb::GroupInfo>(frame, conv);
    case fb::Msg::ReadMark: return Convert<fb::ReadMark>(frame, conv);
    case fb::Msg::GetReceipts: return Convert<fb::GetReceipts>(frame, conv);
    case fb::Msg::ReceiptList: return Convert<fb::ReceiptList>(frame, conv);
    case fb::Msg::SetPresence: return Convert<fb::SetPresence>(frame, conv);
    case fb::Msg::SubscribePresence: return Convert<fb::SubscribePresence>(frame, conv);
    case fb::Msg::Presence: return Convert<fb::Presence>(frame, conv);
    case fb::Msg::SetProfile: return Convert<fb::SetProfile>(frame, conv);
    case fb::Msg::GetProfiles: return Convert<fb::GetProfiles>(frame, conv);
    case fb::Msg::Profiles: return Convert<fb::Profiles>(frame, conv);
    case fb::Msg::SyncContacts: return Convert<fb::SyncContacts>(frame, conv);
    case fb::Msg::GetUploadTicket: return Convert<fb::GetUploadTicket>(frame, conv);
    case fb::Msg::GetDownloadTicket: return Convert<fb::GetDownloadTicket>(frame, conv);
    case fb::Msg::AssetTicket: return Convert<fb::AssetTicket>(frame, conv);
  }
  return Bad("unknown message type");
}

}  // namespace tern::wire
