// Internal to store/: the Mailbox's key layouts, record encodings and shared helpers, used by
// mailbox.cc, mailbox_expiry.cc and mailbox_dedupe.cc. Not a public contract.
//
// Keys (big-endian, so one device's items are one contiguous range in seq order):
//   kMsgs      BE64 msg_id                              -> MessageRecord
//   kQueue     BE64 user | BE32 device | BE64 seq       -> QueueItem
//   kQueueMeta BE64 user | BE32 device                  -> QueueMeta
//   kRefs      BE64 msg_id | BE64 user | BE32 device    -> BE64 seq
//   kDedupe    BE64 user | BE32 device | BE64 client_seq -> SendResult
//   kExpiry    BE64 expire_at_ms | BE64 msg_id          -> ""
//   kChats     ChatKey::Encode()                        -> BE64 next chat seq
//   kMeta      "msg_counter/" BE16 node                 -> BE64 next counter
// Records: version 1, fields as varints/strings in declaration order (store/codec.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "store/kv.h"
#include "store/mailbox.h"

namespace tern::store::mailbox_internal {

constexpr size_t kDeviceKeyBytes = 12;  // BE64 user | BE32 device
constexpr size_t kQueueKeyBytes = 20;
constexpr size_t kRefKeyBytes = 20;
constexpr size_t kDedupeKeyBytes = 20;
constexpr size_t kExpiryKeyBytes = 16;

std::string DevicePrefix(DeviceKey d);
std::string QueueKey(DeviceKey d, uint64_t seq);
std::string RefKey(uint64_t msg_id, DeviceKey d);
std::string DedupeKey(DeviceKey d, uint64_t client_seq);
std::string ExpiryKey(uint64_t expire_at_ms, uint64_t msg_id);
std::string MsgKey(uint64_t msg_id);
// The trailing BE64 of a 20-byte queue / dedupe key; the caller checks the size.
uint64_t TrailingSeq(std::string_view key);

// What a queue slot stores: a pointer to a body (kMessage), or a notice carrying a copy of
// the metadata (kExpired / kMissed), which holds no ref on the body.
struct QueueItem {
  QueueItemKind kind = QueueItemKind::kMessage;
  uint64_t msg_id = 0;
  uint64_t sender_user = 0;    // notices only
  uint32_t sender_device = 0;  // notices only
  uint64_t to_user = 0;        // notices only
  uint64_t chat_seq = 0;       // notices only
  uint64_t server_ts_ms = 0;   // notices only
  uint64_t group_id = 0;       // kReceipt only
  uint8_t receipt = 0;         // kReceipt only: wire::ReceiptType
};

std::string EncodeItem(const QueueItem& item);
Status DecodeItem(std::string_view in, QueueItem* item);
std::string EncodeMeta(const QueueMeta& m);
Status DecodeMeta(std::string_view in, QueueMeta* m);
std::string EncodeMessage(const MessageRecord& m);
Status DecodeMessage(std::string_view in, MessageRecord* m);
std::string EncodeSendResult(const SendResult& r);
Status DecodeSendResult(std::string_view in, SendResult* r);

Result<std::optional<QueueMeta>> LoadMeta(KvTxn& txn, DeviceKey d);
Status StoreMeta(KvTxn& txn, DeviceKey d, const QueueMeta& m);
Result<std::optional<MessageRecord>> LoadMessage(KvTxn& txn, uint64_t msg_id);

// Drops device `d`'s hold on `msg_id`: deletes the ref and decrements the body's refs; the
// last release deletes the body and its expiry entry. Errors: kCorrupt if the body is missing
// or already has no refs; engine errors.
Status ReleaseRef(KvTxn& txn, uint64_t msg_id, DeviceKey d);

}  // namespace tern::store::mailbox_internal
