// MemEnv: committed state is an array of immutable, shared table maps. A read txn keeps the
// array it saw at Begin (a snapshot that costs a few refcounts, no copy). A write txn stages its
// puts and deletes in a per-table overlay; Commit copies only the tables it touched, applies the
// overlay and publishes the new array in one step under the mutex, so commits are atomic and
// never disturb open snapshots.
#include "store/mem_env.h"

#include <array>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>

namespace tern::store {
namespace {

constexpr size_t kTables = static_cast<size_t>(Table::kCount);
using TableMap = std::map<std::string, std::string, std::less<>>;
using Overlay = std::map<std::string, std::optional<std::string>, std::less<>>;  // nullopt = del
using Snapshot = std::array<std::shared_ptr<const TableMap>, kTables>;

// LMDB's key limit, enforced here too so code tested on MemEnv never writes keys LmdbEnv refuses.
constexpr size_t kMaxKeyBytes = 511;

Status Ended() { return Status(Code::kInvalidArgument, "transaction already ended"); }

class MemEnv;

class MemTxn : public KvTxn {
 public:
  MemTxn(MemEnv* env, Snapshot snap, bool write) : env_(env), snap_(std::move(snap)), write_(write) {}
  ~MemTxn() override { Abort(); }

  Result<std::optional<std::string>> Get(Table t, std::string_view key) override;
  Status Put(Table t, std::string_view key, std::string_view value) override;
  Status Del(Table t, std::string_view key) override;
  Status Scan(Table t, std::string_view start,
              const std::function<bool(std::string_view, std::string_view)>& fn) override;
  Status Commit() override;
  void Abort() override;

 private:
  MemEnv* env_;
  Snapshot snap_;
  bool write_;
  bool done_ = false;
  std::array<Overlay, kTables> overlay_;
};

class MemEnv : public KvEnv {
 public:
  MemEnv() {
    for (auto& t : state_) t = std::make_shared<const TableMap>();
  }

  Result<std::unique_ptr<KvTxn>> Begin(bool write) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (write) {
      if (writer_open_) std::abort();  // one writer at a time (kv.h): a caller bug
      writer_open_ = true;
    }
    return std::unique_ptr<KvTxn>(new MemTxn(this, state_, write));
  }

  Result<KvStats> Stats() override {
    std::lock_guard<std::mutex> lock(mu_);
    KvStats s;
    for (size_t i = 0; i < kTables; ++i) s.entries[i] = state_[i]->size();
    return s;
  }

  Status MaybeGrow() override { return Status::Ok(); }

  // Applies a write txn's overlay and ends it.
  void Publish(std::array<Overlay, kTables>& overlay) {
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t i = 0; i < kTables; ++i) {
      if (overlay[i].empty()) continue;
      auto next = std::make_shared<TableMap>(*state_[i]);
      for (auto& [k, v] : overlay[i]) {
        if (v) {
          (*next)[k] = std::move(*v);
        } else {
          next->erase(k);
        }
      }
      state_[i] = std::move(next);
    }
    writer_open_ = false;
  }

  void EndWrite() {
    std::lock_guard<std::mutex> lock(mu_);
    writer_open_ = false;
  }

 private:
  std::mutex mu_;
  Snapshot state_;
  bool writer_open_ = false;
};

Result<std::optional<std::string>> MemTxn::Get(Table t, std::string_view key) {
  if (done_) return Ended();
  const size_t i = static_cast<size_t>(t);
  if (auto it = overlay_[i].find(key); it != overlay_[i].end()) return it->second;
  if (auto it = snap_[i]->find(key); it != snap_[i]->end()) {
    return std::optional<std::string>(it->second);
  }
  return std::optional<std::string>();
}

Status MemTxn::Put(Table t, std::string_view key, std::string_view value) {
  if (done_) return Ended();
  if (!write_) return Status(Code::kInvalidArgument, "put in a read-only transaction");
  if (key.empty() || key.size() > kMaxKeyBytes) {
    return Status(Code::kInvalidArgument, "key size " + std::to_string(key.size()) + " outside 1..511");
  }
  overlay_[static_cast<size_t>(t)].insert_or_assign(std::string(key), std::string(value));
  return Status::Ok();
}

Status MemTxn::Del(Table t, std::string_view key) {
  if (done_) return Ended();
  if (!write_) return Status(Code::kInvalidArgument, "delete in a read-only transaction");
  overlay_[static_cast<size_t>(t)].insert_or_assign(std::string(key), std::nullopt);
  return Status::Ok();
}

// Merges the snapshot and the overlay in key order; on equal keys the overlay wins, and
// overlay deletions hide snapshot entries (read-your-writes).
Status MemTxn::Scan(Table t, std::string_view start,
                    const std::function<bool(std::string_view, std::string_view)>& fn) {
  if (done_) return Ended();
  const size_t i = static_cast<size_t>(t);
  const TableMap& base = *snap_[i];
  const Overlay& over = overlay_[i];
  auto b = base.lower_bound(start);
  auto o = over.lower_bound(start);
  while (b != base.end() || o != over.end()) {
    const bool take_over = o != over.end() && (b == base.end() || o->first <= b->first);
    if (take_over) {
      if (b != base.end() && b->first == o->first) ++b;
      const auto& entry = *o++;
      if (entry.second && !fn(entry.first, *entry.second)) break;
    } else {
      const auto& entry = *b++;
      if (!fn(entry.first, entry.second)) break;
    }
  }
  return Status::Ok();
}

Status MemTxn::Commit() {
  if (done_) return Ended();
  done_ = true;
  if (write_) env_->Publish(overlay_);
  snap_ = {};
  return Status::Ok();
}

void MemTxn::Abort() {
  if (done_) return;
  done_ = true;
  if (write_) env_->EndWrite();
  snap_ = {};
}

}  // namespace

std::unique_ptr<KvEnv> NewMemEnv() { return std::make_unique<MemEnv>(); }

}  // namespace tern::store
