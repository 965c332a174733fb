// Mailbox: queues, bodies and refs (layouts in store/mailbox_records.h). Expiry lives in
// mailbox_expiry.cc, send dedupe in mailbox_dedupe.cc.
#include "store/mailbox.h"

#include <algorithm>
#include <limits>

#include "store/codec.h"
#include "store/mailbox_records.h"

namespace tern::store {

using namespace mailbox_internal;  // NOLINT(google-build-using-namespace): store-internal

namespace {

constexpr uint64_t kCounterLimit = 1ull << 48;  // below the node id bits

Status NoQueue(DeviceKey d) {
  return Status(Code::kInvalidArgument, "no queue for device " + std::to_string(d.user_id) +
                                            "/" + std::to_string(d.device_id));
}

// Reads and bumps a BE64 counter in `t` at `key` (absent = 1). Returns the value before.
Result<uint64_t> BumpCounter(KvTxn& txn, Table t, const std::string& key, const char* what) {
  auto raw = txn.Get(t, key);
  if (!raw.ok()) return raw.status();
  uint64_t next = 1;
  if (raw.value()) {
    auto v = codec::ParseBE64(*raw.value(), what);
    if (!v.ok()) return v.status();
    next = v.value();
  }
  TERN_RETURN_IF_ERROR(txn.Put(t, key, codec::BE64(next + 1)));
  return next;
}

}  // namespace

ChatKey ChatKey::Direct(uint64_t u1, uint64_t u2) {
  return ChatKey{0, std::min(u1, u2), std::max(u1, u2)};
}

std::string ChatKey::Encode() const {
  std::string k(1, static_cast<char>(kind));
  codec::AppendBE64(k, a);
  codec::AppendBE64(k, b);
  return k;
}

Result<QueueMeta> Mailbox::EnsureQueue(DeviceKey d, uint32_t new_epoch) {
  auto meta = LoadMeta(txn_, d);
  if (!meta.ok()) return meta.status();
  if (meta.value()) return *meta.value();
  if (new_epoch == 0) return Status(Code::kInvalidArgument, "queue epoch must be nonzero");
  QueueMeta m;
  m.epoch = new_epoch;
  TERN_RETURN_IF_ERROR(StoreMeta(txn_, d, m));
  return m;
}

Result<std::optional<QueueMeta>> Mailbox::GetQueue(DeviceKey d) { return LoadMeta(txn_, d); }

Result<uint64_t> Mailbox::NextMessageId(uint16_t node_id) {
  std::string key = "msg_counter/";
  codec::AppendBE16(key, node_id);
  auto n = BumpCounter(txn_, Table::kMeta, key, "message counter");
  if (!n.ok()) return n.status();
  if (n.value() >= kCounterLimit) return Status(Code::kInternal, "message id space exhausted");
  return (static_cast<uint64_t>(node_id) << 48) | n.value();
}

Result<uint64_t> Mailbox::NextChatSeq(const ChatKey& chat) {
  return BumpCounter(txn_, Table::kChats, chat.Encode(), "chat seq");
}

Result<uint64_t> Mailbox::LastChatSeq(const ChatKey& chat) {
  auto raw = txn_.Get(Table::kChats, chat.Encode());
  if (!raw.ok()) return raw.status();
  if (!raw.value()) return uint64_t{0};
  auto v = codec::ParseBE64(*raw.value(), "chat seq");
  if (!v.ok()) return v.status();
  return v.value() - 1;
}

Result<std::vector<uint64_t>> Mailbox::Append(const MessageRecord& msg,
                                              std::span<const DeviceKey> targets,
                                              QueueItemKind kind) {
  if (targets.empty()) return Status(Code::kInvalidArgument, "message without targets");
  if (!HoldsBody(kind)) return Status(Code::kInvalidArgument, "Append of a notice kind");
  std::vector<DeviceKey> sorted(targets.begin(), targets.end());
  std::sort(sorted.begin(), sorted.end());
  // One ref per (message, device): a device listed twice would break the refcount.
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
    return Status(Code::kInvalidArgument, "duplicate target device");
  }
  auto existing = txn_.Get(Table::kMsgs, MsgKey(msg.msg_id));
  if (!existing.ok()) return existing.status();
  if (existing.value()) return Status(Code::kInvalidArgument, "message id already stored");

