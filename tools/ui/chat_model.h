// ChatModel: what the interactive client (`tern ui`) shows, with no terminal, no sockets and no
// clock. The controller (tools/ui/ui_app.h) feeds it the SDK's events -- inbox items (messages,
// group events, receipts), SendAcks, presence, group info, connection state, file-transfer
// progress -- with the time passed in; the view (tools/ui/screen.h) draws it; the unit tests
// (tests/unit/ui_chat_model_test.cc) drive it directly.
//
// Chats are keyed by ChatKey: the 1:1 chat with a peer user, or a group. A message is either
// incoming (from a peer, or from one of my other devices: then it is mine, with no client seq)
// or one of my sends from this device (client_seq nonzero). Order in a chat is the server's
// chat order (chat_seq); my sends not yet accepted (pending: no chat seq) follow, in client
// seq order, and move into place when their SendAck arrives.
//
// Ticks of my messages (TickOf) are derived, never stored, so they only move forward:
//   pending    no SendAck yet (stored durably on this device; goes out after reconnect)
//   sent       the server committed it (SendAck ok)
//   delivered  every other member's devices received the chat up to its chat seq (receipts)
//   seen       every other member read the chat up to its chat seq (read marks)
//   failed     the server refused it for good (SendAck with an error)
// Unread counts are derived too: incoming messages above my read mark in that chat, where my
// read mark moves when I open the chat (MarkRead) or a read receipt from my other device says
// so.
//
// History seam: Preload() takes a chat list and message entries from the device's local history
// (tools/client/history.h, filled by the SDK; the controller converts, see ui_history.h) at
// start-up, before any live event; the live events then continue from there, and duplicates
// (the same chat seq) are ignored. My pending sends come from ClientState::unacked instead.
//
// Thread safety: not thread-safe; one owner (the UI thread).
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "wire/messages.h"
#include "wire/status.h"

namespace tern::ui {

struct ChatKey {
  uint64_t peer = 0;   // the 1:1 chat with this user (group == 0), or
  uint64_t group = 0;  // this group's chat
  bool is_group() const { return group != 0; }
  auto operator<=>(const ChatKey&) const = default;
};

enum class Tick { kNone, kPending, kSent, kDelivered, kSeen, kFailed };  // kNone: not mine
enum class Connection { kConnecting, kOnline, kOffline };

struct ChatMessage {
  enum class Kind { kText, kGroupEvent, kNotice };
  Kind kind = Kind::kText;
  uint64_t chat_seq = 0;    // 0 while pending
  uint64_t client_seq = 0;  // nonzero: sent from this device
  uint64_t sender = 0;
  bool mine = false;
  uint64_t ts_ms = 0;       // server time when known, else the local time it was typed
  std::string text;         // text, caption, group name (create/rename) or notice
  std::vector<wire::AssetRef> assets;
  std::vector<int> file_numbers;  // per asset: the number `/open N` takes in this chat
  wire::GroupOp event = wire::GroupOp::kNone;  // kGroupEvent
  uint64_t event_user = 0;
  Code refused = Code::kOk;  // a permanent refusal of my send
  uint64_t after_seq = 0;    // kNotice: shown after this chat seq (before later messages)
  // The tick a history store recorded for a preloaded message of mine; live receipts can only
  // raise it (TickOf returns the higher of the two).
  Tick stored_tick = Tick::kNone;
};

struct Transfer {
  enum class State { kRunning, kDone, kFailed };
  uint64_t id = 0;
  bool upload = true;
  ChatKey chat;
  std::string name;
  uint64_t done = 0, total = 0;
  State state = State::kRunning;
  std::string detail;  // kDone download: the saved path; kFailed: the error
};

struct Chat {
  ChatKey key;
  std::string title;                  // group name; empty for a 1:1 chat (NameOf(peer))
  std::vector<ChatMessage> messages;  // chat order, then pending sends
  std::set<uint64_t> members;         // groups: every member but me (when known)
  bool members_known = false;         // a GroupInfo arrived (else: learnt from events)
  struct Marks { uint64_t delivered = 0, read = 0; };
  std::map<uint64_t, Marks> marks;    // other members' receipts
  uint64_t my_read = 0;               // I read up to this chat seq
  uint64_t activity = 0;              // ordering of the chat list (higher = more recent)
  int next_file = 1;
  bool left = false;                  // I left or was removed (groups)
};

class ChatModel {
 public:
  explicit ChatModel(uint64_t my_user_id) : me_(my_user_id) {}

  // ---- history seam (start-up, before live events) ----
  struct PreloadChat {
    ChatKey key;
    std::string title;               // groups
    std::vector<uint64_t> members;   // groups: may include me (ignored)
    uint64_t my_read = 0;
    std::map<uint64_t, Chat::Marks> marks;
  };
  struct PreloadMessage {
    ChatKey key;
    ChatMessage message;  // chat_seq set (a stored message); my pending sends come from OnSending
  };
  // Replaces nothing: adds the chats and messages (ignoring messages already present by chat
  // seq), so it may run before or after the pending sends were added.
  void Preload(const std::vector<PreloadChat>& chats, const std::vector<PreloadMessage>& messages);

