#include "store/receipts.h"

#include <string>

#include "store/codec.h"

namespace tern::store {
namespace {

constexpr uint8_t kVersion = 1;

std::string MarkKey(const ChatKey& chat, uint64_t user) {
  std::string k = chat.Encode();
  codec::AppendBE64(k, user);
  return k;
}

std::string DevicePart(DeviceKey d) {
  std::string k;
  codec::AppendBE64(k, d.user_id);
  codec::AppendBE32(k, d.device_id);
  return k;
}

std::string QueuedKey(DeviceKey d, const MessageRecord& about) {
  std::string k = DevicePart(d) + about.chat.Encode();
  codec::AppendBE64(k, about.sender_user);
  k.push_back(static_cast<char>(about.event));
  return k;
}

Status DecodeMarks(std::string_view v, ReceiptMarks* m) {
  codec::RecordReader r(v, "receipt marks");
  r.Version(kVersion);
  m->delivered = r.U64();
  m->read = r.U64();
  return r.Finish();
}

}  // namespace

Result<ReceiptMarks> Receipts::Get(const ChatKey& chat, uint64_t user) {
  auto v = txn_.Get(Table::kReceipts, MarkKey(chat, user));
  if (!v.ok()) return v.status();
  ReceiptMarks m;
  if (v.value()) TERN_RETURN_IF_ERROR(DecodeMarks(*v.value(), &m));
  return m;
}

Status Receipts::Put(const ChatKey& chat, uint64_t user, const ReceiptMarks& marks) {
  return txn_.Put(Table::kReceipts, MarkKey(chat, user),
                  codec::RecordWriter(kVersion).U64(marks.delivered).U64(marks.read).Finish());
}

Result<std::vector<std::pair<uint64_t, ReceiptMarks>>> Receipts::List(const ChatKey& chat) {
  const std::string prefix = chat.Encode();
  std::vector<std::pair<uint64_t, ReceiptMarks>> out;
  Status error;
  TERN_RETURN_IF_ERROR(txn_.Scan(Table::kReceipts, prefix, [&](std::string_view k, std::string_view v) {
    if (!k.starts_with(prefix) || k.size() != prefix.size() + 8) return false;
    ReceiptMarks m;
    if (!(error = DecodeMarks(v, &m)).ok()) return false;
    out.emplace_back(codec::LoadBE64(k.data() + prefix.size()), m);
    return true;
  }));
  TERN_RETURN_IF_ERROR(error);
  return out;
}

Status Receipts::NoteSender(const ChatKey& chat, uint64_t user, uint64_t chat_seq) {
  return txn_.Put(Table::kChatSenders, MarkKey(chat, user), codec::BE64(chat_seq));
}

Result<std::vector<uint64_t>> Receipts::SendersAfter(const ChatKey& chat, uint64_t after) {
  const std::string prefix = chat.Encode();
  std::vector<uint64_t> out;
  Status error;
  TERN_RETURN_IF_ERROR(txn_.Scan(Table::kChatSenders, prefix, [&](std::string_view k, std::string_view v) {
    if (!k.starts_with(prefix) || k.size() != prefix.size() + 8) return false;
    auto seq = codec::ParseBE64(v, "chat sender seq");
    if (!seq.ok()) {
      error = seq.status();
      return false;
    }
    if (seq.value() > after) out.push_back(codec::LoadBE64(k.data() + prefix.size()));
    return true;
  }));
  TERN_RETURN_IF_ERROR(error);
  return out;
}

Result<uint64_t> Receipts::Enqueue(DeviceKey d, const MessageRecord& about) {
  Mailbox mb(txn_);
  const std::string key = QueuedKey(d, about);
  auto prev = txn_.Get(Table::kRcptQueued, key);
  if (!prev.ok()) return prev.status();
  if (prev.value()) {
    auto seq = codec::ParseBE64(*prev.value(), "queued receipt seq");
    if (!seq.ok()) return seq.status();
    auto removed = mb.RemoveReceipt(d, seq.value());
    if (!removed.ok()) return removed.status();
  }
  auto seq = mb.AppendNotice(d, QueueItemKind::kReceipt, about);
  if (!seq.ok()) return seq.status();
  TERN_RETURN_IF_ERROR(txn_.Put(Table::kRcptQueued, key, codec::BE64(seq.value())));
  return seq.value();
}

Status Receipts::ForgetDevice(DeviceKey d) {
  const std::string prefix = DevicePart(d);
  std::vector<std::string> keys;
  TERN_RETURN_IF_ERROR(txn_.Scan(Table::kRcptQueued, prefix, [&](std::string_view k, std::string_view) {
    if (!k.starts_with(prefix)) return false;
    keys.emplace_back(k);
    return true;
  }));
  for (const std::string& k : keys) TERN_RETURN_IF_ERROR(txn_.Del(Table::kRcptQueued, k));
  return Status::Ok();
}

}  // namespace tern::store