  // Validate every queue before writing anything.
  std::vector<QueueMeta> metas;
  metas.reserve(targets.size());
  for (const DeviceKey& d : targets) {
    auto meta = LoadMeta(txn_, d);
    if (!meta.ok()) return meta.status();
    if (!meta.value()) return NoQueue(d);
    metas.push_back(*meta.value());
  }

  MessageRecord body = msg;
  body.refs = static_cast<uint32_t>(targets.size());
  TERN_RETURN_IF_ERROR(txn_.Put(Table::kMsgs, MsgKey(msg.msg_id), EncodeMessage(body)));
  const std::string item = EncodeItem(QueueItem{kind, msg.msg_id});
  std::vector<uint64_t> seqs;
  seqs.reserve(targets.size());
  for (size_t i = 0; i < targets.size(); ++i) {
    QueueMeta& m = metas[i];
    const uint64_t seq = m.next_seq++;
    ++m.count;
    TERN_RETURN_IF_ERROR(txn_.Put(Table::kQueue, QueueKey(targets[i], seq), item));
    TERN_RETURN_IF_ERROR(txn_.Put(Table::kRefs, RefKey(msg.msg_id, targets[i]), codec::BE64(seq)));
    TERN_RETURN_IF_ERROR(StoreMeta(txn_, targets[i], m));
    seqs.push_back(seq);
  }
  if (msg.expire_at_ms != 0) {
    TERN_RETURN_IF_ERROR(txn_.Put(Table::kExpiry, ExpiryKey(msg.expire_at_ms, msg.msg_id), ""));
  }
  return seqs;
}

Result<uint64_t> Mailbox::AppendNotice(DeviceKey d, QueueItemKind kind, const MessageRecord& about) {
  if (HoldsBody(kind)) {
    return Status(Code::kInvalidArgument, "a notice cannot be a message item");
  }
  auto meta = LoadMeta(txn_, d);
  if (!meta.ok()) return meta.status();
  if (!meta.value()) return NoQueue(d);
  QueueMeta m = *meta.value();
  QueueItem item{kind,          about.msg_id,  about.sender_user, about.sender_device,
                 about.to_user, about.chat_seq, about.server_ts_ms};
  if (kind == QueueItemKind::kReceipt) {
    item.group_id = about.chat.group_id();
    item.receipt = about.event;
  }
  const uint64_t seq = m.next_seq++;
  ++m.count;
  TERN_RETURN_IF_ERROR(txn_.Put(Table::kQueue, QueueKey(d, seq), EncodeItem(item)));
  TERN_RETURN_IF_ERROR(StoreMeta(txn_, d, m));
  return seq;
}

Result<std::vector<InboxEntry>> Mailbox::Read(DeviceKey d, uint64_t after_seq, size_t max_items,
                                              size_t max_bytes) {
  std::vector<InboxEntry> out;
  if (max_items == 0 || after_seq == std::numeric_limits<uint64_t>::max()) return out;
  const std::string prefix = DevicePrefix(d);
  size_t bytes = 0;
  Status error;
  TERN_RETURN_IF_ERROR(txn_.Scan(Table::kQueue, QueueKey(d, after_seq + 1),
                                 [&](std::string_view k, std::string_view v) {
    if (!k.starts_with(prefix)) return false;
    QueueItem item;
    if (!(error = DecodeItem(v, &item)).ok()) return false;
    InboxEntry e{TrailingSeq(k), item.kind,    item.msg_id,   item.sender_user,
                 item.sender_device, item.to_user, item.chat_seq, item.server_ts_ms};
    e.group_id = item.group_id;
    e.receipt = item.receipt;
    if (HoldsBody(item.kind)) {
      auto body = LoadMessage(txn_, item.msg_id);
      if (!body.ok()) {
        error = body.status();
        return false;
      }
      if (!body.value()) {
        error = Status(Code::kCorrupt, "queue item " + std::to_string(e.seq) +
                                           " points at missing message " + std::to_string(e.msg_id));
        return false;
      }
      const MessageRecord& m = *body.value();
      e.sender_user = m.sender_user;
      e.sender_device = m.sender_device;
      e.to_user = m.to_user;
      e.chat_seq = m.chat_seq;
      e.server_ts_ms = m.server_ts_ms;
      e.text = m.text;
      e.group_id = m.chat.group_id();
      e.event = m.event;
      e.event_user = m.event_user;
      e.assets = m.assets;
    }
    if (!out.empty() && bytes + e.text.size() + e.assets.size() > max_bytes) return false;
    bytes += e.text.size() + e.assets.size();
    out.push_back(std::move(e));
    return out.size() < max_items;
  }));
  TERN_RETURN_IF_ERROR(error);
  return out;
}

