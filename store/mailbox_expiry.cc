// Mailbox expiry: the incremental sweeper's storage half (DESIGN §2.9). The kExpiry index is
// ordered by deadline, so one sweep reads only what is due; kRefs, keyed by msg_id first,
// names every device still holding a due message.
#include <algorithm>

#include "store/codec.h"
#include "store/mailbox.h"
#include "store/mailbox_records.h"

namespace tern::store {

using namespace mailbox_internal;  // NOLINT(google-build-using-namespace): store-internal

namespace {

struct Holder {
  DeviceKey device;
  uint64_t seq = 0;
};

Result<std::vector<Holder>> Holders(KvTxn& txn, uint64_t msg_id) {
  const std::string prefix = codec::BE64(msg_id);
  std::vector<Holder> out;
  Status error;
  TERN_RETURN_IF_ERROR(txn.Scan(Table::kRefs, prefix, [&](std::string_view k, std::string_view v) {
    if (!k.starts_with(prefix)) return false;
    if (k.size() != kRefKeyBytes) {
      error = Status(Code::kCorrupt, "ref key of " + std::to_string(k.size()) + " bytes");
      return false;
    }
    auto seq = codec::ParseBE64(v, "ref");
    if (!seq.ok()) {
      error = seq.status();
      return false;
    }
    out.push_back(Holder{{codec::LoadBE64(k.data() + 8), codec::LoadBE32(k.data() + 16)},
                         seq.value()});
    return true;
  }));
  TERN_RETURN_IF_ERROR(error);
  return out;
}

}  // namespace

Result<Mailbox::ExpiryOutcome> Mailbox::Expire(
    uint64_t now_ms, size_t budget,
    const std::function<std::vector<DeviceKey>(uint64_t user_id)>& sender_devices) {
  ExpiryOutcome out;
  std::vector<std::pair<uint64_t, uint64_t>> due;  // (expire_at, msg_id)
  Status error;
  if (budget > 0) {
    TERN_RETURN_IF_ERROR(txn_.Scan(Table::kExpiry, "", [&](std::string_view k, std::string_view) {
      if (k.size() != kExpiryKeyBytes) {
        error = Status(Code::kCorrupt, "expiry key of " + std::to_string(k.size()) + " bytes");
        return false;
      }
      const uint64_t at = codec::LoadBE64(k.data());
      if (at > now_ms) return false;
      due.emplace_back(at, codec::LoadBE64(k.data() + 8));
      return due.size() < budget;
    }));
    TERN_RETURN_IF_ERROR(error);
  }

  for (const auto& [at, msg_id] : due) {
    auto body = LoadMessage(txn_, msg_id);
    if (!body.ok()) return body.status();
    if (!body.value()) {
      // An index entry outliving its body is harmless: drop it, nothing to tell anyone.
      TERN_RETURN_IF_ERROR(txn_.Del(Table::kExpiry, ExpiryKey(at, msg_id)));
      continue;
    }
    const MessageRecord& msg = *body.value();
    auto holders = Holders(txn_, msg_id);
    if (!holders.ok()) return holders.status();
    for (const Holder& h : holders.value()) {
      // Replace the item with a kMissed notice: the item leaves, the notice arrives.
      auto item = txn_.Get(Table::kQueue, QueueKey(h.device, h.seq));
      if (!item.ok()) return item.status();
      TERN_RETURN_IF_ERROR(txn_.Del(Table::kQueue, QueueKey(h.device, h.seq)));
      TERN_RETURN_IF_ERROR(txn_.Del(Table::kRefs, RefKey(msg_id, h.device)));
      auto meta = LoadMeta(txn_, h.device);
      if (!meta.ok()) return meta.status();
      if (!meta.value()) {
        return Status(Code::kCorrupt, "message " + std::to_string(msg_id) +
                                          " held by a device without a queue");
      }
      if (item.value() && meta.value()->count > 0) {
        QueueMeta m = *meta.value();
        --m.count;
        TERN_RETURN_IF_ERROR(StoreMeta(txn_, h.device, m));
      }
      auto notice = AppendNotice(h.device, QueueItemKind::kMissed, msg);
      if (!notice.ok()) return notice.status();
      out.touched.push_back(h.device);
    }
    if (!holders.value().empty() && sender_devices) {
      for (const DeviceKey& d : sender_devices(msg.sender_user)) {
        auto meta = LoadMeta(txn_, d);
        if (!meta.ok()) return meta.status();
        if (!meta.value()) continue;  // a device without a queue (unlinked) cannot be told
        auto notice = AppendNotice(d, QueueItemKind::kExpired, msg);
        if (!notice.ok()) return notice.status();
        out.touched.push_back(d);
      }
    }
    TERN_RETURN_IF_ERROR(txn_.Del(Table::kMsgs, MsgKey(msg_id)));
    TERN_RETURN_IF_ERROR(txn_.Del(Table::kExpiry, ExpiryKey(at, msg_id)));
    ++out.expired;
  }
  std::sort(out.touched.begin(), out.touched.end());
  out.touched.erase(std::unique(out.touched.begin(), out.touched.end()), out.touched.end());
  return out;
}

}  // namespace tern::store
