#include "store/mailbox_records.h"

#include "store/codec.h"

namespace tern::store::mailbox_internal {
namespace {

using codec::RecordReader;
using codec::RecordWriter;

constexpr uint8_t kVersion = 1;

}  // namespace

std::string DevicePrefix(DeviceKey d) {
  std::string k;
  k.reserve(kQueueKeyBytes);
  codec::AppendBE64(k, d.user_id);
  codec::AppendBE32(k, d.device_id);
  return k;
}

std::string QueueKey(DeviceKey d, uint64_t seq) {
  std::string k = DevicePrefix(d);
  codec::AppendBE64(k, seq);
  return k;
}

std::string RefKey(uint64_t msg_id, DeviceKey d) {
  std::string k = codec::BE64(msg_id);
  codec::AppendBE64(k, d.user_id);
  codec::AppendBE32(k, d.device_id);
  return k;
}

std::string DedupeKey(DeviceKey d, uint64_t client_seq) { return QueueKey(d, client_seq); }

std::string ExpiryKey(uint64_t expire_at_ms, uint64_t msg_id) {
  std::string k = codec::BE64(expire_at_ms);
  codec::AppendBE64(k, msg_id);
  return k;
}

std::string MsgKey(uint64_t msg_id) { return codec::BE64(msg_id); }

uint64_t TrailingSeq(std::string_view key) { return codec::LoadBE64(key.data() + key.size() - 8); }

std::string EncodeItem(const QueueItem& item) {
  RecordWriter w(kVersion);
  w.U64(static_cast<uint8_t>(item.kind)).U64(item.msg_id);
  if (!HoldsBody(item.kind)) {
    w.U64(item.sender_user).U64(item.sender_device).U64(item.to_user).U64(item.chat_seq)
        .U64(item.server_ts_ms);
  }
  if (item.kind == QueueItemKind::kReceipt) w.U64(item.group_id).U64(item.receipt);
  return w.Finish();
}

Status DecodeItem(std::string_view in, QueueItem* item) {
  RecordReader r(in, "queue item");
  r.Version(kVersion);
  const uint8_t kind = r.U8();
  if (r.ok() && kind > static_cast<uint8_t>(QueueItemKind::kReceipt)) {
    return Status(Code::kCorrupt, "queue item: unknown kind " + std::to_string(kind));
  }
  *item = QueueItem{};
  item->kind = static_cast<QueueItemKind>(kind);
  item->msg_id = r.U64();
  if (!HoldsBody(item->kind)) {
    item->sender_user = r.U64();
    item->sender_device = r.U32();
    item->to_user = r.U64();
    item->chat_seq = r.U64();
    item->server_ts_ms = r.U64();
  }
  if (item->kind == QueueItemKind::kReceipt) {
    item->group_id = r.U64();
    item->receipt = r.U8();
  }
  return r.Finish();
}

std::string EncodeMeta(const QueueMeta& m) {
  return RecordWriter(kVersion).U64(m.epoch).U64(m.next_seq).U64(m.count).Finish();
}

Status DecodeMeta(std::string_view in, QueueMeta* m) {
  RecordReader r(in, "queue meta");
  r.Version(kVersion);
  m->epoch = r.U32();
  m->next_seq = r.U64();
  m->count = r.U64();
  return r.Finish();
}

// Group events append (event, event_user) after refs, and media messages then their asset
// references; plain messages keep the original layout, so records written before groups or
// media existed decode unchanged.
std::string EncodeMessage(const MessageRecord& m) {
  RecordWriter w(kVersion);
  w.U64(m.msg_id).U64(m.chat.kind).U64(m.chat.a).U64(m.chat.b).U64(m.chat_seq)
      .U64(m.sender_user).U64(m.sender_device).U64(m.to_user).U64(m.server_ts_ms)
      .U64(m.expire_at_ms).Str(m.text).U64(m.refs);
  if (m.event != 0 || !m.assets.empty()) w.U64(m.event).U64(m.event_user);
  if (!m.assets.empty()) w.Str(m.assets);  // media: appended, so older records decode unchanged
  return w.Finish();
}

Status DecodeMessage(std::string_view in, MessageRecord* m) {
  RecordReader r(in, "message");
  r.Version(kVersion);
  m->msg_id = r.U64();
  m->chat.kind = r.U8();
  m->chat.a = r.U64();
  m->chat.b = r.U64();
  m->chat_seq = r.U64();
  m->sender_user = r.U64();
  m->sender_device = r.U32();
  m->to_user = r.U64();
  m->server_ts_ms = r.U64();
  m->expire_at_ms = r.U64();
  m->text = r.Str();
  m->refs = r.U32();
  m->event = 0;
  m->event_user = 0;
  m->assets.clear();
  if (r.ok() && !r.at_end()) {
    m->event = r.U8();
    m->event_user = r.U64();
  }
  if (r.ok() && !r.at_end()) m->assets = r.Str();
  return r.Finish();
}

std::string EncodeSendResult(const SendResult& s) {
  return RecordWriter(kVersion).U64(s.status).U64(s.msg_id).U64(s.chat_seq).U64(s.server_ts_ms)
      .Finish();
}

Status DecodeSendResult(std::string_view in, SendResult* s) {
  RecordReader r(in, "send result");
  r.Version(kVersion);
  s->status = r.U16();
  s->msg_id = r.U64();
  s->chat_seq = r.U64();
  s->server_ts_ms = r.U64();
  return r.Finish();
}

Result<std::optional<QueueMeta>> LoadMeta(KvTxn& txn, DeviceKey d) {
  auto raw = txn.Get(Table::kQueueMeta, DevicePrefix(d));
  if (!raw.ok()) return raw.status();
  if (!raw.value()) return std::optional<QueueMeta>();
  QueueMeta m;
  TERN_RETURN_IF_ERROR(DecodeMeta(*raw.value(), &m));
  return std::optional<QueueMeta>(m);
}

Status StoreMeta(KvTxn& txn, DeviceKey d, const QueueMeta& m) {
  return txn.Put(Table::kQueueMeta, DevicePrefix(d), EncodeMeta(m));
}

Result<std::optional<MessageRecord>> LoadMessage(KvTxn& txn, uint64_t msg_id) {
  auto raw = txn.Get(Table::kMsgs, MsgKey(msg_id));
  if (!raw.ok()) return raw.status();
  if (!raw.value()) return std::optional<MessageRecord>();
  MessageRecord m;
  TERN_RETURN_IF_ERROR(DecodeMessage(*raw.value(), &m));
  if (m.msg_id != msg_id) return Status(Code::kCorrupt, "message record under the wrong key");
  return std::optional<MessageRecord>(std::move(m));
}

Status ReleaseRef(KvTxn& txn, uint64_t msg_id, DeviceKey d) {
  TERN_RETURN_IF_ERROR(txn.Del(Table::kRefs, RefKey(msg_id, d)));
  auto body = LoadMessage(txn, msg_id);
  if (!body.ok()) return body.status();
  if (!body.value() || body.value()->refs == 0) {
    return Status(Code::kCorrupt, "queue item points at message " + std::to_string(msg_id) +
                                      " which has no body or no refs");
  }
  MessageRecord& m = *body.value();
  if (--m.refs > 0) return txn.Put(Table::kMsgs, MsgKey(msg_id), EncodeMessage(m));
  TERN_RETURN_IF_ERROR(txn.Del(Table::kMsgs, MsgKey(msg_id)));
  if (m.expire_at_ms != 0) TERN_RETURN_IF_ERROR(txn.Del(Table::kExpiry, ExpiryKey(m.expire_at_ms, msg_id)));
  return Status::Ok();
}

}  // namespace tern::store::mailbox_internal