namespace {

// Removes the items of `d` with seq <= up_to: deletes each, releases message refs and fixes the
// queue count. Shared by AckUpTo and DropQueue.
Result<uint64_t> RemoveItems(KvTxn& txn, DeviceKey d, uint64_t up_to,
                             std::vector<AckedMessage>* acked) {
  const std::string prefix = DevicePrefix(d);
  std::vector<std::pair<uint64_t, QueueItem>> items;
  Status error;
  // Collect first: the scan callback must not modify kQueue.
  TERN_RETURN_IF_ERROR(txn.Scan(Table::kQueue, prefix, [&](std::string_view k, std::string_view v) {
    if (!k.starts_with(prefix) || k.size() != kQueueKeyBytes) return false;
    const uint64_t seq = TrailingSeq(k);
    if (seq > up_to) return false;
    QueueItem item;
    if (!(error = DecodeItem(v, &item)).ok()) return false;
    items.emplace_back(seq, item);
    return true;
  }));
  TERN_RETURN_IF_ERROR(error);
  for (const auto& [seq, item] : items) {
    TERN_RETURN_IF_ERROR(txn.Del(Table::kQueue, QueueKey(d, seq)));
    if (acked != nullptr && item.kind == QueueItemKind::kMessage) {
      auto body = LoadMessage(txn, item.msg_id);
      if (!body.ok()) return body.status();
      if (body.value()) acked->push_back(AckedMessage{body.value()->chat, body.value()->chat_seq,
                                                      body.value()->sender_user});
    }
    if (HoldsBody(item.kind)) TERN_RETURN_IF_ERROR(ReleaseRef(txn, item.msg_id, d));
  }
  if (!items.empty()) {
    auto meta = LoadMeta(txn, d);
    if (!meta.ok()) return meta.status();
    if (meta.value()) {
      QueueMeta m = *meta.value();
      m.count = m.count >= items.size() ? m.count - items.size() : 0;
      TERN_RETURN_IF_ERROR(StoreMeta(txn, d, m));
    }
  }
  return static_cast<uint64_t>(items.size());
}

}  // namespace

Result<uint64_t> Mailbox::AckUpTo(DeviceKey d, uint64_t up_to, std::vector<AckedMessage>* acked) {
  return RemoveItems(txn_, d, up_to, acked);
}

Result<bool> Mailbox::RemoveReceipt(DeviceKey d, uint64_t seq) {
  auto v = txn_.Get(Table::kQueue, QueueKey(d, seq));
  if (!v.ok()) return v.status();
  if (!v.value()) return false;
  QueueItem item;
  TERN_RETURN_IF_ERROR(DecodeItem(*v.value(), &item));
  if (item.kind != QueueItemKind::kReceipt) return false;
  TERN_RETURN_IF_ERROR(txn_.Del(Table::kQueue, QueueKey(d, seq)));
  auto meta = LoadMeta(txn_, d);
  if (!meta.ok()) return meta.status();
  if (meta.value()) {
    QueueMeta m = *meta.value();
    if (m.count > 0) --m.count;
    TERN_RETURN_IF_ERROR(StoreMeta(txn_, d, m));
  }
  return true;
}

Status Mailbox::DropQueue(DeviceKey d) {
  auto removed = RemoveItems(txn_, d, std::numeric_limits<uint64_t>::max(), nullptr);
  if (!removed.ok()) return removed.status();
  return txn_.Del(Table::kQueueMeta, DevicePrefix(d));
}

Result<MailboxStats> Mailbox::Stats() {
  MailboxStats s;
  const auto count = [&](Table t, uint64_t* n) {
    return txn_.Scan(t, "", [n](std::string_view, std::string_view) {
      ++*n;
      return true;
    });
  };
  TERN_RETURN_IF_ERROR(count(Table::kMsgs, &s.messages));
  TERN_RETURN_IF_ERROR(count(Table::kQueue, &s.queue_items));
  TERN_RETURN_IF_ERROR(count(Table::kRefs, &s.refs));
  TERN_RETURN_IF_ERROR(count(Table::kExpiry, &s.expiry_entries));
  return s;
}

}  // namespace tern::store
