// Receipts (wire/PROTOCOL.md §3.11): delivered marks from inbox acks, read marks from ReadMark,
// both turned into coalescing kReceipt items for the devices that need them; GetReceipts.
#include <algorithm>
#include <map>

#include "server/core.h"
#include "server/core_conn.h"
#include "store/accounts.h"
#include "store/groups.h"
#include "store/receipts.h"

namespace tern::server {
namespace {

// The chat a ReadMark / GetReceipts names for `me`, after checking `me` may use it:
// kInvalidArgument (neither or both of peer_user / group_id), kNotFound (no such user),
// kForbidden (not a member of the group).
Result<store::ChatKey> ChatFor(store::KvTxn& t, uint64_t me, uint64_t peer_user, uint64_t group_id) {
  if ((peer_user == 0) == (group_id == 0))
    return Status(Code::kInvalidArgument, "name exactly one of peer_user and group_id");
  if (group_id != 0) {
    auto g = store::Groups(t).Get(group_id);
    if (!g.ok()) return g.status();
    if (!g.value() || g.value()->Find(me) == nullptr) return Status(Code::kForbidden, "not a member");
    return store::ChatKey::Group(group_id);
  }
  auto u = store::Accounts(t).GetUser(peer_user);
  if (!u.ok()) return u.status();
  if (!u.value()) return Status(Code::kNotFound, "no such user");
  return store::ChatKey::Direct(me, peer_user);
}

bool IsStoreError(Code c) { return c == Code::kUnavailable || c == Code::kCorrupt || c == Code::kNoSpace || c == Code::kInternal; }

}  // namespace

void Core::StageReply(ConnId id, uint32_t req_id, Code code, std::string message) {
  Stage(id, [this, id, req_id, code, message = std::move(message)](bool committed) {
    Conn* k = Find(id);
    if (k == nullptr) return;
    if (!committed) k->session.Send(wire::Reply{req_id, Code::kUnavailable, "store unavailable"});
    else k->session.Send(wire::Reply{req_id, code, message});
    MarkDirty(id);
  });
}

Status Core::NotifyReceipt(store::KvTxn& t, const store::ChatKey& chat, const store::DeviceKey& reader,
                           uint8_t type, uint64_t seq, uint64_t old_seq, uint64_t now_ms) {
  std::vector<uint64_t> users;  // whose devices hear about it
  uint64_t peer = 0;
  if (chat.kind == 0) {
    peer = chat.a == reader.user_id ? chat.b : chat.a;
    if (peer != reader.user_id) users.push_back(peer);
  } else {
    auto senders = store::Receipts(t).SendersAfter(chat, old_seq);
    if (!senders.ok()) return senders.status();
    // Only current members: one who left or was removed hears nothing more of the group,
    // as with its messages (kChatSenders still lists past senders).
    auto g = store::Groups(t).Get(chat.group_id());
    if (!g.ok()) return g.status();
    for (uint64_t u : *senders)
      if (u != reader.user_id && g.value() && g.value()->Find(u) != nullptr) users.push_back(u);
  }
  store::MessageRecord about;
  about.chat = chat;
  about.sender_user = reader.user_id;
  about.to_user = peer;
  about.chat_seq = seq;
  about.server_ts_ms = now_ms;
  about.event = type;
  bool full = false;  // receipts coalesce to one per (chat, reader, type): never refused
  auto targets = ChatTargets(t, users, reader, &full);
  if (!targets.ok()) return targets.status();
  if (type == static_cast<uint8_t>(wire::ReceiptType::kRead)) {
    // The reader's other devices: unread counts agree everywhere.
    const uint64_t self[1] = {reader.user_id};
    auto mine = ChatTargets(t, self, reader, &full);
    if (!mine.ok()) return mine.status();
    targets->insert(targets->end(), mine->begin(), mine->end());
  }
  store::Receipts r(t);
  for (const auto& d : *targets) {
    auto s = r.Enqueue(d, about);
    if (!s.ok()) return s.status();
    WantPump(d);
  }
  return Status::Ok();
}

Status Core::OnDelivered(store::KvTxn& t, const store::DeviceKey& reader,
                         const std::vector<store::AckedMessage>& acked, uint64_t now_ms) {
  // The highest chat seq acked per chat, of messages from someone else.
  std::map<std::string, std::pair<store::ChatKey, uint64_t>> top;
  for (const auto& a : acked) {
    if (a.sender_user == reader.user_id) continue;
    auto& slot = top[a.chat.Encode()];
    slot.first = a.chat;
    slot.second = std::max(slot.second, a.chat_seq);
  }
  store::Receipts r(t);
  for (const auto& [key, v] : top) {
    const auto& [chat, seq] = v;
    auto marks = r.Get(chat, reader.user_id);
    if (!marks.ok()) return marks.status();
    if (seq <= marks->delivered) continue;  // another device of the user got there first
    const uint64_t old = marks->delivered;
    marks->delivered = seq;
    TERN_RETURN_IF_ERROR(r.Put(chat, reader.user_id, *marks));
    TERN_RETURN_IF_ERROR(NotifyReceipt(t, chat, reader, static_cast<uint8_t>(wire::ReceiptType::kDelivered),
                                       seq, old, now_ms));
  }
  return Status::Ok();
}

void Core::HandleReadMark(Conn& c, const wire::ReadMark& m, uint64_t now_ms) {
  store::KvTxn* t = Txn();
  if (t == nullptr) return StageReply(c.id, m.req_id, Code::kUnavailable, "store unavailable");
  auto fail = [&](const Status& s) {
    FailTurn(s);
    StageReply(c.id, m.req_id, Code::kUnavailable, "store unavailable");
  };
  auto chat = ChatFor(*t, c.dev.user_id, m.peer_user, m.group_id);
  if (!chat.ok()) {
    if (IsStoreError(chat.status().code())) return fail(chat.status());
    return StageReply(c.id, m.req_id, chat.status().code(), chat.status().message());
  }
  auto last = store::Mailbox(*t).LastChatSeq(*chat);
  if (!last.ok()) return fail(last.status());
  if (m.chat_seq == 0 || m.chat_seq > last.value())
    return StageReply(c.id, m.req_id, Code::kInvalidArgument, "chat_seq beyond the chat");
  store::Receipts r(*t);
  auto marks = r.Get(*chat, c.dev.user_id);
  if (!marks.ok()) return fail(marks.status());
  if (m.chat_seq > marks->read) {  // older or repeated marks change nothing
    const uint64_t old = marks->read;
    marks->read = m.chat_seq;
    marks->delivered = std::max(marks->delivered, m.chat_seq);
    if (Status s = r.Put(*chat, c.dev.user_id, *marks); !s.ok()) return fail(s);
    if (Status s = NotifyReceipt(*t, *chat, c.dev, static_cast<uint8_t>(wire::ReceiptType::kRead),
                                 m.chat_seq, old, now_ms);
        !s.ok())
      return fail(s);
  }
  StageReply(c.id, m.req_id, Code::kOk);
}

void Core::HandleGetReceipts(Conn& c, const wire::GetReceipts& m) {
  const ConnId id = c.id;
  wire::ReceiptList out;
  out.req_id = m.req_id;
  auto send = [this, id](wire::ReceiptList list) {
    Stage(id, [this, id, list = std::move(list)](bool) {
      if (Conn* k = Find(id)) {
        k->session.Send(list);
        MarkDirty(id);
      }
    }, false);
  };
  store::KvTxn* t = Txn();
  if (t == nullptr) {
    out.status = Code::kUnavailable;
    return send(std::move(out));
  }
  auto chat = ChatFor(*t, c.dev.user_id, m.peer_user, m.group_id);
  if (!chat.ok()) {
    out.status = IsStoreError(chat.status().code()) ? Code::kUnavailable : chat.status().code();
    return send(std::move(out));
  }
  std::vector<uint64_t> members;
  if (chat->kind == 0) {
    members = {chat->a, chat->b};
  } else {
    auto g = store::Groups(*t).Get(m.group_id);
    if (!g.ok() || !g.value()) {
      out.status = Code::kUnavailable;
      return send(std::move(out));
    }
    for (const auto& x : g.value()->members) members.push_back(x.user_id);
  }
  auto marks = store::Receipts(*t).List(*chat);
  if (!marks.ok()) {
    out.status = Code::kUnavailable;
    return send(std::move(out));
  }
  members.erase(std::unique(members.begin(), members.end()), members.end());
  std::map<uint64_t, store::ReceiptMarks> by_user(marks->begin(), marks->end());
  for (uint64_t u : members) {
    const auto it = by_user.find(u);
    const store::ReceiptMarks v = it == by_user.end() ? store::ReceiptMarks{} : it->second;
    out.marks.push_back(wire::ReceiptMark{u, v.delivered, v.read});
  }
  send(std::move(out));
}

}  // namespace tern::server
