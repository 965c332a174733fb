// ClientCore: the client half of Tern's session rules (wire/PROTOCOL.md §3) with no sockets
// and no clock. Messages from the server go in (OnMessage), messages for the server come out
// (TakeOutgoing); time is passed in. The IO wrapper (tools/client/client.h) feeds it from a
// wire::Session over TCP; unit tests feed it scripted server messages.
//
// What it does:
//  * credentials and positions live in a ClientState persisted through a StateStore;
//  * Send assigns the next client_seq and stores the message durably *before* it is queued
//    for the socket; it stays pending until a final SendAck (ok or a permanent refusal);
//  * after Welcome it resends pending sends above Welcome.client_seq_high in ascending order
//    (plus those last refused with `unavailable`, which the server did not record);
//  * SendAcks drop sends from the pending list and advance last_acked_client_seq (the highest
//    seq with every lower one answered);
//  * Deliver items with seq <= last_inbox_seq (same epoch) are dropped as duplicates; new ones
//    go to the inbox (and the callback), last_inbox_seq is persisted, then a cumulative
//    InboxAck is queued (unless auto_ack is off: then AckInbox() sends it, or it rides on the
//    next Send);
//  * fewer frames (PROTOCOL.md §3.3): the InboxAcks queued in one batch collapse into the
//    highest one, and that one rides in the first Send of the batch (Send.ack_inbox_seq)
//    instead of travelling alone;
//  * the handshake offers every compression dictionary the wire library knows (newest first)
//    and asks for a window of 1024 items, so an offline queue drains in one round trip;
//  * receipt items (ItemKind::kReceipt) go to receipts() and update the per-chat marks
//    (MarkOf: how far each member received / read), not to inbox(), which holds the chat
//    history (messages, group events, expiry notices); the callback sees every item;
//  * presence: Watch() and SetActive() are per-connection on the server, so they are sent again
//    after every Welcome; Presence updates land in presence();
//  * Ping is answered with Pong; Error ends the session with its code;
//  * local history (optional, set_history): every Send is recorded as pending before the state
//    is saved, every SendAck and every fresh Deliver item (receipts included, in one write per
//    frame) before the state moves past it; a history write that fails fails the operation the
//    same way a state save does (Send returns it; OnMessage ends the session and nothing is
//    acked), so the device's copy never misses what the server deleted;
//  * request/response pairs (ResolvePhone, CreateLinkCode, ListDevices, UnlinkDevice) are
//    matched by req_id; a heartbeat Ping goes out when nothing was sent for heartbeat_ms.
//
// Thread safety: not thread-safe; one owner.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tools/client/client_state.h"
#include "tools/client/history.h"
#include "wire/compress.h"
#include "wire/messages.h"
#include "wire/status.h"

namespace tern::tools {

class ClientCore {
 public:
  struct Options {
    uint32_t max_inflight = 1024;  // window asked for in the handshake (0 = server default)
    // Compression offered in the handshake (wire/compress.h); empty = uncompressed.
    std::vector<uint32_t> dict_ids = wire::DefaultDictOffer();
    bool auto_ack = true;       // send InboxAck after every Deliver frame
    uint32_t heartbeat_ms = 0;  // 0 = Welcome.heartbeat_ms
    // A Deliver frame holding only receipts is acked lazily: its ack rides with the next frame
    // this client writes anyway (same TCP segment), or goes alone after this delay. Saves a
    // packet each way per receipt on a weak link. 0 = ack at once.
    uint32_t receipt_ack_delay_ms = 10000;
  };
  struct Counters {
    uint64_t items_received = 0;      // new inbox items handed to the app
    uint64_t duplicates_dropped = 0;  // items with seq <= last_inbox_seq
    uint64_t deliver_frames = 0;      // Deliver messages received
    uint64_t max_items_per_frame = 0;
    uint64_t acks_received = 0;       // SendAcks (including replays and refusals)
    uint64_t sends_written = 0;       // Send messages queued for the socket (first or resend)
    uint64_t resends = 0;             // Sends re-queued after a Welcome
    uint64_t presence_updates = 0;    // Presence messages received
    uint64_t pings_sent = 0;
    uint64_t pongs_received = 0;
    uint64_t welcomes = 0;
    uint64_t acks_piggybacked = 0;    // InboxAcks that rode in a Send instead of their own frame
  };
  using ItemCallback = std::function<void(const wire::InboxItem&)>;

  // `store` is not owned and must outlive the core; `state` is its loaded content.
  ClientCore(StateStore* store, ClientState state, Options options);

  // ---- connection lifecycle ----
  // A new connection starts: forget per-connection state (authentication, window, pings).
  void OnConnected(uint64_t now_ms);
  // The connection ended with `why` (kept in last_error()). Pending sends stay pending.
  void OnDisconnected(const Status& why);

  // First frames of a handshake. MakeResume requires state().registered().
  wire::Resume MakeResume() const;
  wire::Verify MakeVerify(std::string phone, std::string code, std::string device_name) const;
  wire::Link MakeLink(std::string link_code, std::string device_name) const;

  // ---- events ----
  // One message from the server, in arrival order. Returns non-ok when the session must end:
  // the code of an Error message, or kUnavailable when the state could not be persisted
  // (then no InboxAck was queued for the items that could not be stored).
  Status OnMessage(const wire::Message& m, uint64_t now_ms);

