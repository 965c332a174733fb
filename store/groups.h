// Groups: one record per group chat (name, members, admins) over a KvTxn.
//
// A group's messages and membership events live in the Mailbox like any chat (ChatKey::Group);
// this record only says who is in the group now. Membership is checked inside the same write
// transaction that appends to the chat, so "removed members receive nothing after the removal,
// new members nothing before it" follows from the chat order alone.
//
// Layout: kGroups  BE64 group_id -> GroupRecord (version 1: group_id, name, created_ms,
// created_by, count, then per member user_id, admin). Members are kept sorted by user_id.
//         kMemberships BE64 user_id | BE64 group_id -> "" (kept in step by Put and Delete).
//
// Thread safety: as the KvTxn it wraps.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/kv.h"

namespace tern::store {

struct GroupMemberRecord {
  uint64_t user_id = 0;
  bool admin = false;
  bool operator==(const GroupMemberRecord&) const = default;
};

struct GroupRecord {
  uint64_t group_id = 0;
  std::string name;
  uint64_t created_ms = 0;
  uint64_t created_by = 0;
  std::vector<GroupMemberRecord> members;  // ascending user_id, no duplicates

  // The member entry of `user`, or nullptr.
  GroupMemberRecord* Find(uint64_t user);
  const GroupMemberRecord* Find(uint64_t user) const;
  // Inserts `user` keeping the order; false if already a member.
  bool Add(uint64_t user, bool admin);
  // False if `user` was not a member.
  bool Remove(uint64_t user);
  size_t admin_count() const;
  bool operator==(const GroupRecord&) const = default;
};

class Groups {
 public:
  explicit Groups(KvTxn& txn) : txn_(txn) {}

  // Errors: kCorrupt (undecodable record), engine errors.
  Result<std::optional<GroupRecord>> Get(uint64_t group_id);
  // Creates or replaces the record (and the members' kMemberships entries). Errors: engine errors.
  Status Put(const GroupRecord& g);
  Status Delete(uint64_t group_id);
  // Whether users a and b are both members of at least one group.
  Result<bool> ShareAGroup(uint64_t a, uint64_t b);

 private:
  Status SyncMemberships(const GroupRecord* before, const GroupRecord* after, uint64_t group_id);
  KvTxn& txn_;
};

}  // namespace tern::store
