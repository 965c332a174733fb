#include "tools/client/history_kv.h"

namespace tern::tools {
namespace {

using Map = std::map<std::string, std::string, std::less<>>;

class MemTxn : public HistoryTxn {
 public:
  MemTxn(Map* map, bool write) : map_(map), write_(write) {}
  Result<std::optional<std::string>> Get(std::string_view key) override {
    auto it = map_->find(key);
    if (it == map_->end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }
  Status Put(std::string_view key, std::string_view value) override {
    if (!write_) return Status(Code::kInternal, "write in a read txn");
    (*map_)[std::string(key)] = std::string(value);
    return Status::Ok();
  }
  Status Del(std::string_view key) override {
    if (!write_) return Status(Code::kInternal, "write in a read txn");
    auto it = map_->find(key);
    if (it != map_->end()) map_->erase(it);
    return Status::Ok();
  }
  Status Scan(std::string_view from, std::string_view to, bool reverse, const ScanFn& fn) override {
    auto lo = map_->lower_bound(from);
    auto hi = to.empty() ? map_->end() : map_->lower_bound(to);
    if (!reverse) {
      for (auto it = lo; it != hi; ++it)
        if (!fn(it->first, it->second)) break;
    } else {
      for (auto it = hi; it != lo;) {
        --it;
        if (!fn(it->first, it->second)) break;
      }
    }
    return Status::Ok();
  }

 private:
  Map* map_;
  bool write_;
};

}  // namespace

Status MemHistoryKv::Read(const TxnFn& fn) {
  MemTxn txn(&data_, false);
  return fn(txn);
}

Status MemHistoryKv::Write(const TxnFn& fn) {
  if (fail_writes_ > 0) {
    --fail_writes_;
    return Status(Code::kUnavailable, "injected write failure");
  }
  Map copy = data_;
  MemTxn txn(&copy, true);
  TERN_RETURN_IF_ERROR(fn(txn));
  data_.swap(copy);
  return Status::Ok();
}

}  // namespace tern::tools