  // Stores a new message durably and, when authenticated, queues its Send. Returns its
  // client_seq. Errors: kUnavailable (state not persisted; nothing was queued),
  // kInvalidArgument (not registered).
  Result<uint64_t> Send(uint64_t to_user, std::string text);
  // The same for a message to group `group_id` (delivered to every member's devices).
  Result<uint64_t> SendToGroup(uint64_t group_id, std::string text);
  // A media message (PROTOCOL.md §5): asset references with an optional caption, to a user
  // (to_user) or a group (group_id).
  Result<uint64_t> SendMedia(uint64_t to_user, uint64_t group_id, std::vector<wire::AssetRef> assets,
                             std::string caption);

  // Queues a request (ResolvePhone, CreateLinkCode, ListDevices, UnlinkDevice, CreateGroup,
  // GroupChange, GetGroup) after giving it
  // a fresh req_id, which it returns. Precondition: authenticated().
  uint32_t Request(wire::Message request);
  // The answer to `req_id` once it arrived (moved out), else nullopt.
  std::optional<wire::Message> TakeReply(uint32_t req_id);

  // Queues Ping{nonce} and returns the nonce; pong_received(nonce) tells when it came back.
  uint64_t SendPing();
  bool pong_received(uint64_t nonce) const { return last_pong_ >= nonce && nonce != 0; }

  // Queues the cumulative InboxAck held back while auto_ack is off (no-op if none).
  void AckInbox();

  // Heartbeat: queues a Ping when nothing was sent for heartbeat_ms. NextDeadline() is when
  // Tick must run next (UINT64_MAX when there is no heartbeat).
  void Tick(uint64_t now_ms);
  uint64_t NextDeadline() const;

  // Moves out every message queued for the server. `now_ms` is when they are written.
  // Queued InboxAcks are merged into one, carried by the first queued Send if there is one
  // (with auto_ack off, the held ack rides along the same way).
  std::vector<wire::Message> TakeOutgoing(uint64_t now_ms);

  // Persists the state if acks changed it since the last save (acks are replayed by the
  // server after a crash, so they need not be durable one by one).
  Status PersistIfDirty();

  // ---- queries ----
  const ClientState& state() const { return state_; }
  bool authenticated() const { return authenticated_; }
  const std::optional<wire::Welcome>& welcome() const { return welcome_; }
  const std::optional<wire::CodeSent>& code_sent() const { return code_sent_; }
  const Status& last_error() const { return last_error_; }
  const Counters& counters() const { return counters_; }
  // Every chat item (not receipts) handed to the app since construction, in inbox order.
  const std::vector<wire::InboxItem>& inbox() const { return inbox_; }
  // Every receipt item received since construction, in inbox order.
  const std::vector<wire::InboxItem>& receipts() const { return receipts_; }
  struct Marks {
    uint64_t delivered = 0;  // chat seq up to which `reader`'s devices received the chat
    uint64_t read = 0;       // chat seq up to which `reader` read it
  };
  // What the receipts received so far say about `reader` in the 1:1 chat with `peer_user`
  // (group_id 0) or in group `group_id`. My own read marks from my other devices appear with
  // reader = my user id.
  Marks MarkOf(uint64_t peer_user, uint64_t group_id, uint64_t reader) const;
  // Latest presence of each watched user (from Presence messages).
  const std::map<uint64_t, wire::PresenceInfo>& presence() const { return presence_; }

  // ---- presence (per connection on the server; re-sent after every Welcome) ----
  // Replaces the users whose presence this device watches (server-side limited to users who
  // share a chat or a contact with me; the first Presence answer lists the allowed ones).
  void Watch(std::vector<uint64_t> users);
  // Whether this device is in the foreground (counts toward "online"); true on connect.
  void SetActive(bool active);
  void set_item_callback(ItemCallback cb) { on_item_ = std::move(cb); }
  // Records into `history` from now on (not owned; must outlive the core; null = none).
  void set_history(History* history) { history_ = history; }
  History* history() const { return history_; }
  // Latest SendAck for `client_seq` (a refusal may later be replaced by an ok on retry).
  const wire::SendAck* ack_for(uint64_t client_seq) const;
  const std::map<uint64_t, wire::SendAck>& acks() const { return acks_; }
  Options& options() { return options_; }

 private:
  Status OnWelcome(const wire::Welcome& w);
  Status OnSendAck(const wire::SendAck& ack);
  Status OnDeliver(const wire::Deliver& d, uint64_t now_ms);
  void QueueSend(const PendingSend& p);
  Result<uint64_t> Store(PendingSend p);
  void RecomputeLastAcked();

  StateStore* store_;
  ClientState state_;
  Options options_;
  bool authenticated_ = false;
  bool dirty_ = false;
  std::optional<wire::Welcome> welcome_;
  std::optional<wire::CodeSent> code_sent_;
  Status last_error_;
  Counters counters_;
  std::vector<wire::InboxItem> inbox_;
  std::vector<wire::InboxItem> receipts_;
  std::map<std::pair<uint64_t, uint64_t>, std::map<uint64_t, Marks>> marks_;  // (group, peer)
  std::map<uint64_t, wire::PresenceInfo> presence_;
  std::optional<std::vector<uint64_t>> watching_;
  bool active_ = true;
  ItemCallback on_item_;
  History* history_ = nullptr;
  std::map<uint64_t, wire::SendAck> acks_;
  std::map<uint32_t, wire::Message> replies_;
  std::vector<wire::Message> outgoing_;
  uint64_t held_ack_ = 0;  // InboxAck not yet sent (auto_ack off)
  uint64_t lazy_ack_ = 0;  // receipts-only frames acked lazily (Options::receipt_ack_delay_ms)
  uint64_t lazy_since_ms_ = 0;
  uint32_t next_req_id_ = 1;
  uint64_t next_nonce_ = 1;
  uint64_t last_pong_ = 0;
  uint64_t last_out_ms_ = 0;
};

}  // namespace tern::tools
