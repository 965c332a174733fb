// Messaging handlers: Send (accept, dedupe, fan-out to device queues, 1:1 or group), InboxAck,
// expiry.
#include <algorithm>

#include "server/asset_refs.h"
#include "server/core.h"
#include "server/core_conn.h"
#include "store/groups.h"
#include "store/receipts.h"

namespace tern::server {

void Core::HandleSend(Conn& c, const wire::Send& m, uint64_t now_ms) {
  if (m.client_seq == 0) return Violation(c, Status(Code::kProtocol, "client_seq must be >= 1"));
  // A piggybacked cumulative ack (PROTOCOL.md §3.3) counts as an InboxAck sent just before.
  if (m.ack_inbox_seq != 0) {
    HandleInboxAck(c, wire::InboxAck{m.ack_inbox_seq}, now_ms);
    if (c.closing) return;
  }
  const ConnId id = c.id;
  auto reply = [this, id](wire::SendAck ack, bool durable) {
    Stage(id, [this, id, ack, durable](bool committed) mutable {
      Conn* k = Find(id);
      if (k == nullptr) return;
      if (durable && !committed) ack = wire::SendAck{ack.client_seq, Code::kUnavailable, 0, 0, 0};
      k->session.Send(ack);
      MarkDirty(id);
    });
  };
  store::KvTxn* t = Txn();
  if (t == nullptr) return reply(wire::SendAck{m.client_seq, Code::kUnavailable, 0, 0, 0}, true);
  auto fail = [&](const Status& s) {
    FailTurn(s);
    reply(wire::SendAck{m.client_seq, Code::kUnavailable, 0, 0, 0}, true);
  };
  store::Accounts acc(*t);
  store::Mailbox mb(*t);
  const store::DeviceKey me = c.dev;

  auto dev = acc.GetDevice(me.user_id, me.device_id);
  if (!dev.ok()) return fail(dev.status());
  if (!dev.value()) {  // unlinked while connected
    Kick(me, Code::kBadCredentials, "device unlinked");
    return;
  }
  store::DeviceRecord d = *dev.value();

  if (m.client_seq <= d.client_seq_confirmed)  // the client already holds this ack
    return reply(wire::SendAck{m.client_seq, Code::kInvalidArgument, 0, 0, 0}, false);
  if (m.client_seq <= d.client_seq_high) {  // a retransmit: replay the recorded answer
    auto prev = mb.GetSendResult(me, m.client_seq);
    if (!prev.ok()) return fail(prev.status());
    if (prev.value()) {
      const auto& r = *prev.value();
      return reply(wire::SendAck{m.client_seq, static_cast<Code>(r.status), r.msg_id, r.chat_seq, r.server_ts_ms},
                   false);
    }
    // No record: that send was refused as unavailable and nothing was stored. Process it now.
  }

  store::SendResult result;
  std::vector<store::DeviceKey> targets;
  store::ChatKey chat = store::ChatKey::Direct(me.user_id, m.to_user);
  auto refuse = [&](Code code) { result.status = static_cast<uint16_t>(code); };
  // A media message may have no caption; a plain one needs text.
  if ((m.text.empty() && m.assets.empty()) || m.text.size() > config_.max_text_bytes ||
      (m.group_id != 0 && m.to_user != 0)) {
    refuse(Code::kInvalidArgument);
  } else if (m.group_id != 0) {
    // A group message: only current members may send; it reaches every device of every
    // current member (server/handle_groups.cc), checked in this same transaction.
    auto g = store::Groups(*t).Get(m.group_id);
    if (!g.ok()) return fail(g.status());
    if (!g.value() || g.value()->Find(me.user_id) == nullptr) {
      refuse(Code::kForbidden);
    } else {
      chat = store::ChatKey::Group(m.group_id);
      std::vector<uint64_t> users;
      users.reserve(g.value()->members.size());
      for (const auto& x : g.value()->members) users.push_back(x.user_id);
      bool full = false;
      auto list = ChatTargets(*t, users, me, &full);
      if (!list.ok()) return fail(list.status());
      targets = std::move(*list);
      if (full) refuse(Code::kQueueFull);
    }
  } else {
    auto peer = acc.GetUser(m.to_user);
    if (!peer.ok()) return fail(peer.status());
    if (m.to_user == 0 || !peer.value()) {
      refuse(Code::kNotFound);
    } else {
      // Every device of the peer, and every other device of the sender.
      const uint64_t users[2] = {m.to_user, me.user_id};
      bool full = false;
      auto list = ChatTargets(*t, std::span<const uint64_t>(users, m.to_user == me.user_id ? 1 : 2), me, &full);
      if (!list.ok()) return fail(list.status());
      targets = std::move(*list);
      if (full) refuse(Code::kQueueFull);
    }
  }

  if (result.status == static_cast<uint16_t>(Code::kOk) && !m.assets.empty()) {
    // Every reference must match an upload the sender may read (its own, or one it received);
    // checked before anything is written, then the (asset, chat) pairs that grant recipients
    // their downloads are recorded in this same transaction.
    Code code = CheckSendAssets(*t, m, me.user_id);
    if (turn_failed_) return fail(turn_error_);
    if (code != Code::kOk) refuse(code);
    for (size_t i = 0; code == Code::kOk && i < m.assets.size(); ++i)
      if (Status s = assets_->Attach(*t, me.user_id, m.assets[i].asset_id, chat, now_ms); !s.ok()) return fail(s);
  }
  if (result.status == static_cast<uint16_t>(Code::kOk)) {
    store::MessageRecord rec;
    rec.chat = chat;
    rec.sender_user = me.user_id;
    rec.sender_device = me.device_id;
    rec.to_user = m.group_id != 0 ? 0 : m.to_user;
    rec.server_ts_ms = now_ms;
    rec.expire_at_ms = now_ms + config_.message_ttl_ms;
    rec.text = m.text;
    rec.assets = EncodeAssetRefs(m.assets);
    // One body, one ref per target device; one transaction however large the group.
    if (Status s = AppendToChat(*t, rec, targets, store::QueueItemKind::kMessage); !s.ok()) return fail(s);
    if (m.group_id != 0) {  // who to tell when members' receipts move past this message
      if (Status s = store::Receipts(*t).NoteSender(chat, me.user_id, rec.chat_seq); !s.ok()) return fail(s);
    }
    result.msg_id = rec.msg_id;
    result.chat_seq = rec.chat_seq;
    result.server_ts_ms = now_ms;
    ++stats_.messages_accepted;
  }
  if (Status s = mb.PutSendResult(me, m.client_seq, result); !s.ok()) return fail(s);
  d.client_seq_high = std::max(d.client_seq_high, m.client_seq);
  if (Status s = acc.PutDevice(d); !s.ok()) return fail(s);
  reply(wire::SendAck{m.client_seq, static_cast<Code>(result.status), result.msg_id, result.chat_seq,
                      result.server_ts_ms},
        true);
}

void Core::HandleInboxAck(Conn& c, const wire::InboxAck& m, uint64_t now_ms) {
  if (m.seq > c.sent_seq) return Violation(c, Status(Code::kProtocol, "ack beyond what was sent"));
  if (c.unacked.empty() || m.seq < c.unacked.front()) return;  // old or repeated ack
  while (!c.unacked.empty() && c.unacked.front() <= m.seq) c.unacked.pop_front();
  // If this turn's commit fails the deletion is lost but the window above has moved on: the
  // items stay queued, and the client's next Resume (carrying last_inbox_seq) deletes them.
  store::KvTxn* t = Txn();
  if (t == nullptr) return;
  store::Mailbox mb(*t);
  std::vector<store::AckedMessage> acked;
  auto n = mb.AckUpTo(c.dev, m.seq, &acked);
  if (!n.ok()) return FailTurn(n.status());
  if (Status s = OnDelivered(*t, c.dev, acked, now_ms); !s.ok()) return FailTurn(s);
  WantPump(c.dev);
}

void Core::RunExpiry(uint64_t now_ms) {
  store::KvTxn* t = Txn();
  if (t == nullptr) return;
  store::Mailbox mb(*t);
  store::Accounts acc(*t);
  auto outcome = mb.Expire(now_ms, config_.expiry_budget, [&](uint64_t user) {
    std::vector<store::DeviceKey> out;
    auto list = acc.ListDevices(user);
    if (list.ok())
      for (const auto& x : *list) out.push_back({x.user_id, x.device_id});
    return out;
  });
  if (!outcome.ok()) return FailTurn(outcome.status());
  for (const auto& k : outcome->touched) WantPump(k);
  // More to do: run again soon rather than waiting a whole interval.
  if (outcome->expired >= config_.expiry_budget) next_expiry_ms_ = now_ms;
  if (assets_ != nullptr) {
    // Media past its TTL or retention: records go in this turn, objects after the commit.
    auto doomed = assets_->Sweep(*t, now_ms, config_.expiry_budget);
    if (!doomed.ok()) return FailTurn(doomed.status());
    if (!doomed->empty())
      Stage(0, [this, names = std::move(doomed).value()](bool committed) {
        if (committed) assets_->RemoveObjects(names);
      });
  }
}

}  // namespace tern::server