  // ---- live events ----
  // One inbox item in inbox order (messages, group events, receipts, expiry notices).
  void OnItem(const wire::InboxItem& item, uint64_t now_ms);
  // My send from this device, stored by the SDK as `client_seq` (pending until OnAck).
  void OnSending(ChatKey chat, uint64_t client_seq, std::string text, std::vector<wire::AssetRef> assets,
                 uint64_t now_ms);
  // The final SendAck of one of my sends (unknown client seqs are ignored).
  void OnAck(const wire::SendAck& ack, uint64_t now_ms);
  void OnPresence(const wire::PresenceInfo& p) { presence_[p.user_id] = p; }
  void OnGroupInfo(const wire::GroupInfo& g, uint64_t now_ms);
  void OnConnection(Connection c, uint64_t now_ms);
  // A chat the user opened or created (it appears in the list, most recent first).
  ChatKey Touch(ChatKey key);
  // Labels for user ids (phone numbers as typed); unknown users show as "user N".
  void SetName(uint64_t user, std::string name) { names_[user] = std::move(name); }
  // A local line in a chat (command results, errors): not sent, not counted as unread.
  void AddNotice(ChatKey chat, std::string text, uint64_t now_ms);

  // ---- read marks ----
  // I looked at `chat`: moves my read mark to its newest incoming message. Returns the chat
  // seq to report in a ReadMark when it moved, else nullopt.
  std::optional<uint64_t> MarkRead(ChatKey chat);

  // ---- file transfers ----
  uint64_t StartTransfer(ChatKey chat, bool upload, std::string name, uint64_t total);
  void OnTransferProgress(uint64_t id, uint64_t done, uint64_t total);
  void OnTransferDone(uint64_t id, const Status& result, std::string detail);
  const Transfer* transfer(uint64_t id) const;
  // The transfers of a chat, oldest first.
  std::vector<const Transfer*> TransfersOf(ChatKey chat) const;
  // Attachment number `n` of a chat (as shown: "[file #n ...]"), or null.
  const wire::AssetRef* FileOf(ChatKey chat, int n) const;

  // ---- queries ----
  uint64_t me() const { return me_; }
  const Chat* chat(ChatKey key) const;
  // Most recent activity first.
  std::vector<const Chat*> ChatList() const;
  Tick TickOf(const Chat& chat, const ChatMessage& m) const;
  int Unread(const Chat& chat) const;
  // The last message of a chat as one line ("" when empty).
  std::string Preview(const Chat& chat) const;
  std::string NameOf(uint64_t user) const;
  std::string TitleOf(const Chat& chat) const;
  // "added +1555..." for a group event.
  std::string EventText(const ChatMessage& m) const;
  const wire::PresenceInfo* PresenceOf(uint64_t user) const;
  Connection connection() const { return connection_; }
  uint64_t connection_since_ms() const { return connection_since_ms_; }
  // My sends from this device still waiting for their SendAck.
  std::vector<uint64_t> PendingSends() const;
  size_t pending_count() const { return pending_.size(); }
  // Peers of 1:1 chats and members of groups (whose presence to watch), ascending.
  std::vector<uint64_t> People() const;
  // Groups whose name/members are unknown (ask the server with GetGroup).
  std::vector<uint64_t> GroupsToFetch() const;
  // Marks a group fetch as asked (so GroupsToFetch does not list it again).
  void FetchAsked(uint64_t group) { fetch_asked_.insert(group); }
  // The fetch was lost with its connection: list the group again.
  void FetchFailed(uint64_t group) { fetch_asked_.erase(group); }

 private:
  Chat& ChatFor(ChatKey key);
  ChatKey KeyOf(const wire::InboxItem& item) const;
  void Insert(Chat& chat, ChatMessage m);
  // Position in a chat: 2*chat_seq for sequenced items, 2*after_seq+1 for notices, the end
  // for my pending sends.
  static uint64_t SortKey(const ChatMessage& m);
  // The tick the receipts received so far give a sequenced message of mine.
  Tick LiveTick(const Chat& chat, const ChatMessage& m) const;
  void OnReceipt(const wire::InboxItem& item);
  void OnGroupEvent(Chat& chat, const wire::InboxItem& item);

  uint64_t me_;
  std::map<ChatKey, Chat> chats_;
  uint64_t activity_ = 0;
  std::map<uint64_t, ChatKey> pending_;  // client_seq -> chat
  std::map<uint64_t, std::string> names_;
  std::map<uint64_t, wire::PresenceInfo> presence_;
  std::set<uint64_t> fetch_asked_;
  std::map<uint64_t, Transfer> transfers_;
  uint64_t next_transfer_ = 1;
  Connection connection_ = Connection::kConnecting;
  uint64_t connection_since_ms_ = 0;
};

}  // namespace tern::ui
