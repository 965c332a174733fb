// Mailbox: messages, per-device inbox queues, chat sequence counters, send dedupe and expiry,
// over a KvTxn.
//
// Storage model (DESIGN §1 "delete on delivery"): a message body is stored once (kMsgs) with a
// reference count; each target device's queue holds a small item pointing at it (kQueue), and
// kRefs records (msg_id, device) -> seq so expiry can find every holder. Acking an item deletes
// it and its ref; the body (and its kExpiry entry) goes with the last ref.
// Queue positions: each device queue has an epoch (random, nonzero, set when the queue is first
// created or reset) and a 64-bit seq that starts at 1 and never repeats within an epoch.
//
// Thread safety: as the KvTxn it wraps.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "store/kv.h"

namespace tern::store {

struct DeviceKey {
  uint64_t user_id = 0;
  uint32_t device_id = 0;
  bool operator==(const DeviceKey&) const = default;
  auto operator<=>(const DeviceKey&) const = default;
};

// Chat identity. 1:1 chats are derived from the two user ids (smaller first), so both sides
// agree without a lookup; groups (kind 1) use a random 64-bit group id, so ids minted on
// different nodes do not collide in practice and need no central counter.
struct ChatKey {
  uint8_t kind = 0;  // 0 = direct, 1 = group (a = group id, b = 0)
  uint64_t a = 0, b = 0;
  static ChatKey Direct(uint64_t u1, uint64_t u2);
  static ChatKey Group(uint64_t group_id) { return ChatKey{1, group_id, 0}; }
  uint64_t group_id() const { return kind == 1 ? a : 0; }
  std::string Encode() const;
};

struct MessageRecord {
  uint64_t msg_id = 0;
  ChatKey chat;
  uint64_t chat_seq = 0;
  uint64_t sender_user = 0;
  uint32_t sender_device = 0;
  uint64_t to_user = 0;
  uint64_t server_ts_ms = 0;
  uint64_t expire_at_ms = 0;
  std::string text;
  uint32_t refs = 0;  // maintained by Mailbox
  // Group membership events (stored like a message: once, refcounted, in the chat's order).
  uint8_t event = 0;        // wire::GroupOp; 0 = an ordinary message
  uint64_t event_user = 0;  // the member the event is about
  // Media references carried by the message, opaque to the store (encoded by the server:
  // server/asset_refs.h). Empty for messages without media.
  std::string assets;
};

// kMessage and kGroupEvent items point at a body in kMsgs (one ref each); notices carry a copy
// of the metadata and hold no ref. kReceipt notices say "sender_user delivered/read the chat up
// to chat_seq" (store/receipts.h); they may be removed before delivery when a newer receipt
// supersedes them, so a queue's seqs can have gaps.
enum class QueueItemKind : uint8_t {
  kMessage = 0,
  kExpired = 1,
  kMissed = 2,
  kGroupEvent = 3,
  kReceipt = 4,
};
inline bool HoldsBody(QueueItemKind k) {
  return k == QueueItemKind::kMessage || k == QueueItemKind::kGroupEvent;
}

// What a device receives: the queue item joined with its message body.
struct InboxEntry {
  uint64_t seq = 0;
  QueueItemKind kind = QueueItemKind::kMessage;
  uint64_t msg_id = 0;
  uint64_t sender_user = 0;
  uint32_t sender_device = 0;
  uint64_t to_user = 0;
  uint64_t chat_seq = 0;
  uint64_t server_ts_ms = 0;
  std::string text;  // empty for kExpired / kMissed
  uint64_t group_id = 0;    // nonzero for items of a group chat (bodies only)
  uint8_t event = 0;        // kGroupEvent: wire::GroupOp
  uint64_t event_user = 0;  // kGroupEvent: the member concerned
  uint8_t receipt = 0;      // kReceipt: wire::ReceiptType
  std::string assets;       // the body's media references (MessageRecord::assets)
};

// What an acknowledged message item was (AckUpTo's report, for delivered receipts).
struct AckedMessage {
  ChatKey chat;
  uint64_t chat_seq = 0;
  uint64_t sender_user = 0;
};

struct QueueMeta {
  uint32_t epoch = 0;
  uint64_t next_seq = 1;  // seq the next appended item gets
  uint64_t count = 0;     // items currently queued
};

struct SendResult {  // what the server answered to (device, client_seq): replayed on retransmit
  uint16_t status = 0;  // tern::Code
  uint64_t msg_id = 0;
  uint64_t chat_seq = 0;
  uint64_t server_ts_ms = 0;
};

struct MailboxStats {
  uint64_t messages = 0;     // bodies in kMsgs
  uint64_t queue_items = 0;  // items across all device queues
  uint64_t refs = 0;
  uint64_t expiry_entries = 0;
};

// One device queue as tern-admin shows it.
struct QueueSummary {
  DeviceKey device;
  uint64_t depth = 0;         // items queued (QueueMeta.count)
  uint64_t oldest_ts_ms = 0;  // server time of the oldest queued item (its message's, for bodies)
};

class Mailbox {
 public:
  explicit Mailbox(KvTxn& txn) : txn_(txn) {}

