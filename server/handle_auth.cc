// Handshake handlers: RequestCode, Verify (register), Link (add a device), Resume.
#include <algorithm>
#include <cctype>
#include <cstdio>

#include "server/core.h"
#include "server/core_conn.h"
#include "store/receipts.h"
#include "wire/compress.h"

namespace tern::server {
namespace {

// E.164: '+' then 6..15 digits.
bool ValidPhone(const std::string& p) {
  if (p.size() < 7 || p.size() > 16 || p[0] != '+') return false;
  for (size_t i = 1; i < p.size(); ++i)
    if (!std::isdigit(static_cast<unsigned char>(p[i]))) return false;
  return true;
}

bool ValidCode(const std::string& code) {
  if (code.size() != 6) return false;
  for (char ch : code)
    if (!std::isdigit(static_cast<unsigned char>(ch))) return false;
  return true;
}

}  // namespace

void Core::HandshakeStoreError(Conn& c, const Status& s) {
  FailTurn(s);
  RefuseHandshake(c, Code::kUnavailable, "store unavailable");
}

void Core::HandleRequestCode(Conn& c, const wire::RequestCode& m, uint64_t now_ms) {
  if (m.version != wire::kProtocolVersion)
    return RefuseHandshake(c, Code::kUnsupportedVersion, "protocol version 1 required");
  if (!ValidPhone(m.phone)) return RefuseHandshake(c, Code::kInvalidArgument, "phone must be E.164");
  store::KvTxn* t = Txn();
  if (t == nullptr) return RefuseHandshake(c, Code::kUnavailable, "store unavailable");
  store::Accounts acc(*t);
  auto prev = acc.GetOtp(m.phone);
  if (!prev.ok()) return HandshakeStoreError(c, prev.status());
  if (prev.value() && now_ms < prev.value()->issued_ms + config_.otp_resend_ms)
    return RefuseHandshake(c, Code::kRateLimited, "a code was sent recently; retry later");
  std::string code = entropy_.Digits(6);
  store::OtpRecord r;
  r.code_hash = Sha256(code);
  r.expires_ms = now_ms + config_.otp_ttl_ms;
  r.issued_ms = now_ms;
  if (Status s = acc.PutOtp(m.phone, r); !s.ok()) return HandshakeStoreError(c, s);
  // The code leaves only once it is durable, so a Verify after a crash can still use it.
  Stage(c.id, [this, id = c.id, phone = m.phone, code](bool committed) {
    Conn* k = Find(id);
    if (committed) sink_.Deliver(phone, code);
    if (k == nullptr) return;
    if (committed) {
      k->session.Send(wire::CodeSent{config_.otp_ttl_ms, config_.otp_resend_ms});
    } else {
      k->session.Fail(Status(Code::kUnavailable, "store unavailable"));
      k->closing = true;
    }
    MarkDirty(id);
  });
}

void Core::HandleVerify(Conn& c, const wire::Verify& m, uint64_t now_ms) {
  if (m.version != wire::kProtocolVersion)
    return RefuseHandshake(c, Code::kUnsupportedVersion, "protocol version 1 required");
  if (!ValidPhone(m.phone) || !ValidCode(m.code))
    return RefuseHandshake(c, Code::kInvalidArgument, "phone must be E.164 and code 6 digits");
  store::KvTxn* t = Txn();
  if (t == nullptr) return RefuseHandshake(c, Code::kUnavailable, "store unavailable");
  store::Accounts acc(*t);
  store::Mailbox mb(*t);
  auto otp = acc.GetOtp(m.phone);
  if (!otp.ok()) return HandshakeStoreError(c, otp.status());
  if (!otp.value()) return RefuseHandshake(c, Code::kBadCredentials, "no code was requested");
  store::OtpRecord rec = *otp.value();
  if (now_ms >= rec.expires_ms) {
    if (Status s = acc.DeleteOtp(m.phone); !s.ok()) return HandshakeStoreError(c, s);
    return RefuseHandshake(c, Code::kExpired, "code expired; request a new one");
  }
  if (rec.attempts >= config_.otp_max_attempts)
    return RefuseHandshake(c, Code::kRateLimited, "too many attempts; request a new code later");
  // Guesses are slowed as well as counted: after the n-th wrong one the next is refused (and not
  // counted) for otp_fail_delay_ms * 2^(n-1).
  if (now_ms < rec.next_try_ms)
    return RefuseHandshake(c, Code::kRateLimited,
                           "wrong code entered too recently; retry in " +
                               std::to_string((rec.next_try_ms - now_ms + 999) / 1000) + " s");
  if (!ConstantTimeEqual(Sha256(m.code), rec.code_hash)) {
    ++rec.attempts;
    const uint32_t shift = std::min<uint32_t>(rec.attempts - 1, 16);
    rec.next_try_ms = now_ms + (static_cast<uint64_t>(config_.otp_fail_delay_ms) << shift);
    if (Status s = acc.PutOtp(m.phone, rec); !s.ok()) return HandshakeStoreError(c, s);
    return RefuseHandshake(c, Code::kBadCredentials, "wrong code");
  }
  if (Status s = acc.DeleteOtp(m.phone); !s.ok()) return HandshakeStoreError(c, s);

  auto existing = acc.FindUserByPhone(m.phone);
  if (!existing.ok()) return HandshakeStoreError(c, existing.status());
  store::UserRecord user;
  if (existing.value()) {
    auto u = acc.GetUser(*existing.value());
    if (!u.ok()) return HandshakeStoreError(c, u.status());
    if (!u.value()) return HandshakeStoreError(c, Status(Code::kCorrupt, "phone index points at no user"));
    user = *u.value();
    // Re-registration: the account moves to this device; every old device is unlinked.
    auto devices = acc.ListDevices(user.user_id);
    if (!devices.ok()) return HandshakeStoreError(c, devices.status());
    for (const auto& d : *devices) {
      store::DeviceKey k{d.user_id, d.device_id};
      if (Status s = mb.DropQueue(k); !s.ok()) return HandshakeStoreError(c, s);
      if (Status s = store::Receipts(*t).ForgetDevice(k); !s.ok()) return HandshakeStoreError(c, s);
      if (Status s = mb.PruneSendResults(k, UINT64_MAX); !s.ok()) return HandshakeStoreError(c, s);
      if (Status s = acc.DeleteDevice(d.user_id, d.device_id); !s.ok()) return HandshakeStoreError(c, s);
      Stage(c.id, [this, k](bool committed) {
        if (committed) Kick(k, Code::kBadCredentials, "account registered on another device");
      });
    }
  } else {
    user.phone = m.phone;
    user.created_ms = now_ms;
    while (user.user_id == 0) {
      uint64_t candidate = entropy_.U64() & 0x7fffffffffffffffull;  // stays positive in JSON/SQL
      auto clash = acc.GetUser(candidate);
      if (!clash.ok()) return HandshakeStoreError(c, clash.status());
      if (!clash.value()) user.user_id = candidate;
    }
  }
  CreateDeviceAndWelcome(c, user, m.device_name, m.max_inflight, m.dict_ids, now_ms);
}

void Core::HandleLink(Conn& c, const wire::Link& m, uint64_t now_ms) {
  if (m.version != wire::kProtocolVersion)
    return RefuseHandshake(c, Code::kUnsupportedVersion, "protocol version 1 required");
  if (m.link_code.empty() || m.link_code.size() > 64)
    return RefuseHandshake(c, Code::kInvalidArgument, "bad link code");
  store::KvTxn* t = Txn();
  if (t == nullptr) return RefuseHandshake(c, Code::kUnavailable, "store unavailable");
  store::Accounts acc(*t);
  auto link = acc.GetLink(m.link_code);
  if (!link.ok()) return HandshakeStoreError(c, link.status());
  if (!link.value()) return RefuseHandshake(c, Code::kBadCredentials, "unknown or used link code");
  store::LinkRecord lr = *link.value();
  // Single use, whatever happens next.
  if (Status s = acc.DeleteLink(m.link_code); !s.ok()) return HandshakeStoreError(c, s);
  if (now_ms >= lr.expires_ms) return RefuseHandshake(c, Code::kExpired, "link code expired");
  auto u = acc.GetUser(lr.user_id);
  if (!u.ok()) return HandshakeStoreError(c, u.status());
  if (!u.value()) return RefuseHandshake(c, Code::kBadCredentials, "user no longer exists");
  auto devices = acc.ListDevices(lr.user_id);
  if (!devices.ok()) return HandshakeStoreError(c, devices.status());
  if (devices->size() >= config_.max_devices)
    return RefuseHandshake(c, Code::kTooManyDevices, "device limit reached; unlink one first");
  CreateDeviceAndWelcome(c, *u.value(), m.device_name, m.max_inflight, m.dict_ids, now_ms);
}

void Core::CreateDeviceAndWelcome(Conn& c, store::UserRecord user, const std::string& device_name,
                                  uint32_t max_inflight, const std::vector<uint32_t>& dict_ids,
                                  uint64_t now_ms) {
  store::KvTxn* t = Txn();
  if (t == nullptr) return RefuseHandshake(c, Code::kUnavailable, "store unavailable");
  store::Accounts acc(*t);
  store::Mailbox mb(*t);
  store::DeviceRecord d;
  d.user_id = user.user_id;
  d.device_id = user.next_device_id++;
  d.name = device_name.substr(0, 64);
  std::string token = entropy_.Token();
  d.token_hash = Sha256(token);
  d.created_ms = now_ms;
  d.last_seen_ms = now_ms;
  if (Status s = acc.PutUser(user); !s.ok()) return HandshakeStoreError(c, s);
  if (Status s = acc.PutDevice(d); !s.ok()) return HandshakeStoreError(c, s);
  store::DeviceKey key{d.user_id, d.device_id};
  auto meta = mb.EnsureQueue(key, NewEpoch());
  if (!meta.ok()) return HandshakeStoreError(c, meta.status());

  wire::Welcome w;
  w.user_id = d.user_id;
  w.device_id = d.device_id;
  w.token = token;
  w.inbox_epoch = meta->epoch;
  w.heartbeat_ms = config_.heartbeat_ms;
  w.server_time_ms = now_ms;
  w.max_frame = config_.max_frame_bytes;
  w.max_inflight = ClampWindow(max_inflight);
  w.dict_id = wire::ChooseDict(dict_ids, config_.compression_dict_ids);
  c.handshake_staged = true;
  Stage(c.id, [this, id = c.id, key, w](bool committed) {
    Conn* k = Find(id);
    if (k == nullptr) return;
    if (!committed) {
      k->session.Fail(Status(Code::kUnavailable, "store unavailable"));
      k->closing = true;
    } else {
      Attach(*k, key, w.max_inflight);
      k->sent_seq = 0;
      k->session.Send(w);
      WantPump(key);
    }
    MarkDirty(id);
  });
}

void Core::HandleResume(Conn& c, const wire::Resume& m, uint64_t now_ms) {
  if (m.version != wire::kProtocolVersion)
    return RefuseHandshake(c, Code::kUnsupportedVersion, "protocol version 1 required");
  store::KvTxn* t = Txn();
  if (t == nullptr) return RefuseHandshake(c, Code::kUnavailable, "store unavailable");
  store::Accounts acc(*t);
  store::Mailbox mb(*t);
  auto dev = acc.GetDevice(m.user_id, m.device_id);
  if (!dev.ok()) return HandshakeStoreError(c, dev.status());
  // Same answer for "no such device" and "wrong token": nothing to learn by probing.
  if (!dev.value() || !ConstantTimeEqual(Sha256(m.token), dev.value()->token_hash))
    return RefuseHandshake(c, Code::kBadCredentials, "unknown device or wrong token");
  store::DeviceRecord d = *dev.value();
  store::DeviceKey key{d.user_id, d.device_id};
  auto meta = mb.EnsureQueue(key, NewEpoch());
  if (!meta.ok()) return HandshakeStoreError(c, meta.status());

  bool epoch_changed = false;
  uint64_t start_after = 0;  // 0: from the head of the queue
  if (m.inbox_epoch == meta->epoch) {
    if (m.last_inbox_seq >= meta->next_seq) {
      epoch_changed = true;  // the client is ahead of the queue: it was reset
    } else {
      start_after = m.last_inbox_seq;
      // last_inbox_seq is an InboxAck (often the one the dropped connection never sent): it
      // moves delivered marks like one.
      std::vector<store::AckedMessage> acked;
      auto n = mb.AckUpTo(key, start_after, &acked);
      if (!n.ok()) return HandshakeStoreError(c, n.status());
      if (Status s = OnDelivered(*t, key, acked, now_ms); !s.ok()) return HandshakeStoreError(c, s);
    }
  } else if (m.inbox_epoch != 0) {
    epoch_changed = true;
  }
  // The client holds every ack up to last_acked_client_seq: forget those results.
  uint64_t confirmed = std::min(m.last_acked_client_seq, d.client_seq_high);
  if (confirmed > d.client_seq_confirmed) {
    if (Status s = mb.PruneSendResults(key, confirmed); !s.ok()) return HandshakeStoreError(c, s);
    d.client_seq_confirmed = confirmed;
  }
  auto replay = mb.SendResultsAfter(key, m.last_acked_client_seq, 1u << 20);
  if (!replay.ok()) return HandshakeStoreError(c, replay.status());
  d.last_seen_ms = now_ms;
  if (Status s = acc.PutDevice(d); !s.ok()) return HandshakeStoreError(c, s);

  wire::Welcome w;
  w.user_id = d.user_id;
  w.device_id = d.device_id;
  w.inbox_epoch = meta->epoch;
  w.epoch_changed = epoch_changed;
  w.client_seq_high = d.client_seq_high;
  w.heartbeat_ms = config_.heartbeat_ms;
  w.server_time_ms = now_ms;
  w.max_frame = config_.max_frame_bytes;
  w.max_inflight = ClampWindow(m.max_inflight);
  w.dict_id = wire::ChooseDict(m.dict_ids, config_.compression_dict_ids);
  c.handshake_staged = true;
  Stage(c.id, [this, id = c.id, key, w, start_after, acks = std::move(replay.value())](bool committed) {
    Conn* k = Find(id);
    if (k == nullptr) return;
    if (!committed) {
      k->session.Fail(Status(Code::kUnavailable, "store unavailable"));
      k->closing = true;
    } else {
      Attach(*k, key, w.max_inflight);
      k->sent_seq = start_after;
      k->session.Send(w);
      for (const auto& [seq, r] : acks)
        k->session.Send(wire::SendAck{seq, static_cast<Code>(r.status), r.msg_id, r.chat_seq, r.server_ts_ms});
      WantPump(key);
    }
    MarkDirty(id);
  });
}

}  // namespace tern::server
