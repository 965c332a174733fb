// Tern protocol messages as plain C++ values, and their FlatBuffers encoding.
//
// Every frame body is one FlatBuffer whose root table `Frame` holds a union of the tables in
// wire/schema/tern.fbs; each table maps 1:1 to a struct below (same field names). Encoding and
// decoding go through this header so that no other layer touches the FlatBuffers API.
// See wire/PROTOCOL.md for the meaning of every field and the ack/seq/epoch rules.
//
// Thread safety: pure functions over values.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "wire/status.h"

namespace tern::wire {

inline constexpr uint16_t kProtocolVersion = 1;
inline constexpr size_t kMaxDictIds = 16;  // entries in a handshake's dict_ids
inline constexpr size_t kMaxAssetsPerMessage = 16;  // Send.assets / InboxItem.assets entries

// ---- pre-authentication, client -> server ----
struct RequestCode {  // ask for a one-time code to be sent to `phone` (E.164, "+" and digits)
  uint16_t version = kProtocolVersion;
  std::string phone;
};
struct Verify {  // prove the phone with the code: registers a new primary device
  uint16_t version = kProtocolVersion;
  std::string phone;
  std::string code;
  std::string device_name;
  uint32_t max_inflight = 0;  // flow-control window (items); 0 = server default
  std::vector<uint32_t> dict_ids;  // compression dictionaries offered (wire/compress.h)
};
struct Link {  // attach a new device to the user that issued `link_code`
  uint16_t version = kProtocolVersion;
  std::string link_code;
  std::string device_name;
  uint32_t max_inflight = 0;
  std::vector<uint32_t> dict_ids;
};
struct Resume {  // reconnect an existing device
  uint16_t version = kProtocolVersion;
  uint64_t user_id = 0;
  uint32_t device_id = 0;
  std::string token;
  uint32_t inbox_epoch = 0;       // epoch of the client's stored inbox position (0 = none)
  uint64_t last_inbox_seq = 0;    // highest inbox seq durably stored by the client
  uint64_t last_acked_client_seq = 0;  // highest client seq whose SendAck the client holds
  uint32_t max_inflight = 0;
  std::vector<uint32_t> dict_ids;
};

// ---- pre-authentication, server -> client ----
struct CodeSent {
  uint32_t code_ttl_ms = 0;
  uint32_t retry_after_ms = 0;
};
struct Welcome {  // authentication succeeded; the session is now authenticated
  uint64_t user_id = 0;
  uint32_t device_id = 0;
  std::string token;            // only for a newly created device (Verify/Link); else empty
  uint32_t inbox_epoch = 0;
  bool epoch_changed = false;   // the client's epoch was not current: it missed items
  uint64_t client_seq_high = 0; // highest client seq the server holds a result for
  uint32_t heartbeat_ms = 0;    // ping at least this often
  uint64_t server_time_ms = 0;
  uint32_t max_frame = 0;       // largest frame the server accepts now
  uint32_t max_inflight = 0;    // window the server will honour
  uint32_t dict_id = 0;         // compression from here on, both ways (0 = none)
};

// ---- media (PROTOCOL.md §5) ----
struct AssetRef {
  uint64_t asset_id = 0;
  uint64_t size = 0;
  std::string mime;
  std::string sha256;      // 32 raw bytes
  uint32_t width = 0;      // pixels (0 = not given)
  uint32_t height = 0;
  uint32_t duration_ms = 0;
  std::string thumbnail;   // raw bytes of a tiny preview
  std::string name;        // file name (documents)
  bool operator==(const AssetRef&) const = default;
};
struct HttpHeader {
  std::string name, value;
  bool operator==(const HttpHeader&) const = default;
};
struct GetUploadTicket {  // announce an upload: the server answers with a presigned PUT
  uint32_t req_id = 0;
  uint64_t size = 0;
  std::string mime;
  std::string sha256;  // 32 raw bytes
  uint64_t asset_id = 0;  // nonzero: renew the URL of this (the caller's) upload to resume it
};
struct GetDownloadTicket {  // ask for a presigned GET (uploader or chat member only)
  uint32_t req_id = 0;
  uint64_t asset_id = 0;
};
struct AssetTicket {
  uint32_t req_id = 0;
  Code status = Code::kOk;
  uint64_t asset_id = 0;
  std::string method;  // "PUT" or "GET"
  std::string url;
  std::vector<HttpHeader> headers;  // to send verbatim (signed)
  uint64_t expires_ms = 0;
  uint64_t size = 0;
  std::string mime;
  std::string sha256;
};

// ---- authenticated, client -> server ----
struct Send {
  uint64_t client_seq = 0;  // strictly increasing per device, starting at 1
  uint64_t to_user = 0;     // 1:1 chat with this user
  std::string text;         // UTF-8
  uint64_t ack_inbox_seq = 0;  // piggybacked cumulative InboxAck (0 = none)
  uint64_t group_id = 0;       // nonzero: a group message (then to_user must be 0)
  std::vector<AssetRef> assets;  // media (PROTOCOL.md §5); `text` is then the caption
};
struct InboxAck {  // cumulative: every inbox item with seq <= `seq` is durably stored
  uint64_t seq = 0;
};
struct ResolvePhone {
  uint32_t req_id = 0;
  std::string phone;
};
struct CreateLinkCode {
  uint32_t req_id = 0;
};
struct ListDevices {
  uint32_t req_id = 0;
};
struct UnlinkDevice {
  uint32_t req_id = 0;
  uint32_t device_id = 0;
};

// ---- authenticated, server -> client ----
struct SendAck {  // the *sent* ack (status ok) or the refusal of one Send
  uint64_t client_seq = 0;
  Code status = Code::kOk;
  uint64_t msg_id = 0;
  uint64_t chat_seq = 0;
  uint64_t server_ts_ms = 0;
};
enum class ItemKind : uint8_t {
  kMessage = 0,  // a chat message (from a peer, or from one of my other devices)
  kExpired = 1,  // to the sender's devices: msg_id expired before reaching to_user
  kMissed = 2,   // to a recipient device: msg_id expired in this queue; text is absent
  kGroupEvent = 3,  // a membership change in group_id's chat order (event, event_user)
  kReceipt = 4,     // sender_user delivered/read the chat up to chat_seq (receipt), §3.11
};
enum class ReceiptType : uint8_t { kNone = 0, kDelivered = 1, kRead = 2 };
enum class Availability : uint8_t { kUnset = 0, kAvailable = 1, kBusy = 2, kAway = 3 };
enum class Visibility : uint8_t { kEveryone = 0, kContacts = 1, kNobody = 2 };
// A group operation (GroupChange.op) and what a kGroupEvent item reports (InboxItem.event).
enum class GroupOp : uint8_t {
  kNone = 0,
  kCreate = 1,   // event only: sender_user created the group named `text`
  kAdd = 2,
  kRemove = 3,
  kLeave = 4,    // GroupChange: leave (user_id ignored); event: event_user left
  kRename = 5,   // text / GroupChange.name = the new name
  kPromote = 6,  // make an admin
  kDemote = 7,   // take admin away
};
inline constexpr uint8_t kMaxGroupOp = 7;
struct InboxItem {
  uint64_t seq = 0;  // per-device inbox seq within the current epoch
  ItemKind kind = ItemKind::kMessage;
  uint64_t msg_id = 0;
  uint64_t sender_user = 0;
  uint32_t sender_device = 0;
  uint64_t to_user = 0;
  uint64_t chat_seq = 0;
  uint64_t server_ts_ms = 0;
  std::string text;
  uint64_t group_id = 0;   // nonzero: the item belongs to this group's chat
  GroupOp event = GroupOp::kNone;  // kGroupEvent items only
  uint64_t event_user = 0;         // kGroupEvent items: the member concerned
  // kReceipt items: `sender_user` delivered/read the chat up to `chat_seq`. The chat is
  // group_id when nonzero, else the 1:1 chat between sender_user and to_user.
  ReceiptType receipt = ReceiptType::kNone;
  std::vector<AssetRef> assets;  // kMessage items: media attached by the sender
};
struct Deliver {
  std::vector<InboxItem> items;  // ascending seq (gaps possible: superseded receipts are removed)
};
struct Resolved {
  uint32_t req_id = 0;
  uint64_t user_id = 0;  // 0 when the phone is not registered
};
struct LinkCode {
  uint32_t req_id = 0;
  std::string code;
  uint64_t expires_ms = 0;  // server time
};
struct DeviceInfo {
  uint32_t device_id = 0;
  std::string name;
  uint64_t created_ms = 0;
  uint64_t last_seen_ms = 0;
  bool online = false;
};
struct DeviceList {
  uint32_t req_id = 0;
  std::vector<DeviceInfo> devices;
};
struct Reply {  // generic answer to a request with a req_id
  uint32_t req_id = 0;
  Code status = Code::kOk;
  std::string message;
};

// ---- groups (PROTOCOL.md §3.10) ----
struct CreateGroup {  // answered by GroupInfo (status ok: the creator is the first admin)
  uint32_t req_id = 0;
  std::string name;
  std::vector<uint64_t> members;  // initial members besides the creator
};
struct GroupChange {  // admins only, except kLeave; answered by Reply
  uint32_t req_id = 0;
  uint64_t group_id = 0;
  GroupOp op = GroupOp::kNone;
  uint64_t user_id = 0;  // kAdd / kRemove / kPromote / kDemote
  std::string name;      // kRename
};
struct GetGroup {  // members only; answered by GroupInfo
  uint32_t req_id = 0;
  uint64_t group_id = 0;
};
struct GroupMember {
  uint64_t user_id = 0;
  bool admin = false;
};
struct GroupInfo {
  uint32_t req_id = 0;
  Code status = Code::kOk;
  uint64_t group_id = 0;
  std::string name;
  std::vector<GroupMember> members;
  uint64_t created_ms = 0;
  uint64_t chat_seq = 0;  // last seq assigned in the group's chat
};

// ---- receipts, presence, profiles, contacts (PROTOCOL.md §3.11-§3.13) ----
struct ReadMark {  // "I read the chat up to chat_seq"; answered by Reply once durable
  uint32_t req_id = 0;
  uint64_t peer_user = 0;  // the 1:1 chat with this user, or
  uint64_t group_id = 0;   // this group's chat (exactly one of the two is nonzero)
  uint64_t chat_seq = 0;
};
struct GetReceipts {  // answered by ReceiptList (members of the chat only)
  uint32_t req_id = 0;
  uint64_t peer_user = 0;
  uint64_t group_id = 0;
};
struct ReceiptMark {
  uint64_t user_id = 0;
  uint64_t delivered_seq = 0;
  uint64_t read_seq = 0;
};
struct ReceiptList {
  uint32_t req_id = 0;
  Code status = Code::kOk;
  std::vector<ReceiptMark> marks;  // one per member (1:1: both users)
};
struct SetPresence {  // this connection is in the foreground (counts as online) or not
  bool active = false;
};
struct SubscribePresence {  // replaces the connection's presence subscriptions
  std::vector<uint64_t> users;
};
struct PresenceInfo {
  uint64_t user_id = 0;
  bool online = false;
  uint64_t last_seen_ms = 0;  // 0 while online or when hidden by the user's privacy setting
};
struct Presence {  // ephemeral: never queued
  std::vector<PresenceInfo> users;
};
inline constexpr uint8_t kProfileStatus = 1, kProfileAvailability = 2, kProfileLastSeen = 4;
struct SetProfile {  // answered by Reply
  uint32_t req_id = 0;
  uint8_t fields = 0;  // which of the fields below to change (kProfile* bits)
  std::string status;
  Availability availability = Availability::kUnset;
  Visibility last_seen = Visibility::kEveryone;
};
struct GetProfiles {  // answered by Profiles
  uint32_t req_id = 0;
  std::vector<uint64_t> users;
};
struct Profile {
  uint64_t user_id = 0;
  std::string phone;  // SyncContacts answers only
  std::string status;
  Availability availability = Availability::kUnset;
  uint64_t updated_ms = 0;
};
struct Profiles {
  uint32_t req_id = 0;
  Code status = Code::kOk;
  std::vector<Profile> profiles;
  uint32_t retry_after_ms = 0;  // status kRateLimited
};
struct SyncContacts {  // contact discovery: which phones are registered; answered by Profiles
  uint32_t req_id = 0;
  std::vector<std::string> phones;
};

// ---- either direction, any time ----
struct Ping {
  uint64_t nonce = 0;
};
struct Pong {
  uint64_t nonce = 0;
};
struct Error {  // a fatal error: the sender closes the connection after it
  Code code = Code::kProtocol;
  std::string message;
};

using Message = std::variant<RequestCode, Verify, Link, Resume, CodeSent, Welcome, Send, InboxAck,
                             ResolvePhone, CreateLinkCode, ListDevices, UnlinkDevice, SendAck,
                             Deliver, Resolved, LinkCode, DeviceList, Reply, Ping, Pong, Error,
                             CreateGroup, GroupChange, GetGroup, GroupInfo, ReadMark,
                             GetReceipts, ReceiptList, SetPresence, SubscribePresence, Presence,
                             SetProfile, GetProfiles, Profiles, SyncContacts, GetUploadTicket,
                             GetDownloadTicket, AssetTicket>;

const char* MessageName(const Message& m);

// Which side may send a message, and whether it is allowed before authentication.
enum class Direction : uint8_t { kClientToServer, kServerToClient, kBoth };
Direction DirectionOf(const Message& m);
bool AllowedBeforeAuth(const Message& m);

struct DecodeLimits {
  size_t max_depth = 16;       // FlatBuffers verifier nesting depth
  size_t max_tables = 100000;  // FlatBuffers verifier table count
  size_t max_items = 4096;     // Deliver.items / DeviceList.devices / group member entries
  size_t max_string = 65536;   // any single string field, bytes
};

// Encode `m` as a FlatBuffer (a frame body, without the frame header).
std::string EncodeMessage(const Message& m);

// Verify and decode a frame body. Errors: kProtocol (verifier failure, unknown union type,
// missing required field, limits exceeded). Never reads outside `body`.
Result<Message> DecodeMessage(std::span<const uint8_t> body, const DecodeLimits& limits = {});

}  // namespace tern::wire
