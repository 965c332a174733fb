// Account requests from an authenticated device: link codes, device list, unlink, phone lookup.
#include "server/core.h"
#include "server/core_conn.h"
#include "store/receipts.h"
#include "store/social.h"

namespace tern::server {
namespace {

// Crockford base32 without ambiguous letters: easy to read aloud and type.
constexpr char kLinkAlphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";
constexpr int kLinkCodeChars = 12;  // 60 bits

}  // namespace

void Core::HandleResolvePhone(Conn& c, const wire::ResolvePhone& m, uint64_t now_ms) {
  wire::Resolved r{m.req_id, 0};
  store::KvTxn* t = Txn();
  if (t != nullptr) {
    // One lookup from the contact discovery budget: the directory cannot be walked this way.
    uint32_t retry_ms = 0;
    auto ok = SpendDiscovery(*t, c.dev.user_id, 1, now_ms, &retry_ms);
    if (!ok.ok()) {  // the turn aborts; the caller still gets an answer
      FailTurn(ok.status());
      return StageReply(c.id, m.req_id, Code::kUnavailable, "store unavailable");
    }
    if (!ok.value())
      return StageReply(c.id, m.req_id, Code::kRateLimited,
                        "contact lookups exhausted; retry in " + std::to_string(retry_ms / 1000 + 1) + " s");
    auto uid = store::Accounts(*t).FindUserByPhone(m.phone);
    if (!uid.ok()) {
      FailTurn(uid.status());
    } else if (uid.value()) {
      r.user_id = *uid.value();
      if (r.user_id != c.dev.user_id) {
        if (Status s = store::Social(*t).AddContact(c.dev.user_id, r.user_id); !s.ok()) FailTurn(s);
      }
    }
  }
  Stage(c.id, [this, id = c.id, r](bool) {
    if (Conn* k = Find(id)) { k->session.Send(r); MarkDirty(id); }
  }, false);
}

void Core::HandleCreateLinkCode(Conn& c, const wire::CreateLinkCode& m, uint64_t now_ms) {
  std::string code;
  for (int i = 0; i < kLinkCodeChars; ++i) {
    uint8_t b;
    entropy_.Fill(&b, 1);
    code.push_back(kLinkAlphabet[b & 31]);
  }
  store::LinkRecord r{c.dev.user_id, c.dev.device_id, now_ms + config_.link_code_ttl_ms};
  store::KvTxn* t = Txn();
  Status s = t ? store::Accounts(*t).PutLink(code, r) : Status(Code::kUnavailable, "store unavailable");
  if (!s.ok() && t != nullptr) FailTurn(s);
  Stage(c.id, [this, id = c.id, req = m.req_id, code, expires = r.expires_ms](bool committed) {
    Conn* k = Find(id);
    if (k == nullptr) return;
    if (committed) k->session.Send(wire::LinkCode{req, code, expires});
    else k->session.Send(wire::Reply{req, Code::kUnavailable, "store unavailable"});
    MarkDirty(id);
  });
}

void Core::HandleListDevices(Conn& c, const wire::ListDevices& m) {
  wire::DeviceList out{m.req_id, {}};
  Code status = Code::kOk;
  store::KvTxn* t = Txn();
  if (t == nullptr) {
    status = Code::kUnavailable;
  } else {
    auto list = store::Accounts(*t).ListDevices(c.dev.user_id);
    if (!list.ok()) {
      FailTurn(list.status());
      status = Code::kUnavailable;
    } else {
      for (const auto& d : *list) {
        bool online = online_.count(store::DeviceKey{d.user_id, d.device_id}) > 0;
        out.devices.push_back(wire::DeviceInfo{d.device_id, d.name, d.created_ms, d.last_seen_ms, online});
      }
    }
  }
  Stage(c.id, [this, id = c.id, out, status](bool) {
    Conn* k = Find(id);
    if (k == nullptr) return;
    if (status == Code::kOk) k->session.Send(out);
    else k->session.Send(wire::Reply{out.req_id, status, "store unavailable"});
    MarkDirty(id);
  }, false);
}

void Core::HandleUnlinkDevice(Conn& c, const wire::UnlinkDevice& m) {
  const store::DeviceKey target{c.dev.user_id, m.device_id};
  Code status = Code::kOk;
  store::KvTxn* t = Txn();
  if (t == nullptr) {
    status = Code::kUnavailable;
  } else {
    store::Accounts acc(*t);
    store::Mailbox mb(*t);
    auto d = acc.GetDevice(target.user_id, target.device_id);
    Status s = d.status();
    if (s.ok() && !d.value()) status = Code::kNotFound;
    if (s.ok() && d.value()) s = mb.DropQueue(target);
    if (s.ok() && d.value()) s = store::Receipts(*t).ForgetDevice(target);
    if (s.ok() && d.value()) s = mb.PruneSendResults(target, UINT64_MAX);
    if (s.ok() && d.value()) s = acc.DeleteDevice(target.user_id, target.device_id);
    if (!s.ok()) {
      FailTurn(s);
      status = Code::kUnavailable;
    }
  }
  Stage(c.id, [this, id = c.id, req = m.req_id, status, target](bool committed) {
    Code final_status = committed ? status : Code::kUnavailable;
    // Reply first: a device unlinking itself still learns that it worked.
    if (Conn* k = Find(id)) {
      k->session.Send(wire::Reply{req, final_status, final_status == Code::kOk ? "" : CodeName(final_status)});
      MarkDirty(id);
    }
    if (final_status == Code::kOk) Kick(target, Code::kBadCredentials, "device unlinked");
  });
}

}  // namespace tern::server
