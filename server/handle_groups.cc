// Group handlers: CreateGroup, GroupChange (add, remove, leave, rename, promote, demote),
// GetGroup, and the fan-out helpers shared with Send (PROTOCOL.md §3.10).
//
// Membership events are stored like messages (one body, one ref per device, a kGroupEvent
// queue item) and take the next seq of the group's chat, in the same write transaction that
// changes the member list. A Send checks membership in that transaction too, so every device
// sees "X added Y" at one place in the history, a removed member gets nothing after its
// removal event and a new member nothing before its add event.
#include <algorithm>

#include "server/core.h"
#include "server/core_conn.h"
#include "store/groups.h"

namespace tern::server {
namespace {

std::vector<uint64_t> UsersOf(const store::GroupRecord& g) {
  std::vector<uint64_t> out;
  out.reserve(g.members.size());
  for (const auto& m : g.members) out.push_back(m.user_id);
  return out;
}

}  // namespace

Result<std::vector<store::DeviceKey>> Core::ChatTargets(store::KvTxn& t, std::span<const uint64_t> users,
                                                        const store::DeviceKey& skip, bool* full) {
  store::Accounts acc(t);
  store::Mailbox mb(t);
  std::vector<store::DeviceKey> out;
  for (uint64_t user : users) {
    auto list = acc.ListDevices(user);
    if (!list.ok()) return list.status();
    for (const auto& x : *list) {
      store::DeviceKey k{x.user_id, x.device_id};
      if (k == skip) continue;
      auto q = mb.EnsureQueue(k, NewEpoch());
      if (!q.ok()) return q.status();
      if (q->count >= config_.queue_cap) *full = true;
      out.push_back(k);
    }
  }
  // A user listed twice (the sender of a 1:1 note to self) must not get two refs.
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Status Core::AppendToChat(store::KvTxn& t, store::MessageRecord& rec,
                          std::span<const store::DeviceKey> targets, store::QueueItemKind kind) {
  store::Mailbox mb(t);
  auto msg_id = mb.NextMessageId(config_.node_id);
  if (!msg_id.ok()) return msg_id.status();
  rec.msg_id = msg_id.value();
  auto chat_seq = mb.NextChatSeq(rec.chat);
  if (!chat_seq.ok()) return chat_seq.status();
  rec.chat_seq = chat_seq.value();
  if (targets.empty()) return Status::Ok();  // nobody to hold it: the seq is still taken
  auto seqs = mb.Append(rec, targets, kind);
  if (!seqs.ok()) return seqs.status();
  for (const auto& k : targets) WantPump(k);
  return Status::Ok();
}

void Core::HandleCreateGroup(Conn& c, const wire::CreateGroup& m, uint64_t now_ms) {
  const ConnId id = c.id;
  auto reply = [this, id](wire::GroupInfo info) {
    Stage(id, [this, id, info = std::move(info)](bool committed) mutable {
      Conn* k = Find(id);
      if (k == nullptr) return;
      if (!committed) info = wire::GroupInfo{info.req_id, Code::kUnavailable, 0, {}, {}, 0, 0};
      k->session.Send(info);
      MarkDirty(id);
    });
  };
  auto refuse = [&](Code code) { reply(wire::GroupInfo{m.req_id, code, 0, {}, {}, 0, 0}); };
  store::KvTxn* t = Txn();
  if (t == nullptr) return refuse(Code::kUnavailable);
  auto fail = [&](const Status& s) {
    FailTurn(s);
    refuse(Code::kUnavailable);
  };
  if (m.name.empty() || m.name.size() > config_.max_group_name_bytes) return refuse(Code::kInvalidArgument);

  store::GroupRecord g;
  g.name = m.name;
  g.created_ms = now_ms;
  g.created_by = c.dev.user_id;
  g.Add(c.dev.user_id, true);
  store::Accounts acc(*t);
  for (uint64_t u : m.members) {
    if (u == 0) return refuse(Code::kNotFound);
    if (g.Find(u) != nullptr) continue;
    if (g.members.size() >= config_.max_group_members) return refuse(Code::kInvalidArgument);
    auto user = acc.GetUser(u);
    if (!user.ok()) return fail(user.status());
    if (!user.value()) return refuse(Code::kNotFound);
    g.Add(u, false);
  }
  store::Groups groups(*t);
  for (;;) {  // random ids: no central counter, so ids minted on any node do not collide
    entropy_.Fill(&g.group_id, sizeof g.group_id);
    if (g.group_id == 0) continue;
    auto existing = groups.Get(g.group_id);
    if (!existing.ok()) return fail(existing.status());
    if (!existing.value()) break;
  }
  if (Status s = groups.Put(g); !s.ok()) return fail(s);

  const auto users = UsersOf(g);
  bool full = false;  // events are not refused for a full queue: they are few and must arrive
  // The creating device gets the event too: unlike a SendAck, the answer to a request is not
  // replayed on Resume, so its queue is the only place the device is sure to find it.
  auto targets = ChatTargets(*t, users, store::DeviceKey{}, &full);
  if (!targets.ok()) return fail(targets.status());
  store::MessageRecord rec;
  rec.chat = store::ChatKey::Group(g.group_id);
  rec.sender_user = c.dev.user_id;
  rec.sender_device = c.dev.device_id;
  rec.server_ts_ms = now_ms;
  rec.expire_at_ms = now_ms + config_.message_ttl_ms;
  rec.text = g.name;
  rec.event = static_cast<uint8_t>(wire::GroupOp::kCreate);
  rec.event_user = c.dev.user_id;
  if (Status s = AppendToChat(*t, rec, *targets, store::QueueItemKind::kGroupEvent); !s.ok()) return fail(s);

  wire::GroupInfo info{m.req_id, Code::kOk, g.group_id, g.name, {}, g.created_ms, rec.chat_seq};
  for (const auto& x : g.members) info.members.push_back(wire::GroupMember{x.user_id, x.admin});
  reply(std::move(info));
}

void Core::HandleGroupChange(Conn& c, const wire::GroupChange& m, uint64_t now_ms) {
  const ConnId id = c.id;
  auto reply = [this, id, req = m.req_id](Code code, std::string why) {
    StageReply(id, req, code, std::move(why));
  };
  store::KvTxn* t = Txn();
  if (t == nullptr) return reply(Code::kUnavailable, "store unavailable");
  auto fail = [&](const Status& s) {
    FailTurn(s);
    reply(Code::kUnavailable, "store unavailable");
  };
  store::Groups groups(*t);
  auto loaded = groups.Get(m.group_id);
  if (!loaded.ok()) return fail(loaded.status());
  const uint64_t me = c.dev.user_id;
  // A non-member learns nothing, not even whether the group exists.
  if (m.group_id == 0 || !loaded.value() || loaded.value()->Find(me) == nullptr)
    return reply(Code::kNotFound, "no such group");
  store::GroupRecord g = std::move(*loaded.value());
  const bool admin = g.Find(me)->admin;

  // Who receives the event: the members before the change, plus an added member.
  std::vector<uint64_t> audience = UsersOf(g);
  uint64_t subject = m.user_id;
  std::string text;
  switch (m.op) {
    case wire::GroupOp::kAdd: {
      if (!admin) return reply(Code::kForbidden, "admins only");
      if (g.Find(m.user_id) != nullptr) return reply(Code::kInvalidArgument, "already a member");
      if (g.members.size() >= config_.max_group_members) return reply(Code::kInvalidArgument, "group is full");
      auto user = store::Accounts(*t).GetUser(m.user_id);
      if (!user.ok()) return fail(user.status());
      if (m.user_id == 0 || !user.value()) return reply(Code::kNotFound, "no such user");
      g.Add(m.user_id, false);
      audience.push_back(m.user_id);
      break;
    }
    case wire::GroupOp::kRemove:
      if (!admin) return reply(Code::kForbidden, "admins only");
      if (m.user_id == me) return reply(Code::kInvalidArgument, "use leave");
      if (!g.Remove(m.user_id)) return reply(Code::kNotFound, "not a member");
      break;
    case wire::GroupOp::kLeave:
      subject = me;
      g.Remove(me);
      // The last admin leaving hands the group to the longest-known member (lowest id), so a
      // group is never left without anyone able to manage it.
      if (!g.members.empty() && g.admin_count() == 0) g.members.front().admin = true;
      break;
    case wire::GroupOp::kRename:
      if (!admin) return reply(Code::kForbidden, "admins only");
      if (m.name.empty() || m.name.size() > config_.max_group_name_bytes)
        return reply(Code::kInvalidArgument, "bad name");
      g.name = m.name;
      text = m.name;
      subject = me;
      break;
    case wire::GroupOp::kPromote:
    case wire::GroupOp::kDemote: {
      if (!admin) return reply(Code::kForbidden, "admins only");
      store::GroupMemberRecord* x = g.Find(m.user_id);
      if (x == nullptr) return reply(Code::kNotFound, "not a member");
      const bool promote = m.op == wire::GroupOp::kPromote;
      if (x->admin == promote) return reply(Code::kOk, "no change");
      if (!promote && g.admin_count() == 1) return reply(Code::kInvalidArgument, "the last admin");
      x->admin = promote;
      break;
    }
    default:
      return reply(Code::kInvalidArgument, "unknown group operation");
  }
  Status put = g.members.empty() ? groups.Delete(g.group_id) : groups.Put(g);
  if (!put.ok()) return fail(put);

  bool full = false;
  auto targets = ChatTargets(*t, audience, store::DeviceKey{}, &full);  // the acting device too
  if (!targets.ok()) return fail(targets.status());
  store::MessageRecord rec;
  rec.chat = store::ChatKey::Group(g.group_id);
  rec.sender_user = me;
  rec.sender_device = c.dev.device_id;
  rec.server_ts_ms = now_ms;
  rec.expire_at_ms = now_ms + config_.message_ttl_ms;
  rec.text = text;
  rec.event = static_cast<uint8_t>(m.op);
  rec.event_user = subject;
  if (Status s = AppendToChat(*t, rec, *targets, store::QueueItemKind::kGroupEvent); !s.ok()) return fail(s);
  reply(Code::kOk, std::to_string(rec.chat_seq));
}

void Core::HandleGetGroup(Conn& c, const wire::GetGroup& m) {
  wire::GroupInfo info{m.req_id, Code::kOk, 0, {}, {}, 0, 0};
  store::KvTxn* t = Txn();
  if (t == nullptr) {
    info.status = Code::kUnavailable;
  } else {
    auto g = store::Groups(*t).Get(m.group_id);
    auto seq = store::Mailbox(*t).LastChatSeq(store::ChatKey::Group(m.group_id));
    if (!g.ok() || !seq.ok()) {
      FailTurn(!g.ok() ? g.status() : seq.status());
      info.status = Code::kUnavailable;
    } else if (m.group_id == 0 || !g.value() || g.value()->Find(c.dev.user_id) == nullptr) {
      info.status = Code::kNotFound;
    } else {
      info.group_id = g.value()->group_id;
      info.name = g.value()->name;
      info.created_ms = g.value()->created_ms;
      info.chat_seq = seq.value();
      for (const auto& x : g.value()->members) info.members.push_back(wire::GroupMember{x.user_id, x.admin});
    }
  }
  Stage(c.id, [this, id = c.id, info = std::move(info)](bool) {
    if (Conn* k = Find(id)) { k->session.Send(info); MarkDirty(id); }
  }, false);
}

}  // namespace tern::server
