// History: the device's own copy of every chat, kept indefinitely (the server keeps a message
// only until it is delivered). The client SDK fills it as a side effect (Client records every
// received item, every Send, every SendAck and every receipt through ClientCore); apps and the
// `tern` CLI query it: chat list, messages of a chat, search, per-message ticks.
//
// Storage: an ordered key-value backend (tools/client/history_kv.h): LMDB on disk
// (History::Open) or memory (History::InMemory). All logic is here, sans-IO; only the LMDB
// backend touches disk. One record family per prefix (binary keys, big-endian numbers):
//   "\0meta"                       magic, schema version, owner user id
//   'c' chat                       ChatRecord: my read position, the others' marks, last seq/ts, title
//   'm' chat chat_seq              a message / group event / expiry placeholder (chat order)
//   'p' client_seq                 a Send of this device without a final ok SendAck (pending, failed)
//   's' client_seq                 where an acknowledged Send of this device landed (chat, chat_seq)
// where chat = 'u' + peer user id (1:1) or 'g' + group id. Encodings: history_records.h.
//
// Recording rules (idempotent: a replayed item, ack or receipt changes nothing):
//  * messages (also my own, written on my other devices: from_user == owner = outgoing), group
//    events, media messages (their AssetRefs are kept) are keyed by (chat, chat_seq); a second
//    copy of a key is ignored;
//  * kMissed (a message that expired in my queue) leaves a placeholder at its chat_seq unless
//    the message is there; kExpired (my message never reached the recipient) marks my message
//    failed with kExpired (a placeholder if I do not have it);
//  * my Send is recorded at Send time as pending, keyed by client_seq; an ok SendAck moves it to
//    its chat_seq (status sent); a refusal marks it failed with the code (kUnavailable is not
//    final: it stays pending);
//  * receipts: a delivered/read mark "up to N" from another member ticks every outgoing message
//    <= N of that chat (status is computed when queried, so order of arrival does not matter).
//    In a group, a tick means *some* member reached it (the client does not track membership);
//    exact per-member marks come from Client::GetReceipts. A read mark from my own other device
//    moves my read position;
//  * read position: MarkRead(chat, N) (Client::MarkRead calls it) only moves forward; unread =
//    incoming messages above it.
//
// Errors everywhere: the backend's (kUnavailable, kNoSpace, kCorrupt); a failed write changed
// nothing. Opening: kInvalidArgument when the path is not a Tern history (another LMDB database,
// a directory with other files), kCorrupt for an unknown schema version; recording for another
// user than the history's owner: kInvalidArgument.
//
// Thread safety: not thread-safe; one owner (the Client, or a tool between runs). Several
// processes may open one LMDB history (e.g. `tern listen` and `tern history`).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tools/client/client_state.h"
#include "tools/client/history_kv.h"
#include "tools/client/lmdb_history_kv.h"
#include "wire/messages.h"
#include "wire/status.h"

namespace tern::tools {

inline constexpr uint32_t kHistorySchemaVersion = 1;

// A chat: the 1:1 chat with peer_user (group_id 0), or group group_id (peer_user 0).
struct ChatId {
  uint64_t peer_user = 0;
  uint64_t group_id = 0;
  static ChatId Direct(uint64_t peer) { return {peer, 0}; }
  static ChatId Group(uint64_t group) { return {0, group}; }
  bool is_group() const { return group_id != 0; }
  bool operator==(const ChatId&) const = default;
  auto operator<=>(const ChatId&) const = default;
};

enum class EntryKind : uint8_t {
  kMessage = 0,     // text and/or media
  kGroupEvent = 1,  // event / event_user / text (kCreate, kRename: the name)
  kMissed = 2,      // placeholder: a message that expired in my queue before I got it
  kExpired = 3,     // placeholder: my message (sent from another device) that expired undelivered
};

// Ticks of an outgoing message; kNone for incoming entries and events.
enum class MessageStatus : uint8_t { kNone = 0, kPending, kSent, kDelivered, kRead, kFailed };
const char* MessageStatusName(MessageStatus s);  // "pending", "sent", ... ("" for kNone)

struct HistoryMessage {
  ChatId chat;
  uint64_t chat_seq = 0;    // 0 while pending or after a refusal (then client_seq is set)
  uint64_t client_seq = 0;  // my sends from this device, else 0
  uint64_t msg_id = 0;
  uint64_t from_user = 0;
  uint32_t from_device = 0;
  uint64_t server_ts_ms = 0;  // 0 while pending
  EntryKind kind = EntryKind::kMessage;
  bool outgoing = false;      // written by the owner (on this or another device)
  MessageStatus status = MessageStatus::kNone;
  Code failure = Code::kOk;   // kFailed: the SendAck's refusal code, or kExpired
  std::string text;           // message text / media caption / group name
  wire::GroupOp event = wire::GroupOp::kNone;
  uint64_t event_user = 0;
  std::vector<wire::AssetRef> assets;
};

struct ChatSummary {
  ChatId chat;
  std::string title;          // groups: the latest name seen in the chat; 1:1: empty
  uint64_t last_chat_seq = 0;
  uint64_t last_activity_ms = 0;  // server time of the newest entry
  std::optional<HistoryMessage> last;  // preview: the newest entry (pending sends excluded)
  uint64_t read_seq = 0;      // my read position
  uint64_t unread = 0;        // incoming messages above read_seq
  uint64_t pending = 0;       // my sends not yet acknowledged (or failed) in this chat
};

struct HistoryStats {
  uint64_t chats = 0, messages = 0, pending = 0;
};

class History {
 public:
  // The LMDB history in directory `dir` (created when missing).
  // Errors: see above, plus OpenLmdbHistoryKv's.
  static Result<std::unique_ptr<History>> Open(const std::string& dir, const LmdbHistoryOptions& options = {});
  // A history over any backend (MemHistoryKv for tests). `kv` is owned.
  static Result<std::unique_ptr<History>> Create(std::unique_ptr<HistoryKv> kv);
  static std::unique_ptr<History> InMemory();

