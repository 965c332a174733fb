// Presence (wire/PROTOCOL.md §3.12): online while a foreground connection of the user exists,
// offline (with last seen) once none has existed for presence_offline_grace_ms; pushed to the
// connections that subscribed and are related to the user; never queued or stored, except the
// last-seen time in the user's profile.
#include <algorithm>
#include <map>

#include "server/core.h"
#include "server/log.h"
#include "server/core_conn.h"
#include "store/social.h"

namespace tern::server {

void Core::PresenceOn(Conn& c) {
  if (c.counted || !c.active || !c.authed) return;
  c.counted = true;
  const uint64_t u = c.dev.user_id;
  UserPresence& p = presence_[u];
  if (p.active++ != 0) return;
  if (p.offline_at != 0) {  // back within the grace period: nobody saw it leave
    offline_due_.erase({p.offline_at, u});
    p.offline_at = 0;
  }
  if (!p.shown_online) {
    p.shown_online = true;
    presence_changed_.insert(u);
  }
}

void Core::PresenceOff(Conn& c, uint64_t now_ms) {
  if (!c.counted) return;
  c.counted = false;
  const uint64_t u = c.dev.user_id;
  auto it = presence_.find(u);
  if (it == presence_.end() || it->second.active == 0) return;
  UserPresence& p = it->second;
  if (--p.active != 0) return;
  p.left_ms = now_ms;
  p.offline_at = now_ms + config_.presence_offline_grace_ms;
  offline_due_.insert({p.offline_at, u});
}

void Core::PresenceTick(uint64_t now_ms) {
  while (!offline_due_.empty() && offline_due_.begin()->first <= now_ms) {
    const uint64_t u = offline_due_.begin()->second;
    offline_due_.erase(offline_due_.begin());
    auto it = presence_.find(u);
    if (it == presence_.end()) continue;
    const uint64_t left = it->second.left_ms;
    presence_.erase(it);  // offline users need no entry: last seen lives in the profile
    presence_changed_.insert(u);
    if (store::KvTxn* t = Txn()) {
      store::Social social(*t);
      auto p = social.GetProfile(u);
      if (!p.ok()) {
        FailTurn(p.status());
        continue;
      }
      p->last_seen_ms = left;
      if (Status s = social.PutProfile(u, *p); !s.ok()) FailTurn(s);
    }
  }
}

void Core::HandleSetPresence(Conn& c, const wire::SetPresence& m, uint64_t now_ms) {
  c.active = m.active;
  if (m.active) PresenceOn(c);
  else PresenceOff(c, now_ms);
}

void Core::Unwatch(Conn& c) {
  if (!c.watching) return;
  for (uint64_t u : *c.watching) {
    auto it = watchers_.find(u);
    if (it == watchers_.end()) continue;
    auto& v = it->second;
    v.erase(std::remove(v.begin(), v.end(), c.id), v.end());
    if (v.empty()) watchers_.erase(it);
  }
  c.watching.reset();
}

void Core::HandleSubscribePresence(Conn& c, const wire::SubscribePresence& m) {
  if (m.users.size() > config_.max_presence_subscriptions)
    return Violation(c, Status(Code::kProtocol, "more presence subscriptions than max_presence_subscriptions"));
  Unwatch(c);
  std::vector<uint64_t> allowed;
  if (store::KvTxn* t = Txn()) {
    store::Social social(*t);
    std::vector<uint64_t> asked = m.users;
    std::sort(asked.begin(), asked.end());
    asked.erase(std::unique(asked.begin(), asked.end()), asked.end());
    for (uint64_t u : asked) {
      auto related = social.Related(c.dev.user_id, u);
      if (!related.ok()) {
        FailTurn(related.status());
        break;
      }
      if (related.value()) allowed.push_back(u);
    }
  }
  for (uint64_t u : allowed) watchers_[u].push_back(c.id);
  if (!allowed.empty()) c.watching = std::make_unique<std::vector<uint64_t>>(allowed);
  // The answer is a snapshot of every allowed user (empty when none is): the subscriber learns
  // who it may watch, and a reconnecting one gets the current state, not a history.
  presence_snapshots_.emplace_back(c.id, std::move(allowed));
}

Result<wire::PresenceInfo> Core::PresenceOf(store::KvTxn& t, uint64_t user, uint64_t viewer) {
  auto it = presence_.find(user);
  if (it != presence_.end() && it->second.shown_online) return wire::PresenceInfo{user, true, 0};
  store::Social social(t);
  auto p = social.GetProfile(user);
  if (!p.ok()) return p.status();
  bool visible = user == viewer;
  switch (static_cast<wire::Visibility>(p->last_seen_visibility)) {
    case wire::Visibility::kEveryone: visible = true; break;
    case wire::Visibility::kContacts: {
      auto c = social.HasContact(user, viewer);
      if (!c.ok()) return c.status();
      visible = visible || c.value();
      break;
    }
    case wire::Visibility::kNobody: break;
  }
  return wire::PresenceInfo{user, false, visible ? p->last_seen_ms : 0};
}

void Core::FlushPresence(store::KvTxn& read) {
  std::map<ConnId, wire::Presence> out;
  auto add = [&](ConnId id, uint64_t user) {
    Conn* k = Find(id);
    if (k == nullptr || !k->authed || k->closing) return;
    auto info = PresenceOf(read, user, k->dev.user_id);
    if (!info.ok()) {
      Log(LogLevel::kError, "presence_read_failed").Err(info.status());
      return;
    }
    out[id].users.push_back(*info);
  };
  // A watch was allowed at subscription; the relation may have ended since (removed from the
  // group they shared): each push checks it again, and an unrelated watcher learns nothing.
  store::Social social(read);
  for (uint64_t u : presence_changed_) {
    auto w = watchers_.find(u);
    if (w == watchers_.end()) continue;
    for (ConnId id : w->second) {
      Conn* k = Find(id);
      if (k == nullptr || !k->authed) continue;
      auto related = social.Related(k->dev.user_id, u);
      if (!related.ok()) {
        Log(LogLevel::kError, "presence_read_failed").Err(related.status());
        continue;
      }
      if (related.value()) add(id, u);
    }
  }
  for (const auto& [id, users] : presence_snapshots_) {
    out.try_emplace(id);  // an empty snapshot still answers the subscription
    for (uint64_t u : users) add(id, u);
  }
  presence_changed_.clear();
  presence_snapshots_.clear();
  for (auto& [id, msg] : out) {
    Conn* k = Find(id);
    if (k == nullptr || !k->authed || k->closing) continue;
    k->session.Send(msg);
    MarkDirty(id);
  }
}

}  // namespace tern::server
