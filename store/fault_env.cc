// FaultEnv: a KvEnv wrapper whose txns count write-path operations and fail the chosen ones
// (leveldb's fault-injection env; CONVENTIONS rule 11).
#include "store/fault_env.h"

#include <utility>

namespace tern::store {
namespace {

class FaultTxn : public KvTxn {
 public:
  FaultTxn(FaultEnv* env, std::unique_ptr<KvTxn> base, bool write)
      : env_(env), base_(std::move(base)), write_(write) {}
  // base_'s destructor aborts it if it is still open.

  Result<std::optional<std::string>> Get(Table t, std::string_view key) override {
    return base_->Get(t, key);
  }

  Status Put(Table t, std::string_view key, std::string_view value) override {
    // Writes on a read txn are not counted: the base refuses them anyway.
    if (write_) TERN_RETURN_IF_ERROR(env_->CountOp(false));
    return base_->Put(t, key, value);
  }

  Status Del(Table t, std::string_view key) override {
    if (write_) TERN_RETURN_IF_ERROR(env_->CountOp(false));
    return base_->Del(t, key);
  }

  Status Scan(Table t, std::string_view start,
              const std::function<bool(std::string_view, std::string_view)>& fn) override {
    return base_->Scan(t, start, fn);
  }

  Status Commit() override {
    if (write_) {
      Status s = env_->CountOp(true);
      if (!s.ok()) {
        base_->Abort();  // as a failed fsync would leave it: nothing of this txn is durable
        return s;
      }
    }
    return base_->Commit();
  }

  void Abort() override { base_->Abort(); }

 private:
  FaultEnv* env_;
  std::unique_ptr<KvTxn> base_;
  const bool write_;
};

}  // namespace

FaultEnv::FaultEnv(std::unique_ptr<KvEnv> base) : base_(std::move(base)) {}

void FaultEnv::FailOpAt(uint64_t n, Status failure) {
  std::lock_guard<std::mutex> lock(mu_);
  failure_ = std::move(failure);
  fail_at_ = n;
}

void FaultEnv::FailCommits(bool on, bool sticky) {
  sticky_ = sticky;
  fail_commits_ = on;
}

void FaultEnv::Heal() {
  std::lock_guard<std::mutex> lock(mu_);
  sticky_error_ = Status::Ok();
}

Status FaultEnv::CountOp(bool is_commit) {
  const uint64_t n = ++ops_;
  const uint64_t at = fail_at_.load();
  const bool fail = (at != 0 && n == at) || (is_commit && fail_commits_.load());
  if (!fail) return Status::Ok();
  std::lock_guard<std::mutex> lock(mu_);
  if (is_commit && sticky_.load() && sticky_error_.ok()) sticky_error_ = failure_;
  return failure_;
}

Result<std::unique_ptr<KvTxn>> FaultEnv::Begin(bool write) {
  if (write) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!sticky_error_.ok()) return sticky_error_;
    }
    TERN_RETURN_IF_ERROR(CountOp(false));
  }
  auto base = base_->Begin(write);
  if (!base.ok()) return base.status();
  return std::unique_ptr<KvTxn>(new FaultTxn(this, std::move(base).value(), write));
}

}  // namespace tern::store
