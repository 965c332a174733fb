// FaultEnv: wraps a KvEnv, counts operations, and fails the ones a test chooses
// (CONVENTIONS rule 11: run a scenario once to count its N operations, then rerun it failing
// operation i on run i).
//
// Operations counted, in call order: Begin(write), Put, Del, Commit (of write txns). Reads are
// not counted. A failing Put/Del returns `failure` and leaves the txn usable (the caller is
// expected to abort). A failing Commit aborts the underlying txn and returns `failure`;
// like a real env the failure is then sticky: later write Begins fail with it, unless
// `sticky` is false.
//
// Thread safety: as the wrapped env; the counters are atomic.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "store/kv.h"

namespace tern::store {

class FaultEnv : public KvEnv {
 public:
  explicit FaultEnv(std::unique_ptr<KvEnv> base);

  // Fail the op with 1-based index `n` (counted from now on, see above); 0 disables.
  void FailOpAt(uint64_t n, Status failure = Status(Code::kUnavailable, "injected fault"));
  // Fail every Commit from now on (not sticky if `sticky` is false).
  void FailCommits(bool on, bool sticky = true);
  // Clears the sticky failure (as reopening would).
  void Heal();
  uint64_t ops() const { return ops_.load(); }
  void ResetCount() { ops_ = 0; }

  Result<std::unique_ptr<KvTxn>> Begin(bool write) override;
  Result<KvStats> Stats() override { return base_->Stats(); }
  Status MaybeGrow() override { return base_->MaybeGrow(); }

  // Internal: called by the txn wrapper. Returns the failure if op counts to the chosen one.
  Status CountOp(bool is_commit);

 private:
  std::unique_ptr<KvEnv> base_;
  std::atomic<uint64_t> ops_{0};
  std::atomic<uint64_t> fail_at_{0};
  std::atomic<bool> fail_commits_{false};
  std::atomic<bool> sticky_{true};
  std::mutex mu_;  // guards failure_ and sticky_error_
  Status failure_{Code::kUnavailable, "injected fault"};
  Status sticky_error_;
};

}  // namespace tern::store
