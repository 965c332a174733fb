// KvEnv / KvTxn: the storage seam under every store concern (leveldb's Env pattern).
//
// A sorted key-value engine with named tables and serializable transactions: one writer at a
// time, readers see a snapshot. Keys compare as unsigned bytes (memcmp), so fixed-width
// big-endian integers sort numerically. Backends: LmdbEnv (store/lmdb_env.h, the real one),
// MemEnv (store/mem_env.h, for unit tests), FaultEnv (store/fault_env.h, fails chosen calls).
//
// Failure is sticky (CONVENTIONS rule 7): once a Commit fails with an environment error, the
// env refuses every later write transaction with that first error until it is reopened.
//
// Thread safety: an env may be shared; a txn belongs to the thread that began it. At most one
// write txn is open at a time (Begin(true) while one is open is an invariant violation).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "wire/status.h"

namespace tern::store {

enum class Table : uint8_t {
  kMeta = 0,    // "schema", "node", counters
  kUsers,       // user_id -> UserRecord
  kPhones,      // phone -> user_id
  kDevices,     // (user_id, device_id) -> DeviceRecord
  kOtps,        // phone -> OtpRecord
  kLinks,       // link code -> LinkRecord
  kChats,       // chat key -> next chat seq
  kMsgs,        // msg_id -> MessageRecord (body stored once)
  kQueue,       // (user_id, device_id, seq) -> QueueItem
  kQueueMeta,   // (user_id, device_id) -> QueueMeta
  kRefs,        // (msg_id, user_id, device_id) -> seq   (who still holds msg_id)
  kDedupe,      // (user_id, device_id, client_seq) -> SendResult
  kExpiry,      // (expire_at_ms, msg_id) -> ""
  kGroups,      // group_id -> GroupRecord (store/groups.h)
  kReceipts,    // (chat key, user_id) -> ReceiptMarks: delivered / read up to chat seq
  kRcptQueued,  // (user_id, device_id, chat key, reader, type) -> queue seq of a pending receipt
  kContacts,    // (owner user_id, contact user_id) -> "" (found by contact discovery)
  kProfiles,    // user_id -> ProfileRecord (status text, availability, privacy, last seen)
  kChatSenders, // (chat key, user_id) -> last chat seq the user sent in that chat
  kAssets,      // asset_id -> AssetRecord (media; server/asset_service.h)
  kAssetRefs,   // (asset_id, chat key) -> "" (chats the asset was sent in)
  kMemberships, // (user_id, group_id) -> "" (the groups a user is in; store/groups.h)
  kCount
};
const char* TableName(Table t);

class KvTxn {
 public:
  virtual ~KvTxn() = default;  // aborts if neither committed nor aborted

  // Value of `key`, nullopt when absent. Errors: kCorrupt/kInternal from the engine.
  virtual Result<std::optional<std::string>> Get(Table t, std::string_view key) = 0;
  // Errors: kNoSpace (map full: the txn is then unusable; abort it), kInvalidArgument
  // (read-only txn), engine errors.
  virtual Status Put(Table t, std::string_view key, std::string_view value) = 0;
  // Deleting an absent key is ok.
  virtual Status Del(Table t, std::string_view key) = 0;
  // Visits keys >= `start` in ascending order until `fn` returns false or the table ends.
  // `fn` must not modify the table being scanned.
  virtual Status Scan(Table t, std::string_view start,
                      const std::function<bool(std::string_view key, std::string_view value)>& fn) = 0;
  // Makes the writes durable (synced to disk) and ends the txn. Read txns just end.
  // Errors: kUnavailable (IO/fsync failure: sticky for the env), kNoSpace.
  virtual Status Commit() = 0;
  virtual void Abort() = 0;
};

struct KvStats {
  uint64_t map_size = 0;   // bytes reserved for the map
  uint64_t used_bytes = 0; // bytes in use (last page * page size)
  uint64_t entries[static_cast<size_t>(Table::kCount)] = {};
};

class KvEnv {
 public:
  virtual ~KvEnv() = default;
  // Errors: the sticky failure (write txns), engine errors.
  virtual Result<std::unique_ptr<KvTxn>> Begin(bool write) = 0;
  // Per-table entry counts and map usage. Errors: engine errors.
  virtual Result<KvStats> Stats() = 0;
  // Called with no txn open: grows the map if usage is high, so writes never hit MAP_FULL in
  // normal use. A no-op for engines without a map.
  virtual Status MaybeGrow() = 0;
};

}  // namespace tern::store
