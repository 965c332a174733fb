// tern read / receipts / presence / profile / contacts (tools/tern_cli.h).
#include <cstdio>
#include <string>
#include <vector>

#include "tools/tern_cli.h"

namespace tern::tools {
namespace {

std::string U(uint64_t v) { return std::to_string(v); }

// The chat named by --group or PEER: (peer user id, group id).
Result<std::pair<uint64_t, uint64_t>> ChatOf(Client& c, const SocialArgs& a) {
  if (a.group != 0) return std::pair<uint64_t, uint64_t>{0, a.group};
  Result<uint64_t> peer = Recipient(c, a.peer);
  if (!peer.ok()) return peer.status();
  return std::pair<uint64_t, uint64_t>{*peer, 0};
}

Result<std::vector<uint64_t>> UsersOf(Client& c, const std::vector<std::string>& who) {
  std::vector<uint64_t> ids;
  for (const std::string& w : who) {
    Result<uint64_t> id = Recipient(c, w);
    if (!id.ok()) return id.status();
    ids.push_back(*id);
  }
  return ids;
}

const char* AvailabilityName(wire::Availability a) {
  switch (a) {
    case wire::Availability::kAvailable: return "available";
    case wire::Availability::kBusy: return "busy";
    case wire::Availability::kAway: return "away";
    case wire::Availability::kUnset: break;
  }
  return "-";
}

void PrintPresence(const wire::PresenceInfo& p) {
  if (p.online) std::printf("%s\tonline\n", U(p.user_id).c_str());
  else if (p.last_seen_ms == 0) std::printf("%s\toffline\tlast_seen=hidden\n", U(p.user_id).c_str());
  else std::printf("%s\toffline\tlast_seen_ms=%s\n", U(p.user_id).c_str(), U(p.last_seen_ms).c_str());
  std::fflush(stdout);
}

}  // namespace

int RunRead(Client& c, const SocialArgs& a) {
  if (int rc = Connect(c)) return rc;
  auto chat = ChatOf(c, a);
  if (!chat.ok()) return Fail("read", chat.status());
  if (Status st = c.MarkRead(chat->first, chat->second, a.chat_seq); !st.ok()) return Fail("read", st);
  std::printf("read up to [%s]\n", U(a.chat_seq).c_str());
  c.Close();
  return 0;
}

int RunReceipts(Client& c, const SocialArgs& a) {
  if (int rc = Connect(c)) return rc;
  auto chat = ChatOf(c, a);
  if (!chat.ok()) return Fail("receipts", chat.status());
  Result<wire::ReceiptList> list = c.GetReceipts(chat->first, chat->second);
  if (!list.ok()) return Fail("receipts", list.status());
  // "delivered to all" / "read by all": the lowest mark among the other members.
  uint64_t all_delivered = UINT64_MAX, all_read = UINT64_MAX;
  for (const wire::ReceiptMark& m : list->marks) {
    std::printf("%s\tdelivered=%s\tread=%s%s\n", U(m.user_id).c_str(), U(m.delivered_seq).c_str(),
                U(m.read_seq).c_str(), m.user_id == c.state().user_id ? "\t(me)" : "");
    if (m.user_id == c.state().user_id) continue;
    all_delivered = std::min(all_delivered, m.delivered_seq);
    all_read = std::min(all_read, m.read_seq);
  }
  if (all_delivered != UINT64_MAX)
    std::printf("delivered to all up to [%s], read by all up to [%s]\n", U(all_delivered).c_str(),
                U(all_read).c_str());
  c.Close();
  return 0;
}

int RunPresence(Client& c, const SocialArgs& a) {
  if (int rc = Connect(c)) return rc;
  auto ids = UsersOf(c, a.users);
  if (!ids.ok()) return Fail("presence", ids.status());
  const uint64_t before = c.counters().presence_updates;
  if (Status st = c.Watch(*ids); !st.ok()) return Fail("presence", st);
  Status st = c.WaitUntil([&] { return c.counters().presence_updates > before; }, c.options().io_timeout_ms,
                          "the presence snapshot");
  if (!st.ok()) return Fail("presence", st);
  for (uint64_t id : *ids) {
    auto it = c.core().presence().find(id);
    if (it == c.core().presence().end()) std::printf("%s\tnot visible (no shared chat or contact)\n", U(id).c_str());
    else PrintPresence(it->second);
  }
  // --follow: print every later change (ephemeral: nothing is replayed after a drop).
  const uint64_t end = SteadyNowMs() + static_cast<uint64_t>(a.follow_s * 1000);
  uint64_t seen = c.counters().presence_updates;
  auto last = c.core().presence();
  while (a.follow_s > 0 && SteadyNowMs() < end) {
    if (Status p = c.Poll(static_cast<int>(std::min<uint64_t>(end - SteadyNowMs(), 1000))); !p.ok())
      return Fail("presence", p);
    if (c.counters().presence_updates == seen) continue;
    seen = c.counters().presence_updates;
    for (const auto& [id, info] : c.core().presence()) {
      auto old = last.find(id);
      if (old == last.end() || old->second.online != info.online || old->second.last_seen_ms != info.last_seen_ms)
        PrintPresence(info);
    }
    last = c.core().presence();
  }
  c.Close();
  return 0;
}

int RunProfileSet(Client& c, const SocialArgs& a) {
  wire::SetProfile change;
  if (a.set_status) {
    change.fields |= wire::kProfileStatus;
    change.status = a.status;
  }
  if (!a.availability.empty()) {
    change.fields |= wire::kProfileAvailability;
    if (a.availability == "available") change.availability = wire::Availability::kAvailable;
    else if (a.availability == "busy") change.availability = wire::Availability::kBusy;
    else if (a.availability == "away") change.availability = wire::Availability::kAway;
    else return Fail("profile set", Status(Code::kInvalidArgument, "availability: available, busy or away"));
  }
  if (!a.last_seen.empty()) {
    change.fields |= wire::kProfileLastSeen;
    if (a.last_seen == "everyone") change.last_seen = wire::Visibility::kEveryone;
    else if (a.last_seen == "contacts") change.last_seen = wire::Visibility::kContacts;
    else if (a.last_seen == "nobody") change.last_seen = wire::Visibility::kNobody;
    else return Fail("profile set", Status(Code::kInvalidArgument, "last-seen: everyone, contacts or nobody"));
  }
  if (change.fields == 0)
    return Fail("profile set", Status(Code::kInvalidArgument, "nothing to set: --status, --availability or --last-seen"));
  if (int rc = Connect(c)) return rc;
  if (Status st = c.SetProfile(change); !st.ok()) return Fail("profile set", st);
  std::printf("profile updated\n");
  c.Close();
  return 0;
}

int RunProfileGet(Client& c, const SocialArgs& a) {
  if (int rc = Connect(c)) return rc;
  auto ids = UsersOf(c, a.users);
  if (!ids.ok()) return Fail("profile get", ids.status());
  auto list = c.GetProfiles(*ids);
  if (!list.ok()) return Fail("profile get", list.status());
  for (const wire::Profile& p : *list)
    std::printf("%s\t%s\t%s\n", U(p.user_id).c_str(), AvailabilityName(p.availability), p.status.c_str());
  if (list->size() < ids->size())
    std::fprintf(stderr, "tern: %zu of %zu users not visible (no shared chat or contact)\n",
                 ids->size() - list->size(), ids->size());
  c.Close();
  return 0;
}

int RunContacts(Client& c, const SocialArgs& a) {
  if (int rc = Connect(c)) return rc;
  auto list = c.SyncContacts(a.phones);
  if (!list.ok()) return Fail("contacts", list.status());
  for (const wire::Profile& p : *list)
    std::printf("%s\t%s\t%s\t%s\n", p.phone.c_str(), U(p.user_id).c_str(), AvailabilityName(p.availability),
                p.status.c_str());
  std::printf("%zu of %zu registered\n", list->size(), a.phones.size());
  c.Close();
  return 0;
}

}  // namespace tern::tools
