// History: opening and recording (queries in history_query.cc, backup form in
// history_export.cc).
#include "tools/client/history.h"

#include <algorithm>

#include "tools/client/history_records.h"

namespace tern::tools {

using history::ChatRecord;

const char* MessageStatusName(MessageStatus s) {
  switch (s) {
    case MessageStatus::kNone: return "";
    case MessageStatus::kPending: return "pending";
    case MessageStatus::kSent: return "sent";
    case MessageStatus::kDelivered: return "delivered";
    case MessageStatus::kRead: return "read";
    case MessageStatus::kFailed: return "failed";
  }
  return "";
}

namespace {

Result<ChatRecord> LoadChat(HistoryTxn& txn, ChatId chat) {
  auto v = txn.Get(history::ChatKey(chat));
  if (!v.ok()) return v.status();
  if (!v.value()) return ChatRecord{};
  return history::DecodeChat(*v.value());
}

Status SaveChat(HistoryTxn& txn, ChatId chat, const ChatRecord& c) {
  return txn.Put(history::ChatKey(chat), history::EncodeChat(c));
}

Result<std::optional<HistoryMessage>> LoadEntry(HistoryTxn& txn, std::string_view key) {
  auto v = txn.Get(key);
  if (!v.ok()) return v.status();
  if (!v.value()) return std::optional<HistoryMessage>();
  auto e = history::DecodeEntry(*v.value());
  if (!e.ok()) return e.status();
  return std::optional<HistoryMessage>(std::move(e).value());
}

// A new entry at (chat, chat_seq) moves the chat's last seq / activity and, for group
// create/rename events, its title.
void Touch(ChatRecord* c, const HistoryMessage& e) {
  c->last_seq = std::max(c->last_seq, e.chat_seq);
  c->last_ts = std::max(c->last_ts, e.server_ts_ms);
  if (e.kind == EntryKind::kGroupEvent && (e.event == wire::GroupOp::kCreate || e.event == wire::GroupOp::kRename) &&
      e.chat_seq >= c->title_seq) {
    c->title = e.text;
    c->title_seq = e.chat_seq;
  }
}

bool IsPlaceholder(const HistoryMessage& e) { return e.kind == EntryKind::kMissed || e.kind == EntryKind::kExpired; }

HistoryMessage EntryOf(uint64_t me, ChatId chat, const wire::InboxItem& it) {
  HistoryMessage e;
  e.chat = chat;
  e.chat_seq = it.chat_seq;
  e.msg_id = it.msg_id;
  e.from_user = it.sender_user;
  e.from_device = it.sender_device;
  e.server_ts_ms = it.server_ts_ms;
  e.outgoing = it.sender_user == me;
  e.text = it.text;
  e.event = it.event;
  e.event_user = it.event_user;
  e.assets = it.assets;
  switch (it.kind) {
    case wire::ItemKind::kGroupEvent: e.kind = EntryKind::kGroupEvent; break;
    case wire::ItemKind::kMissed: e.kind = EntryKind::kMissed; break;
    case wire::ItemKind::kExpired: e.kind = EntryKind::kExpired; break;
    default: e.kind = EntryKind::kMessage; break;
  }
  if (e.outgoing && e.kind == EntryKind::kMessage) e.status = MessageStatus::kSent;
  if (e.kind == EntryKind::kExpired) {
    e.outgoing = true;
    e.status = MessageStatus::kFailed;
    e.failure = Code::kExpired;
  }
  return e;
}

Status ApplyReceipt(HistoryTxn& txn, uint64_t me, ChatId chat, const wire::InboxItem& it) {
  auto c = LoadChat(txn, chat);
  if (!c.ok()) return c.status();
  ChatRecord rec = std::move(c).value();
  if (it.sender_user == me) {  // my read mark, from another of my devices
    if (it.receipt != wire::ReceiptType::kRead || it.chat_seq <= rec.read_seq) return Status::Ok();
    rec.read_seq = it.chat_seq;
  } else {
    const uint64_t before_d = rec.delivered_mark, before_r = rec.read_mark;
    rec.delivered_mark = std::max(rec.delivered_mark, it.chat_seq);  // read implies delivered
    if (it.receipt == wire::ReceiptType::kRead) rec.read_mark = std::max(rec.read_mark, it.chat_seq);
    if (rec.delivered_mark == before_d && rec.read_mark == before_r) return Status::Ok();
  }
  return SaveChat(txn, chat, rec);
}

Status ApplyEntry(HistoryTxn& txn, uint64_t me, ChatId chat, const wire::InboxItem& it) {
  if (it.chat_seq == 0) return Status::Ok();  // not in the chat's order: nothing to key it by
  const std::string key = history::MsgKey(chat, it.chat_seq);
  auto existing = LoadEntry(txn, key);
  if (!existing.ok()) return existing.status();
  HistoryMessage e = EntryOf(me, chat, it);
  if (existing.value()) {
    HistoryMessage& old = *existing.value();
    if (e.kind == EntryKind::kExpired && !IsPlaceholder(old)) {
      if (old.status == MessageStatus::kFailed) return Status::Ok();  // replay
      old.status = MessageStatus::kFailed;  // my message, now known never to reach the peer
      old.failure = Code::kExpired;
      return txn.Put(key, history::EncodeEntry(old));
    }
    if (!IsPlaceholder(old) || IsPlaceholder(e)) return Status::Ok();  // duplicate
    if (old.kind == EntryKind::kExpired && e.outgoing) {
      e.status = MessageStatus::kFailed;
      e.failure = Code::kExpired;
    }
  }
  TERN_RETURN_IF_ERROR(txn.Put(key, history::EncodeEntry(e)));
  auto c = LoadChat(txn, chat);
  if (!c.ok()) return c.status();
  ChatRecord rec = std::move(c).value();
  Touch(&rec, e);
  return SaveChat(txn, chat, rec);
}

}  // namespace

Result<std::unique_ptr<History>> History::Open(const std::string& dir, const LmdbHistoryOptions& options) {
  auto kv = OpenLmdbHistoryKv(dir, options);
  if (!kv.ok()) return kv.status();
  auto h = Create(std::move(kv).value());
  if (!h.ok() && h.status().code() == Code::kInvalidArgument)
    return Status(Code::kInvalidArgument, dir + ": " + h.status().message());
  return h;
}

Result<std::unique_ptr<History>> History::Create(std::unique_ptr<HistoryKv> kv) {
  std::unique_ptr<History> h(new History(std::move(kv)));
  Status st = h->kv_->Write([](HistoryTxn& txn) -> Status {
    auto meta = txn.Get(history::kMetaKey);
    if (!meta.ok()) return meta.status();
    if (meta.value()) return history::DecodeMeta(*meta.value()).status();
    bool empty = true;
    TERN_RETURN_IF_ERROR(txn.Scan("", "", false, [&](std::string_view, std::string_view) {
      empty = false;
      return false;
    }));
    if (!empty) return Status(Code::kInvalidArgument, "not a Tern history database (it holds other data)");
    return txn.Put(history::kMetaKey, history::EncodeMeta(history::Meta{}));
  });
  if (!st.ok()) return st;
  return h;
}

std::unique_ptr<History> History::InMemory() {
  auto h = Create(std::make_unique<MemHistoryKv>());
  return std::move(h).value();  // an empty memory backend cannot fail
}

ChatId History::ChatOf(uint64_t me, const wire::InboxItem& item) {
  if (item.group_id != 0) return ChatId::Group(item.group_id);
  const uint64_t to = item.to_user == 0 ? me : item.to_user;
  return ChatId::Direct(item.sender_user == me ? to : item.sender_user);
}

Status History::CheckOwner(HistoryTxn& txn, uint64_t me) {
  auto v = txn.Get(history::kMetaKey);
  if (!v.ok()) return v.status();
  if (!v.value()) return Status(Code::kCorrupt, "history: meta record missing");
  auto meta = history::DecodeMeta(*v.value());
  if (!meta.ok()) return meta.status();
  if (meta->owner == me) return Status::Ok();
  if (meta->owner != 0)
    return Status(Code::kInvalidArgument, "this history belongs to user " + std::to_string(meta->owner) +
                                              ", not to user " + std::to_string(me));
  meta->owner = me;
  return txn.Put(history::kMetaKey, history::EncodeMeta(*meta));
}

Status History::RecordItems(uint64_t me, std::span<const wire::InboxItem> items) {
  if (items.empty()) return Status::Ok();
  return kv_->Write([&](HistoryTxn& txn) -> Status {
    TERN_RETURN_IF_ERROR(CheckOwner(txn, me));
    for (const wire::InboxItem& it : items) {
      const ChatId chat = ChatOf(me, it);
      if (chat.peer_user == 0 && chat.group_id == 0) continue;  // malformed: no chat
      if (it.kind == wire::ItemKind::kReceipt) {
        TERN_RETURN_IF_ERROR(ApplyReceipt(txn, me, chat, it));
      } else {
        TERN_RETURN_IF_ERROR(ApplyEntry(txn, me, chat, it));
      }
    }
    return Status::Ok();
  });
}

Status History::RecordSend(uint64_t me, const PendingSend& send) {
  HistoryMessage e;
  e.chat = send.group_id != 0 ? ChatId::Group(send.group_id) : ChatId::Direct(send.to_user);
  e.client_seq = send.client_seq;
  e.from_user = me;
  e.outgoing = true;
  e.status = MessageStatus::kPending;
  e.text = send.text;
  e.assets = send.assets;
  return kv_->Write([&](HistoryTxn& txn) -> Status {
    TERN_RETURN_IF_ERROR(CheckOwner(txn, me));
    auto c = txn.Get(history::ChatKey(e.chat));
    if (!c.ok()) return c.status();
    if (!c.value()) TERN_RETURN_IF_ERROR(SaveChat(txn, e.chat, ChatRecord{}));
    return txn.Put(history::PendingKey(send.client_seq), history::EncodeEntry(e));
  });
}

Status History::RecordSendAck(const wire::SendAck& ack) {
  if (ack.status == Code::kUnavailable) return Status::Ok();  // not final: it will be resent
  return kv_->Write([&](HistoryTxn& txn) -> Status {
    const std::string pkey = history::PendingKey(ack.client_seq);
    auto p = LoadEntry(txn, pkey);
    if (!p.ok()) return p.status();
    if (!p.value()) return Status::Ok();  // a replay, or a send made before the history existed
    HistoryMessage e = std::move(*p.value());
    if (ack.status != Code::kOk) {
      if (e.status == MessageStatus::kFailed && e.failure == ack.status) return Status::Ok();
      e.status = MessageStatus::kFailed;
      e.failure = ack.status;
      return txn.Put(pkey, history::EncodeEntry(e));
    }
    e.chat_seq = ack.chat_seq;
    e.msg_id = ack.msg_id;
    e.server_ts_ms = ack.server_ts_ms;
    e.status = MessageStatus::kSent;
    e.failure = Code::kOk;
    const std::string key = history::MsgKey(e.chat, ack.chat_seq);
    auto old = LoadEntry(txn, key);
    if (!old.ok()) return old.status();
    if (old.value() && old.value()->kind == EntryKind::kExpired) {
      e.status = MessageStatus::kFailed;
      e.failure = Code::kExpired;
    }
    if (!old.value() || IsPlaceholder(*old.value())) TERN_RETURN_IF_ERROR(txn.Put(key, history::EncodeEntry(e)));
    TERN_RETURN_IF_ERROR(txn.Del(pkey));
    TERN_RETURN_IF_ERROR(txn.Put(history::SentKey(ack.client_seq), history::EncodeSentRef(e.chat, ack.chat_seq)));
    auto c = LoadChat(txn, e.chat);
    if (!c.ok()) return c.status();
    ChatRecord rec = std::move(c).value();
    Touch(&rec, e);
    return SaveChat(txn, e.chat, rec);
  });
}

Status History::MarkRead(ChatId chat, uint64_t chat_seq) {
  return kv_->Write([&](HistoryTxn& txn) -> Status {
    auto c = LoadChat(txn, chat);
    if (!c.ok()) return c.status();
    if (c->read_seq >= chat_seq) return Status::Ok();
    ChatRecord rec = std::move(c).value();
    rec.read_seq = chat_seq;
    return SaveChat(txn, chat, rec);
  });
}

}  // namespace tern::tools
