// History: queries (chat list, pages of a chat, search, lookups).
#include <algorithm>
#include <limits>
#include <map>

#include "tools/client/history.h"
#include "tools/client/history_records.h"

namespace tern::tools {

using history::ChatRecord;

namespace {

constexpr uint64_t kMaxSeq = std::numeric_limits<uint64_t>::max();

// Ticks of an acknowledged outgoing message from the chat's marks.
void Tick(HistoryMessage* e, const ChatRecord& c) {
  if (!e->outgoing || e->status != MessageStatus::kSent || e->chat_seq == 0) return;
  if (c.read_mark >= e->chat_seq) e->status = MessageStatus::kRead;
  else if (c.delivered_mark >= e->chat_seq) e->status = MessageStatus::kDelivered;
}

Result<ChatRecord> ChatIn(HistoryTxn& txn, ChatId chat) {
  auto v = txn.Get(history::ChatKey(chat));
  if (!v.ok()) return v.status();
  if (!v.value()) return ChatRecord{};
  return history::DecodeChat(*v.value());
}

// Calls fn on every pending/failed send ('p' records), ascending client_seq.
Status ForEachPending(HistoryTxn& txn, const std::function<Status(HistoryMessage&&)>& fn) {
  Status inner = Status::Ok();
  TERN_RETURN_IF_ERROR(txn.Scan("p", "q", false, [&](std::string_view, std::string_view v) {
    auto e = history::DecodeEntry(v);
    inner = e.ok() ? fn(std::move(e).value()) : e.status();
    return inner.ok();
  }));
  return inner;
}

}  // namespace

Result<std::vector<ChatSummary>> History::ListChats(size_t limit) {
  std::vector<ChatSummary> out;
  Status st = kv_->Read([&](HistoryTxn& txn) -> Status {
    std::map<ChatId, uint64_t> pending;
    TERN_RETURN_IF_ERROR(ForEachPending(txn, [&](HistoryMessage&& e) {
      ++pending[e.chat];
      return Status::Ok();
    }));
    Status inner = Status::Ok();
    TERN_RETURN_IF_ERROR(txn.Scan("c", "d", false, [&](std::string_view k, std::string_view v) {
      auto chat = history::ChatOfKey(k);
      auto rec = history::DecodeChat(v);
      if (!chat.ok() || !rec.ok()) {
        inner = chat.ok() ? rec.status() : chat.status();
        return false;
      }
      ChatSummary s;
      s.chat = *chat;
      s.title = rec->title;
      s.last_chat_seq = rec->last_seq;
      s.last_activity_ms = rec->last_ts;
      s.read_seq = rec->read_seq;
      s.pending = pending[*chat];
      out.push_back(std::move(s));
      return true;
    }));
    TERN_RETURN_IF_ERROR(inner);
    for (ChatSummary& s : out) {
      auto rec = ChatIn(txn, s.chat);
      if (!rec.ok()) return rec.status();
      if (s.last_chat_seq != 0) {
        auto v = txn.Get(history::MsgKey(s.chat, s.last_chat_seq));
        if (!v.ok()) return v.status();
        if (v.value()) {
          auto e = history::DecodeEntry(*v.value());
          if (!e.ok()) return e.status();
          Tick(&e.value(), *rec);
          s.last = std::move(e).value();
        }
      }
      // Unread: incoming messages above my read position.
      TERN_RETURN_IF_ERROR(txn.Scan(history::MsgKey(s.chat, s.read_seq + 1), history::MsgKey(s.chat, kMaxSeq), false,
                                    [&](std::string_view, std::string_view v) {
                                      auto e = history::DecodeEntry(v);
                                      if (!e.ok()) {
                                        inner = e.status();
                                        return false;
                                      }
                                      if (!e->outgoing && e->kind == EntryKind::kMessage) ++s.unread;
                                      return true;
                                    }));
      TERN_RETURN_IF_ERROR(inner);
    }
    return Status::Ok();
  });
  if (!st.ok()) return st;
  std::sort(out.begin(), out.end(), [](const ChatSummary& a, const ChatSummary& b) {
    if (a.last_activity_ms != b.last_activity_ms) return a.last_activity_ms > b.last_activity_ms;
    return a.chat > b.chat;
  });
  if (limit != 0 && out.size() > limit) out.resize(limit);
  return out;
}

Result<std::vector<HistoryMessage>> History::Messages(ChatId chat, uint64_t before_chat_seq, size_t limit) {
  std::vector<HistoryMessage> out;
  Status st = kv_->Read([&](HistoryTxn& txn) -> Status {
    auto rec = ChatIn(txn, chat);
    if (!rec.ok()) return rec.status();
    Status inner = Status::Ok();
    const uint64_t upper = before_chat_seq == 0 ? kMaxSeq : before_chat_seq;
    TERN_RETURN_IF_ERROR(txn.Scan(history::MsgKey(chat, 0), history::MsgKey(chat, upper), true,
                                  [&](std::string_view, std::string_view v) {
                                    auto e = history::DecodeEntry(v);
                                    if (!e.ok()) {
                                      inner = e.status();
                                      return false;
                                    }
                                    Tick(&e.value(), *rec);
                                    out.push_back(std::move(e).value());
                                    return limit == 0 || out.size() < limit;
                                  }));
    TERN_RETURN_IF_ERROR(inner);
    std::reverse(out.begin(), out.end());
    if (before_chat_seq != 0) return Status::Ok();
    return ForEachPending(txn, [&](HistoryMessage&& e) {
      if (e.chat == chat) out.push_back(std::move(e));
      return Status::Ok();
    });
  });
  if (!st.ok()) return st;
  return out;
}

Result<std::vector<HistoryMessage>> History::Search(std::string_view needle, std::optional<ChatId> chat, size_t limit) {
  if (limit == 0) limit = 100;
  const std::u32string folded = history::FoldUtf8(needle);
  std::vector<HistoryMessage> out;
  if (folded.empty()) return out;
  auto matches = [&](const HistoryMessage& e) {
    if (history::ContainsFolded(e.text, folded)) return true;
    for (const wire::AssetRef& a : e.assets)
      if (history::ContainsFolded(a.name, folded)) return true;
    return false;
  };
  // Newest first; pending sends (no server time yet) count as the newest.
  auto newer = [](const HistoryMessage& a, const HistoryMessage& b) {
    const uint64_t ta = a.chat_seq == 0 ? kMaxSeq : a.server_ts_ms, tb = b.chat_seq == 0 ? kMaxSeq : b.server_ts_ms;
    if (ta != tb) return ta > tb;
    if (a.chat_seq != b.chat_seq) return a.chat_seq > b.chat_seq;
    if (a.client_seq != b.client_seq) return a.client_seq > b.client_seq;
    return a.chat > b.chat;
  };
  auto trim = [&] {  // bounded memory: keep the newest `limit` so far
    std::sort(out.begin(), out.end(), newer);
    if (out.size() > limit) out.resize(limit);
  };
  Status st = kv_->Read([&](HistoryTxn& txn) -> Status {
    std::map<ChatId, ChatRecord> chats;
    Status inner = Status::Ok();
    const std::string from = chat ? history::MsgPrefix(*chat) : std::string("m");
    const std::string to = chat ? history::MsgKey(*chat, kMaxSeq) : std::string("n");
    TERN_RETURN_IF_ERROR(txn.Scan(from, to, false, [&](std::string_view, std::string_view v) {
      auto e = history::DecodeEntry(v);
      if (!e.ok()) {
        inner = e.status();
        return false;
      }
      if (!matches(*e)) return true;
      out.push_back(std::move(e).value());
      if (out.size() >= 2 * limit) trim();
      return true;
    }));
    TERN_RETURN_IF_ERROR(inner);
    TERN_RETURN_IF_ERROR(ForEachPending(txn, [&](HistoryMessage&& e) {
      if ((!chat || e.chat == *chat) && matches(e)) out.push_back(std::move(e));
      return Status::Ok();
    }));
    for (HistoryMessage& e : out) {
      auto it = chats.find(e.chat);
      if (it == chats.end()) {
        auto rec = ChatIn(txn, e.chat);
        if (!rec.ok()) return rec.status();
        it = chats.emplace(e.chat, std::move(rec).value()).first;
      }
      Tick(&e, it->second);
    }
    return Status::Ok();
  });
  if (!st.ok()) return st;
  trim();
  return out;
}

Result<std::optional<HistoryMessage>> History::Get(ChatId chat, uint64_t chat_seq) {
  std::optional<HistoryMessage> out;
  Status st = kv_->Read([&](HistoryTxn& txn) -> Status {
    auto v = txn.Get(history::MsgKey(chat, chat_seq));
    if (!v.ok()) return v.status();
    if (!v.value()) return Status::Ok();
    auto e = history::DecodeEntry(*v.value());
    if (!e.ok()) return e.status();
    auto rec = ChatIn(txn, chat);
    if (!rec.ok()) return rec.status();
    Tick(&e.value(), *rec);
    out = std::move(e).value();
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return out;
}

Result<std::optional<HistoryMessage>> History::FindSend(uint64_t client_seq) {
  std::optional<std::pair<ChatId, uint64_t>> where;
  std::optional<HistoryMessage> out;
  Status st = kv_->Read([&](HistoryTxn& txn) -> Status {
    auto p = txn.Get(history::PendingKey(client_seq));
    if (!p.ok()) return p.status();
    if (p.value()) {
      auto e = history::DecodeEntry(*p.value());
      if (!e.ok()) return e.status();
      out = std::move(e).value();
      return Status::Ok();
    }
    auto s = txn.Get(history::SentKey(client_seq));
    if (!s.ok()) return s.status();
    if (!s.value()) return Status::Ok();
    auto ref = history::DecodeSentRef(*s.value());
    if (!ref.ok()) return ref.status();
    where = *ref;
    return Status::Ok();
  });
  if (!st.ok()) return st;
  if (where) {
    auto e = Get(where->first, where->second);
    if (!e.ok()) return e.status();
    out = std::move(e).value();
    if (out) out->client_seq = client_seq;
  }
  return out;
}

Result<uint64_t> History::Owner() {
  uint64_t owner = 0;
  Status st = kv_->Read([&](HistoryTxn& txn) -> Status {
    auto v = txn.Get(history::kMetaKey);
    if (!v.ok()) return v.status();
    if (!v.value()) return Status(Code::kCorrupt, "history: meta record missing");
    auto m = history::DecodeMeta(*v.value());
    if (!m.ok()) return m.status();
    owner = m->owner;
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return owner;
}

Result<HistoryStats> History::Stats() {
  HistoryStats s;
  Status st = kv_->Read([&](HistoryTxn& txn) -> Status {
    for (auto [from, to, n] : {std::tuple{"c", "d", &s.chats}, {"m", "n", &s.messages}, {"p", "q", &s.pending}}) {
      uint64_t* count = n;
      TERN_RETURN_IF_ERROR(txn.Scan(from, to, false, [&](std::string_view, std::string_view) {
        ++*count;
        return true;
      }));
    }
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return s;
}

}  // namespace tern::tools
