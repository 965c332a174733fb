// Messaging handlers: Send (accept, dedupe, fan-out to device queues), InboxAck, expiry.
#include <algorithm>

#include "server/core.h"
#include "server/core_conn.h"

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
  if (m.text.empty() || m.text.size() > config_.max_text_bytes) {
    result.status = static_cast<uint16_t>(Code::kInvalidArgument);
  } else {
    auto peer = acc.GetUser(m.to_user);
    if (!peer.ok()) return fail(peer.status());
    if (m.to_user == 0 || !peer.value()) {
      result.status = static_cast<uint16_t>(Code::kNotFound);
    } else {
      // Every device of the peer, and every other device of the sender.
      auto add_devices = [&](uint64_t user) -> Status {
        auto list = acc.ListDevices(user);
        if (!list.ok()) return list.status();
        for (const auto& x : *list) {
          store::DeviceKey k{x.user_id, x.device_id};
          if (k != me && std::find(targets.begin(), targets.end(), k) == targets.end()) targets.push_back(k);
        }
        return Status::Ok();
      };
      if (Status s = add_devices(m.to_user); !s.ok()) return fail(s);
      if (m.to_user != me.user_id)
        if (Status s = add_devices(me.user_id); !s.ok()) return fail(s);
      for (const auto& k : targets) {
        auto q = mb.EnsureQueue(k, NewEpoch());
        if (!q.ok()) return fail(q.status());
        if (q->count >= config_.queue_cap) {
          result.status = static_cast<uint16_t>(Code::kQueueFull);
          break;
        }
      }
    }
  }

  if (result.status == static_cast<uint16_t>(Code::kOk)) {
    auto msg_id = mb.NextMessageId(config_.node_id);
    if (!msg_id.ok()) return fail(msg_id.status());
    store::MessageRecord rec;
    rec.msg_id = msg_id.value();
    rec.chat = store::ChatKey::Direct(me.user_id, m.to_user);
    auto chat_seq = mb.NextChatSeq(rec.chat);
    if (!chat_seq.ok()) return fail(chat_seq.status());
    rec.chat_seq = chat_seq.value();
    rec.sender_user = me.user_id;
    rec.sender_device = me.device_id;
    rec.to_user = m.to_user;
    rec.server_ts_ms = now_ms;
    rec.expire_at_ms = now_ms + config_.message_ttl_ms;
    rec.text = m.text;
    if (!targets.empty()) {
      auto seqs = mb.Append(rec, targets);
      if (!seqs.ok()) return fail(seqs.status());
      for (const auto& k : targets) WantPump(k);
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

void Core::HandleInboxAck(Conn& c, const wire::InboxAck& m, uint64_t /*now_ms*/) {
  if (m.seq > c.sent_seq) return Violation(c, Status(Code::kProtocol, "ack beyond what was sent"));
  if (c.unacked.empty() || m.seq < c.unacked.front()) return;  // old or repeated ack
  while (!c.unacked.empty() && c.unacked.front() <= m.seq) c.unacked.pop_front();
  // If this turn's commit fails the deletion is lost but the window above has moved on: the
  // items stay queued, and the client's next Resume (carrying last_inbox_seq) deletes them.
  store::KvTxn* t = Txn();
  if (t == nullptr) return;
  store::Mailbox mb(*t);
  auto n = mb.AckUpTo(c.dev, m.seq);
  if (!n.ok()) return FailTurn(n.status());
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
}

}  // namespace tern::server