  // Queue meta of a device; creates it (with `new_epoch`, nonzero) if absent.
  Result<QueueMeta> EnsureQueue(DeviceKey d, uint32_t new_epoch);
  Result<std::optional<QueueMeta>> GetQueue(DeviceKey d);

  // A new message id: node_id in the top 16 bits, a persisted per-node counter below, so ids
  // stay unique when users are later partitioned across nodes.
  Result<uint64_t> NextMessageId(uint16_t node_id);

  // Next chat seq for `chat` (starts at 1), persisted.
  Result<uint64_t> NextChatSeq(const ChatKey& chat);
  // The last chat seq assigned in `chat` (0 = none yet); does not bump.
  Result<uint64_t> LastChatSeq(const ChatKey& chat);

  // Stores `msg` once (refs = targets.size()) and appends a `kind` item (kMessage or
  // kGroupEvent) to each target's queue (queues must exist: EnsureQueue). Adds the kExpiry
  // entry. Returns the seq assigned in each target queue, in `targets` order. Errors:
  // kInvalidArgument (no targets, missing queue, a notice kind), engine errors.
  Result<std::vector<uint64_t>> Append(const MessageRecord& msg, std::span<const DeviceKey> targets,
                                       QueueItemKind kind = QueueItemKind::kMessage);

  // Appends a notice item (kExpired / kMissed / kReceipt) that carries the message's metadata
  // but no text. kReceipt: about.sender_user = the reader, about.chat (its group id travels),
  // about.chat_seq = the mark, about.event = the wire::ReceiptType.
  Result<uint64_t> AppendNotice(DeviceKey d, QueueItemKind kind, const MessageRecord& about);
  // Removes the kReceipt item at `seq` if it is still queued. Returns whether it was.
  Result<bool> RemoveReceipt(DeviceKey d, uint64_t seq);

  // Up to `max_items` entries with seq > after_seq, ascending, stopping before the total text
  // would exceed `max_bytes` (at least one entry is returned if any exists).
  Result<std::vector<InboxEntry>> Read(DeviceKey d, uint64_t after_seq, size_t max_items,
                                       size_t max_bytes);

  // Deletes every item with seq <= up_to (and drops refs/bodies). Returns how many were removed.
  // With `acked`, also reports each removed kMessage item (its chat, chat seq and sender).
  Result<uint64_t> AckUpTo(DeviceKey d, uint64_t up_to, std::vector<AckedMessage>* acked = nullptr);

  // Deletes the whole queue of a device (unlink / re-register), dropping refs, and its meta.
  Status DropQueue(DeviceKey d);

  // Send dedupe.
  Result<std::optional<SendResult>> GetSendResult(DeviceKey d, uint64_t client_seq);
  Status PutSendResult(DeviceKey d, uint64_t client_seq, const SendResult& r);
  // Forgets results with client_seq <= up_to (the client holds their acks).
  Status PruneSendResults(DeviceKey d, uint64_t up_to);
  // Results in (after, ...] ascending (to replay acks on resume), at most max_items.
  Result<std::vector<std::pair<uint64_t, SendResult>>> SendResultsAfter(DeviceKey d, uint64_t after,
                                                                        size_t max_items);

  // Expiry: removes up to `budget` messages with expire_at_ms <= now. For each one, every
  // device still holding it gets a kMissed notice in place of the item, and every device in
  // `sender_devices(sender_user)` gets a kExpired notice. Returns the devices whose queues
  // changed (so the caller can push to them) and how many messages expired.
  struct ExpiryOutcome {
    uint64_t expired = 0;
    std::vector<DeviceKey> touched;
  };
  Result<ExpiryOutcome> Expire(uint64_t now_ms, size_t budget,
                               const std::function<std::vector<DeviceKey>(uint64_t user_id)>& sender_devices);

  Result<MailboxStats> Stats();
  // Every device queue holding at least one item, in device order (store/mailbox_inspect.cc).
  // One scan of kQueueMeta plus one lookup per non-empty queue. Errors: kCorrupt, engine errors.
  Result<std::vector<QueueSummary>> QueueSummaries();

 private:
  KvTxn& txn_;
};

}  // namespace tern::store
