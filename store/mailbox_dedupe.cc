// Mailbox send dedupe: (device, client_seq) -> SendResult, replayed when a client retransmits.
#include <limits>

#include "store/mailbox.h"
#include "store/mailbox_records.h"

namespace tern::store {

using namespace mailbox_internal;  // NOLINT(google-build-using-namespace): store-internal

Result<std::optional<SendResult>> Mailbox::GetSendResult(DeviceKey d, uint64_t client_seq) {
  auto raw = txn_.Get(Table::kDedupe, DedupeKey(d, client_seq));
  if (!raw.ok()) return raw.status();
  if (!raw.value()) return std::optional<SendResult>();
  SendResult r;
  TERN_RETURN_IF_ERROR(DecodeSendResult(*raw.value(), &r));
  return std::optional<SendResult>(r);
}

Status Mailbox::PutSendResult(DeviceKey d, uint64_t client_seq, const SendResult& r) {
  return txn_.Put(Table::kDedupe, DedupeKey(d, client_seq), EncodeSendResult(r));
}

Status Mailbox::PruneSendResults(DeviceKey d, uint64_t up_to) {
  const std::string prefix = DevicePrefix(d);
  std::vector<std::string> doomed;
  TERN_RETURN_IF_ERROR(txn_.Scan(Table::kDedupe, prefix, [&](std::string_view k, std::string_view) {
    if (!k.starts_with(prefix) || k.size() != kDedupeKeyBytes || TrailingSeq(k) > up_to) {
      return false;
    }
    doomed.emplace_back(k);
    return true;
  }));
  for (const std::string& k : doomed) TERN_RETURN_IF_ERROR(txn_.Del(Table::kDedupe, k));
  return Status::Ok();
}

Result<std::vector<std::pair<uint64_t, SendResult>>> Mailbox::SendResultsAfter(DeviceKey d,
                                                                               uint64_t after,
                                                                               size_t max_items) {
  std::vector<std::pair<uint64_t, SendResult>> out;
  if (max_items == 0 || after == std::numeric_limits<uint64_t>::max()) return out;
  const std::string prefix = DevicePrefix(d);
  Status error;
  TERN_RETURN_IF_ERROR(txn_.Scan(Table::kDedupe, DedupeKey(d, after + 1),
                                 [&](std::string_view k, std::string_view v) {
    if (!k.starts_with(prefix) || k.size() != kDedupeKeyBytes) return false;
    SendResult r;
    if (!(error = DecodeSendResult(v, &r)).ok()) return false;
    out.emplace_back(TrailingSeq(k), r);
    return out.size() < max_items;
  }));
  TERN_RETURN_IF_ERROR(error);
  return out;
}

}  // namespace tern::store
