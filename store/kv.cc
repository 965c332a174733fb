#include "store/kv.h"

#include <cstdlib>

namespace tern::store {

// These names are the LMDB database names on disk: never rename one.
const char* TableName(Table t) {
  switch (t) {
    case Table::kMeta: return "meta";
    case Table::kUsers: return "users";
    case Table::kPhones: return "phones";
    case Table::kDevices: return "devices";
    case Table::kOtps: return "otps";
    case Table::kLinks: return "links";
    case Table::kChats: return "chats";
    case Table::kMsgs: return "msgs";
    case Table::kQueue: return "queue";
    case Table::kQueueMeta: return "queue_meta";
    case Table::kRefs: return "refs";
    case Table::kDedupe: return "dedupe";
    case Table::kExpiry: return "expiry";
    case Table::kGroups: return "groups";
    case Table::kReceipts: return "receipts";
    case Table::kRcptQueued: return "rcpt_queued";
    case Table::kContacts: return "contacts";
    case Table::kProfiles: return "profiles";
    case Table::kChatSenders: return "chat_senders";
    case Table::kAssets: return "assets";
    case Table::kAssetRefs: return "asset_refs";
    case Table::kMemberships: return "memberships";
    case Table::kCount: break;
  }
  std::abort();  // not a table: an invariant violation, never a Status
}

}  // namespace tern::store