  // ---- recording (the SDK calls these; `me` is the device's user id) ----
  // Every item of one Deliver frame in one write (receipts included, duplicates ignored).
  Status RecordItems(uint64_t me, std::span<const wire::InboxItem> items);
  // A Send of this device, before it is written to the socket.
  Status RecordSend(uint64_t me, const PendingSend& send);
  // Its SendAck (replays and acks of unknown sends are ignored).
  Status RecordSendAck(const wire::SendAck& ack);
  // My read position in `chat` moves up to chat_seq (never back).
  Status MarkRead(ChatId chat, uint64_t chat_seq);
  // The chat of an item as seen by `me` (1:1: the other user; to_user 0 means me).
  static ChatId ChatOf(uint64_t me, const wire::InboxItem& item);

  // ---- queries ----
  // Every chat, newest activity first (ties: larger chat id first); limit 0 = all.
  Result<std::vector<ChatSummary>> ListChats(size_t limit = 0);
  // One page of a chat in chat order: the `limit` newest entries below before_chat_seq
  // (0 = from the newest; limit 0 = all), ascending; on the first page (before_chat_seq 0) my pending and
  // failed sends follow, ascending client_seq. Page back with before_chat_seq = the first
  // returned chat_seq.
  Result<std::vector<HistoryMessage>> Messages(ChatId chat, uint64_t before_chat_seq = 0, size_t limit = 50);
  // Case-insensitive substring search over text (and media file names), UTF-8 aware (simple
  // case folding for Latin, Greek and Cyrillic; other scripts match exactly), newest first
  // (server time, then chat_seq), optionally in one chat, at most `limit` (0 = 100) results.
  // Pending sends are included. An empty needle matches nothing.
  Result<std::vector<HistoryMessage>> Search(std::string_view needle, std::optional<ChatId> chat = std::nullopt,
                                             size_t limit = 100);
  // The entry at (chat, chat_seq), or nullopt.
  Result<std::optional<HistoryMessage>> Get(ChatId chat, uint64_t chat_seq);
  // A Send of this device by client_seq: pending/failed, or where its ack put it; nullopt when
  // unknown.
  Result<std::optional<HistoryMessage>> FindSend(uint64_t client_seq);
  // The owner recorded in the meta record (0 until the first recording).
  Result<uint64_t> Owner();
  Result<HistoryStats> Stats();

  // ---- backup (tools/client/history_backup.h encrypts this) ----
  // Every chat and every acknowledged entry (not pending/failed sends, which belong to this
  // device's state) in a versioned binary form ("TERNHIST" v1, history_records.h).
  Result<std::string> Export();
  struct ImportResult {
    uint64_t chats = 0, messages = 0, added = 0;  // added: entries this history did not have
  };
  // Merges an Export() (idempotent: marks take the maximum, existing entries win over
  // placeholders, nothing is duplicated) in one write: on any error nothing changed.
  // Errors: kCorrupt (not an export, bad record), kInvalidArgument (exported for another user).
  Result<ImportResult> Import(std::string_view exported, uint64_t me);

  HistoryKv& kv() { return *kv_; }

 private:
  explicit History(std::unique_ptr<HistoryKv> kv) : kv_(std::move(kv)) {}
  Status CheckOwner(HistoryTxn& txn, uint64_t me);

  std::unique_ptr<HistoryKv> kv_;
};

}  // namespace tern::tools
