// Profiles (status text, availability, last-seen privacy) and contact discovery with a per-user
// budget (wire/PROTOCOL.md §3.13).
#include <algorithm>

#include "server/core.h"
#include "server/core_conn.h"
#include "store/accounts.h"
#include "store/social.h"

namespace tern::server {
namespace {

constexpr uint64_t kHourMs = 3600ull * 1000;

wire::Profile ToWire(uint64_t user, const store::ProfileRecord& p) {
  wire::Profile out;
  out.user_id = user;
  out.status = p.status;
  out.availability = static_cast<wire::Availability>(p.availability);
  out.updated_ms = p.updated_ms;
  return out;
}

}  // namespace

Result<bool> Core::SpendDiscovery(store::KvTxn& t, uint64_t user, uint64_t n, uint64_t now_ms,
                                  uint32_t* retry_ms) {
  store::Social social(t);
  auto p = social.GetProfile(user);
  if (!p.ok()) return p.status();
  const uint64_t burst = config_.discovery_burst, rate = config_.discovery_per_hour;
  if (!p->discovery_started) {  // a new user may look up a whole address book at once
    p->discovery_started = true;
    p->discovery_tokens = burst;
    p->discovery_refill_ms = now_ms;
  }
  if (rate != 0 && now_ms > p->discovery_refill_ms) {
    const uint64_t add = (now_ms - p->discovery_refill_ms) * rate / kHourMs;
    if (add > 0) {
      p->discovery_tokens = std::min(burst, p->discovery_tokens + add);
      // Keep the fraction of a token already earned, unless the bucket is full.
      p->discovery_refill_ms = p->discovery_tokens == burst ? now_ms : p->discovery_refill_ms + add * kHourMs / rate;
    }
  }
  if (p->discovery_tokens < n) {
    const uint64_t missing = n - p->discovery_tokens;
    uint64_t wait = rate == 0 ? UINT32_MAX : (missing * kHourMs + rate - 1) / rate;
    const uint64_t earned = now_ms > p->discovery_refill_ms ? now_ms - p->discovery_refill_ms : 0;
    wait = wait > earned ? wait - earned : 1;
    *retry_ms = static_cast<uint32_t>(std::min<uint64_t>(wait, UINT32_MAX));
    return false;
  }
  p->discovery_tokens -= n;
  TERN_RETURN_IF_ERROR(social.PutProfile(user, *p));
  return true;
}

void Core::HandleSetProfile(Conn& c, const wire::SetProfile& m, uint64_t now_ms) {
  if (m.fields == 0 || (m.fields & ~(wire::kProfileStatus | wire::kProfileAvailability | wire::kProfileLastSeen)) != 0)
    return StageReply(c.id, m.req_id, Code::kInvalidArgument, "fields must name status, availability and/or last_seen");
  if ((m.fields & wire::kProfileStatus) && m.status.size() > config_.max_status_bytes)
    return StageReply(c.id, m.req_id, Code::kInvalidArgument, "status longer than max_status_bytes");
  store::KvTxn* t = Txn();
  if (t == nullptr) return StageReply(c.id, m.req_id, Code::kUnavailable, "store unavailable");
  store::Social social(*t);
  auto p = social.GetProfile(c.dev.user_id);
  if (!p.ok()) {
    FailTurn(p.status());
    return StageReply(c.id, m.req_id, Code::kUnavailable, "store unavailable");
  }
  if (m.fields & wire::kProfileStatus) p->status = m.status;
  if (m.fields & wire::kProfileAvailability) p->availability = static_cast<uint8_t>(m.availability);
  if (m.fields & (wire::kProfileStatus | wire::kProfileAvailability)) p->updated_ms = now_ms;
  if (m.fields & wire::kProfileLastSeen) {
    p->last_seen_visibility = static_cast<uint8_t>(m.last_seen);
    presence_changed_.insert(c.dev.user_id);  // watchers see the new visibility at once
  }
  if (Status s = social.PutProfile(c.dev.user_id, *p); !s.ok()) {
    FailTurn(s);
    return StageReply(c.id, m.req_id, Code::kUnavailable, "store unavailable");
  }
  StageReply(c.id, m.req_id, Code::kOk);
}

void Core::HandleGetProfiles(Conn& c, const wire::GetProfiles& m) {
  wire::Profiles out;
  out.req_id = m.req_id;
  store::KvTxn* t = Txn();
  if (m.users.size() > config_.max_profiles_per_request) {
    out.status = Code::kInvalidArgument;
  } else if (t == nullptr) {
    out.status = Code::kUnavailable;
  } else {
    store::Social social(*t);
    store::Accounts acc(*t);
    for (uint64_t u : m.users) {
      // Unknown users and users unrelated to the asker are left out alike.
      auto user = acc.GetUser(u);
      auto related = social.Related(c.dev.user_id, u);
      auto p = social.GetProfile(u);
      if (!user.ok() || !related.ok() || !p.ok()) {
        out.status = Code::kUnavailable;
        out.profiles.clear();
        break;
      }
      if (user.value() && related.value()) out.profiles.push_back(ToWire(u, *p));
    }
  }
  Stage(c.id, [this, id = c.id, out = std::move(out)](bool) {
    if (Conn* k = Find(id)) {
      k->session.Send(out);
      MarkDirty(id);
    }
  }, false);
}

void Core::HandleSyncContacts(Conn& c, const wire::SyncContacts& m, uint64_t now_ms) {
  wire::Profiles out;
  out.req_id = m.req_id;
  store::KvTxn* t = Txn();
  if (m.phones.empty() || m.phones.size() > config_.discovery_max_batch) {
    out.status = Code::kInvalidArgument;
  } else if (t == nullptr) {
    out.status = Code::kUnavailable;
  } else {
    // A phone asked twice costs one lookup and is answered once.
    std::vector<std::string> phones = m.phones;
    std::sort(phones.begin(), phones.end());
    phones.erase(std::unique(phones.begin(), phones.end()), phones.end());
    auto ok = SpendDiscovery(*t, c.dev.user_id, phones.size(), now_ms, &out.retry_after_ms);
    if (!ok.ok()) {
      FailTurn(ok.status());
      out.status = Code::kUnavailable;
    } else if (!ok.value()) {
      out.status = Code::kRateLimited;
    } else {
      store::Social social(*t);
      store::Accounts acc(*t);
      for (const std::string& phone : phones) {
        auto u = acc.FindUserByPhone(phone);
        if (!u.ok()) {
          FailTurn(u.status());
          break;
        }
        if (!u.value() || *u.value() == c.dev.user_id) continue;
        auto p = social.GetProfile(*u.value());
        if (!p.ok()) {
          FailTurn(p.status());
          break;
        }
        if (Status s = social.AddContact(c.dev.user_id, *u.value()); !s.ok()) {
          FailTurn(s);
          break;
        }
        wire::Profile w = ToWire(*u.value(), *p);
        w.phone = phone;
        out.profiles.push_back(std::move(w));
      }
    }
  }
  Stage(c.id, [this, id = c.id, out = std::move(out)](bool committed) mutable {
    Conn* k = Find(id);
    if (k == nullptr) return;
    if (!committed) {
      out.status = Code::kUnavailable;
      out.profiles.clear();
    }
    k->session.Send(out);
    MarkDirty(id);
  });
}

}  // namespace tern::server
