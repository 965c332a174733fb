#include "server/commit_fault_env.h"

namespace tern::server {
namespace {

class Txn : public store::KvTxn {
 public:
  Txn(std::unique_ptr<store::KvTxn> base, uint64_t* left, bool write) : base_(std::move(base)), left_(left), write_(write) {}
  Result<std::optional<std::string>> Get(store::Table t, std::string_view k) override { return base_->Get(t, k); }
  Status Put(store::Table t, std::string_view k, std::string_view v) override { return base_->Put(t, k, v); }
  Status Del(store::Table t, std::string_view k) override { return base_->Del(t, k); }
  Status Scan(store::Table t, std::string_view start,
              const std::function<bool(std::string_view, std::string_view)>& fn) override {
    return base_->Scan(t, start, fn);
  }
  Status Commit() override {
    if (write_) {
      if (*left_ == 0) {
        base_->Abort();
        return Status(Code::kUnavailable, "injected commit failure (--test-fail-commits-after)");
      }
      --*left_;
    }
    return base_->Commit();
  }
  void Abort() override { base_->Abort(); }

 private:
  std::unique_ptr<store::KvTxn> base_;
  uint64_t* left_;
  bool write_;
};

class Env : public store::KvEnv {
 public:
  Env(std::unique_ptr<store::KvEnv> base, uint64_t ok) : base_(std::move(base)), left_(ok) {}
  Result<std::unique_ptr<store::KvTxn>> Begin(bool write) override {
    auto t = base_->Begin(write);
    if (!t.ok()) return t.status();
    return std::unique_ptr<store::KvTxn>(std::make_unique<Txn>(std::move(t.value()), &left_, write));
  }
  Result<store::KvStats> Stats() override { return base_->Stats(); }
  Status MaybeGrow() override { return base_->MaybeGrow(); }

 private:
  std::unique_ptr<store::KvEnv> base_;
  uint64_t left_;
};

}  // namespace

std::unique_ptr<store::KvEnv> WrapCommitFault(std::unique_ptr<store::KvEnv> base, uint64_t ok_commits) {
  return std::make_unique<Env>(std::move(base), ok_commits);
}

}  // namespace tern::server
