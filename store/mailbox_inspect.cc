// Mailbox::QueueSummaries: the read-only view tern-admin prints (queue depth per device and the
// age of the oldest undelivered item). Kept apart from the data path in mailbox.cc.
#include <vector>

#include "store/codec.h"
#include "store/mailbox.h"
#include "store/mailbox_records.h"

namespace tern::store {

using namespace mailbox_internal;  // NOLINT(google-build-using-namespace): store-internal

Result<std::vector<QueueSummary>> Mailbox::QueueSummaries() {
  std::vector<QueueSummary> out;
  Status bad;
  TERN_RETURN_IF_ERROR(txn_.Scan(Table::kQueueMeta, "", [&](std::string_view key, std::string_view value) {
    if (key.size() != kDeviceKeyBytes) {
      bad = Status(Code::kCorrupt, "queue meta key of " + std::to_string(key.size()) + " bytes");
      return false;
    }
    QueueMeta m;
    bad = DecodeMeta(value, &m);
    if (!bad.ok()) return false;
    if (m.count == 0) return true;
    QueueSummary q;
    q.device = DeviceKey{codec::LoadBE64(key.data()), codec::LoadBE32(key.data() + 8)};
    q.depth = m.count;
    out.push_back(q);
    return true;
  }));
  TERN_RETURN_IF_ERROR(bad);
  // The first item of each queue is its oldest (seqs only grow within a device's range).
  for (QueueSummary& q : out) {
    const std::string prefix = DevicePrefix(q.device);
    QueueItem item;
    bool found = false;
    TERN_RETURN_IF_ERROR(txn_.Scan(Table::kQueue, prefix, [&](std::string_view key, std::string_view value) {
      if (key.substr(0, prefix.size()) != prefix) return false;
      bad = DecodeItem(value, &item);
      found = bad.ok();
      return false;
    }));
    TERN_RETURN_IF_ERROR(bad);
    if (!found) continue;
    if (HoldsBody(item.kind)) {
      auto msg = LoadMessage(txn_, item.msg_id);
      if (!msg.ok()) return msg.status();
      if (msg.value()) q.oldest_ts_ms = msg.value()->server_ts_ms;
    } else {
      q.oldest_ts_ms = item.server_ts_ms;
    }
  }
  return out;
}

}  // namespace tern::store
