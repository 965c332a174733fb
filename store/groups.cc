#include "store/groups.h"

#include <algorithm>

#include "store/codec.h"

namespace tern::store {
namespace {

constexpr uint8_t kVersion = 1;

std::string Key(uint64_t group_id) { return codec::BE64(group_id); }

bool ByUser(const GroupMemberRecord& m, uint64_t user) { return m.user_id < user; }

}  // namespace

GroupMemberRecord* GroupRecord::Find(uint64_t user) {
  auto it = std::lower_bound(members.begin(), members.end(), user, ByUser);
  return it != members.end() && it->user_id == user ? &*it : nullptr;
}

const GroupMemberRecord* GroupRecord::Find(uint64_t user) const {
  return const_cast<GroupRecord*>(this)->Find(user);
}

bool GroupRecord::Add(uint64_t user, bool admin) {
  auto it = std::lower_bound(members.begin(), members.end(), user, ByUser);
  if (it != members.end() && it->user_id == user) return false;
  members.insert(it, GroupMemberRecord{user, admin});
  return true;
}

bool GroupRecord::Remove(uint64_t user) {
  auto it = std::lower_bound(members.begin(), members.end(), user, ByUser);
  if (it == members.end() || it->user_id != user) return false;
  members.erase(it);
  return true;
}

size_t GroupRecord::admin_count() const {
  return static_cast<size_t>(std::count_if(members.begin(), members.end(),
                                           [](const GroupMemberRecord& m) { return m.admin; }));
}

Result<std::optional<GroupRecord>> Groups::Get(uint64_t group_id) {
  auto raw = txn_.Get(Table::kGroups, Key(group_id));
  if (!raw.ok()) return raw.status();
  if (!raw.value()) return std::optional<GroupRecord>();
  codec::RecordReader r(*raw.value(), "group");
  r.Version(kVersion);
  GroupRecord g;
  g.group_id = r.U64();
  g.name = r.Str();
  g.created_ms = r.U64();
  g.created_by = r.U64();
  const uint64_t n = r.U64();
  // Each member takes at least two bytes: a count beyond that is corrupt, not an allocation.
  if (r.ok() && n > raw.value()->size() / 2) return Status(Code::kCorrupt, "group: member count");
  g.members.reserve(static_cast<size_t>(n));
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    GroupMemberRecord m;
    m.user_id = r.U64();
    m.admin = r.U8() != 0;
    g.members.push_back(m);
  }
  TERN_RETURN_IF_ERROR(r.Finish());
  if (g.group_id != group_id) return Status(Code::kCorrupt, "group record under the wrong key");
  return std::optional<GroupRecord>(std::move(g));
}

namespace {
std::string MembershipKey(uint64_t user, uint64_t group_id) {
  std::string k = codec::BE64(user);
  codec::AppendBE64(k, group_id);
  return k;
}
}  // namespace

Status Groups::SyncMemberships(const GroupRecord* before, const GroupRecord* after, uint64_t group_id) {
  if (before != nullptr)
    for (const auto& m : before->members)
      if (after == nullptr || after->Find(m.user_id) == nullptr)
        TERN_RETURN_IF_ERROR(txn_.Del(Table::kMemberships, MembershipKey(m.user_id, group_id)));
  if (after != nullptr)
    for (const auto& m : after->members)
      if (before == nullptr || before->Find(m.user_id) == nullptr)
        TERN_RETURN_IF_ERROR(txn_.Put(Table::kMemberships, MembershipKey(m.user_id, group_id), ""));
  return Status::Ok();
}

Result<bool> Groups::ShareAGroup(uint64_t a, uint64_t b) {
  const std::string prefix = codec::BE64(a);
  std::vector<uint64_t> groups;
  TERN_RETURN_IF_ERROR(txn_.Scan(Table::kMemberships, prefix, [&](std::string_view k, std::string_view) {
    if (!k.starts_with(prefix) || k.size() != 16) return false;
    groups.push_back(codec::LoadBE64(k.data() + 8));
    return true;
  }));
  for (uint64_t g : groups) {
    auto v = txn_.Get(Table::kMemberships, MembershipKey(b, g));
    if (!v.ok()) return v.status();
    if (v.value()) return true;
  }
  return false;
}

Status Groups::Put(const GroupRecord& g) {
  auto before = Get(g.group_id);
  if (!before.ok()) return before.status();
  TERN_RETURN_IF_ERROR(SyncMemberships(before.value() ? &*before.value() : nullptr, &g, g.group_id));
  codec::RecordWriter w(kVersion);
  w.U64(g.group_id).Str(g.name).U64(g.created_ms).U64(g.created_by).U64(g.members.size());
  for (const auto& m : g.members) w.U64(m.user_id).U64(m.admin ? 1 : 0);
  return txn_.Put(Table::kGroups, Key(g.group_id), w.Finish());
}

Status Groups::Delete(uint64_t group_id) {
  auto before = Get(group_id);
  if (!before.ok()) return before.status();
  if (before.value()) TERN_RETURN_IF_ERROR(SyncMemberships(&*before.value(), nullptr, group_id));
  return txn_.Del(Table::kGroups, Key(group_id));
}

}  // namespace tern::store
