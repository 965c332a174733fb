// Receipts: per chat and user, how far the user's devices received ("delivered") and how far the
// user read ("read") the chat, as chat seqs; who sent in a chat lately; and the index that lets a
// newer receipt replace a still-queued older one (coalescing), over a KvTxn.
//
// Marks are cumulative and only move forward: "delivered up to N" means the user's devices have
// the chat's messages up to chat seq N (delivered by the first device of the user that acks),
// "read up to N" comes from a ReadMark and implies delivered up to N. The server turns a mark
// that moved into kReceipt queue items for the devices that need them (server/handle_receipts.cc).
//
// Layout:
//   kReceipts    ChatKey::Encode() | BE64 user                  -> varints delivered, read
//   kChatSenders ChatKey::Encode() | BE64 user                  -> BE64 last chat seq they sent
//   kRcptQueued  BE64 user | BE32 device | chat | BE64 reader | u8 type -> BE64 queue seq
//
// A kRcptQueued entry stays after its item is acked (the next Enqueue for the same key finds
// the item gone and just replaces the entry), so acks cost nothing here; a queue's seqs never
// repeat while it lives and DropQueue goes with ForgetDevice, so a stale entry never names
// another item. Its size is bounded by devices x chats x readers x 2 types, the order of
// kReceipts times the devices per user; it is dropped with the device (ForgetDevice).
//
// Thread safety: as the KvTxn it wraps.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "store/kv.h"
#include "store/mailbox.h"

namespace tern::store {

struct ReceiptMarks {
  uint64_t delivered = 0;
  uint64_t read = 0;
  bool operator==(const ReceiptMarks&) const = default;
};

class Receipts {
 public:
  explicit Receipts(KvTxn& txn) : txn_(txn) {}

  // Marks of `user` in `chat` (zeros when none yet). Errors: kCorrupt, engine errors.
  Result<ReceiptMarks> Get(const ChatKey& chat, uint64_t user);
  Status Put(const ChatKey& chat, uint64_t user, const ReceiptMarks& marks);
  // Every user with marks in `chat`, ascending user id.
  Result<std::vector<std::pair<uint64_t, ReceiptMarks>>> List(const ChatKey& chat);

  // Records that `user` sent chat seq `chat_seq` in `chat` (keeps the highest).
  Status NoteSender(const ChatKey& chat, uint64_t user, uint64_t chat_seq);
  // Users whose last message in `chat` has a chat seq above `after` (the senders a mark moving
  // past `after` may concern), ascending user id.
  Result<std::vector<uint64_t>> SendersAfter(const ChatKey& chat, uint64_t after);

  // Queues a kReceipt item for device `d` (its queue must exist) saying `about.sender_user`
  // reached `about.chat_seq` of type `about.event`; a receipt of the same (chat, reader, type)
  // still in that queue is removed first, so an offline device gets only the newest one.
  // Returns the new item's seq.
  Result<uint64_t> Enqueue(DeviceKey d, const MessageRecord& about);
  // Forgets the coalescing index of a device (its queue was dropped).
  Status ForgetDevice(DeviceKey d);

 private:
  KvTxn& txn_;
};

}  // namespace tern::store
