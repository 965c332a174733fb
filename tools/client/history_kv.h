// HistoryKv: the ordered key-value storage under a device's local chat history
// (tools/client/history.h). All history logic lives in History; a backend only stores sorted
// byte strings and runs transactions, so the same logic runs on disk (LmdbHistoryKv,
// tools/client/lmdb_history_kv.h) and in memory (MemHistoryKv below: ClientCore unit tests,
// no disk).
//
// Contract for backends:
//  * Read(fn) runs fn on a consistent snapshot; Write(fn) runs fn and commits every change it
//    made atomically and durably when fn returns ok, and discards all of them when fn returns
//    an error (nothing half-written). Write may run fn more than once (e.g. after growing a
//    full LMDB map), so fn must have no effects outside the txn until Write returns.
//  * Keys compare as unsigned bytes (memcmp order).
//  * Errors: kUnavailable / kNoSpace (IO, disk full), kCorrupt; plus whatever fn returns.
//
// Thread safety: one owner; no concurrent calls on one backend object.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "wire/status.h"

namespace tern::tools {

class HistoryTxn {
 public:
  virtual ~HistoryTxn() = default;
  virtual Result<std::optional<std::string>> Get(std::string_view key) = 0;
  // Writes are refused (kInternal) in a Read txn.
  virtual Status Put(std::string_view key, std::string_view value) = 0;
  virtual Status Del(std::string_view key) = 0;  // absent is ok
  // Calls fn(key, value) for every key in [from, to) (to empty = no upper bound), ascending, or
  // descending when `reverse`, until fn returns false. The views die when fn returns.
  using ScanFn = std::function<bool(std::string_view key, std::string_view value)>;
  virtual Status Scan(std::string_view from, std::string_view to, bool reverse, const ScanFn& fn) = 0;
};

class HistoryKv {
 public:
  virtual ~HistoryKv() = default;
  using TxnFn = std::function<Status(HistoryTxn&)>;
  virtual Status Read(const TxnFn& fn) = 0;
  virtual Status Write(const TxnFn& fn) = 0;
};

// In memory: a std::map; Write works on a copy and swaps it in on success (O(size) per write,
// fine for tests and small fakes).
class MemHistoryKv : public HistoryKv {
 public:
  Status Read(const TxnFn& fn) override;
  Status Write(const TxnFn& fn) override;
  size_t size() const { return data_.size(); }
  // Testing: the next `n` Write calls fail with kUnavailable before running fn.
  void FailNextWrites(int n) { fail_writes_ = n; }

 private:
  std::map<std::string, std::string, std::less<>> data_;
  int fail_writes_ = 0;
};

}  // namespace tern::tools
