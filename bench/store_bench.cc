// Micro-benchmarks of the Mailbox over both KvEnv backends (mem = MemEnv, lmdb = LmdbEnv in a
// temp dir, synced commits as in ternd).
//   BM_AppendCommit/<backend>/B  one write txn holding B sends (1, 16, 256), then Commit: per
//                                message NextMessageId + NextChatSeq + Append to one device
//                                queue (body, item, ref, expiry entry), like handle_send.cc.
//                                B models how many sends one loop turn's group commit carries.
//                                Once 1024 items are queued they are acked with timing paused.
//   BM_AckUpTo/<backend>/K       one write txn acking K queued items (AckUpTo drops item, ref,
//                                body, expiry entry), then Commit. The queue is refilled to
//                                at most 1024 items with timing paused.
// The store is kept that small on purpose: MemEnv's Commit copies every table it touched, so
// its cost grows with the table size, and an unbounded queue would make every figure depend
// on how many iterations the library happened to choose.
//   BM_ReadDrain/<backend>       a read txn draining a 1000-item queue with Read() in pages of
//                                256 items / 64 KiB, as the server's Pump does.
// Items/s counts messages; texts are 100 bytes. MaybeGrow() runs after every write txn, as at
// the end of every server turn, so the LMDB map grows as the queue does.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "store/kv.h"
#include "store/lmdb_env.h"
#include "store/mailbox.h"
#include "store/mem_env.h"

namespace tern::store {
namespace {

enum class Backend { kMem, kLmdb };

constexpr DeviceKey kSender{1, 1}, kReceiver{2, 1};
constexpr size_t kTextBytes = 100;
constexpr size_t kReadItems = 1000;
constexpr uint64_t kMaxQueued = 1024;

// A fresh env of `backend`; the LMDB one lives in a temp dir removed with it.
class BenchEnv {
 public:
  explicit BenchEnv(Backend backend) {
    if (backend == Backend::kMem) {
      env_ = NewMemEnv();
      return;
    }
    std::string tmpl = "/tmp/tern-store-bench-XXXXXX";
    if (const char* base = std::getenv("TMPDIR"); base != nullptr && *base != '\0') {
      tmpl = std::string(base) + "/tern-store-bench-XXXXXX";
    }
    if (::mkdtemp(tmpl.data()) == nullptr) {
      status_ = Status(Code::kUnavailable, "mkdtemp failed");
      return;
    }
    dir_ = tmpl;
    LmdbOptions o;
    o.dir = dir_ + "/db";
    auto env = OpenLmdbEnv(o);
    if (env.ok()) {
      env_ = std::move(env).value();
    } else {
      status_ = env.status();
    }
  }
  ~BenchEnv() {
    env_.reset();
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }
  const Status& status() const { return status_; }
  KvEnv& env() { return *env_; }

 private:
  std::string dir_;
  Status status_;
  std::unique_ptr<KvEnv> env_;
};

MessageRecord Record(uint64_t n) {
  MessageRecord m;
  m.chat = ChatKey::Direct(kSender.user_id, kReceiver.user_id);
  m.sender_user = kSender.user_id;
  m.sender_device = kSender.device_id;
  m.to_user = kReceiver.user_id;
  m.server_ts_ms = 1700000000000 + n;
  m.expire_at_ms = m.server_ts_ms + 30ull * 24 * 3600 * 1000;
  m.text = std::string(kTextBytes, static_cast<char>('a' + n % 26));
  return m;
}

// One write txn appending `count` messages to kReceiver's queue, committed.
Status AppendBatch(KvEnv& env, uint64_t count, uint64_t* n) {
  auto txn = env.Begin(true);
  if (!txn.ok()) return txn.status();
  Mailbox mb(*txn.value());
  const DeviceKey targets[] = {kReceiver};
  for (uint64_t i = 0; i < count; ++i) {
    MessageRecord m = Record((*n)++);
    auto id = mb.NextMessageId(1);
    if (!id.ok()) return id.status();
    m.msg_id = id.value();
    auto cs = mb.NextChatSeq(m.chat);
    if (!cs.ok()) return cs.status();
    m.chat_seq = cs.value();
    auto seqs = mb.Append(m, targets);
    if (!seqs.ok()) return seqs.status();
  }
  TERN_RETURN_IF_ERROR(txn.value()->Commit());
  return env.MaybeGrow();
}

// One write txn acking kReceiver's queue up to `seq`, committed.
Status AckBatch(KvEnv& env, uint64_t seq, uint64_t* removed) {
  auto txn = env.Begin(true);
  if (!txn.ok()) return txn.status();
  auto n = Mailbox(*txn.value()).AckUpTo(kReceiver, seq);
  if (!n.ok()) return n.status();
  *removed = n.value();
  TERN_RETURN_IF_ERROR(txn.value()->Commit());
  return env.MaybeGrow();
}

// An env with kReceiver's queue created, or the benchmark skipped.
std::unique_ptr<BenchEnv> Setup(benchmark::State& state, Backend backend) {
  auto b = std::make_unique<BenchEnv>(backend);
  Status st = b->status();
  if (st.ok()) {
    auto txn = b->env().Begin(true);
    if (!txn.ok()) {
      st = txn.status();
    } else if (auto q = Mailbox(*txn.value()).EnsureQueue(kReceiver, 7); !q.ok()) {
      st = q.status();
    } else {
      st = txn.value()->Commit();
    }
  }
  if (!st.ok()) {
    state.SkipWithError(st.ToString().c_str());
    return nullptr;
  }
  return b;
}

void BM_AppendCommit(benchmark::State& state, Backend backend) {
  auto b = Setup(state, backend);
  if (!b) return;
  const auto batch = static_cast<uint64_t>(state.range(0));
  uint64_t n = 0, acked = 0;
  for (auto _ : state) {
    Status st = AppendBatch(b->env(), batch, &n);
    if (st.ok() && n - acked >= kMaxQueued) {
      state.PauseTiming();
      uint64_t removed = 0;
      st = AckBatch(b->env(), n, &removed);
      acked = n;
      state.ResumeTiming();
    }
    if (!st.ok()) {
      state.SkipWithError(st.ToString().c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

void BM_AckUpTo(benchmark::State& state, Backend backend) {
  auto b = Setup(state, backend);
  if (!b) return;
  const auto k = static_cast<uint64_t>(state.range(0));
  uint64_t n = 0;       // messages appended so far (= last queue seq)
  uint64_t acked = 0;   // queue seq acked so far
  for (auto _ : state) {
    if (n - acked < k) {
      state.PauseTiming();
      Status st = AppendBatch(b->env(), kMaxQueued - (n - acked), &n);
      state.ResumeTiming();
      if (!st.ok()) {
        state.SkipWithError(st.ToString().c_str());
        break;
      }
    }
    uint64_t removed = 0;
    Status st = AckBatch(b->env(), acked + k, &removed);
    if (st.ok() && removed != k) st = Status(Code::kInternal, "AckUpTo removed a wrong count");
    if (!st.ok()) {
      state.SkipWithError(st.ToString().c_str());
      break;
    }
    acked += k;
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

void BM_ReadDrain(benchmark::State& state, Backend backend) {
  auto b = Setup(state, backend);
  if (!b) return;
  uint64_t n = 0;
  if (Status st = AppendBatch(b->env(), kReadItems, &n); !st.ok()) {
    state.SkipWithError(st.ToString().c_str());
    return;
  }
  for (auto _ : state) {
    auto txn = b->env().Begin(false);
    if (!txn.ok()) {
      state.SkipWithError(txn.status().ToString().c_str());
      break;
    }
    Mailbox mb(*txn.value());
    uint64_t after = 0, got = 0;
    while (true) {
      auto page = mb.Read(kReceiver, after, 256, 64 << 10);
      if (!page.ok()) {
        state.SkipWithError(page.status().ToString().c_str());
        break;
      }
      if (page->empty()) break;
      got += page->size();
      after = page->back().seq;
      benchmark::DoNotOptimize(page->data());
    }
    txn.value()->Abort();
    if (got != kReadItems) {
      state.SkipWithError("drain returned a wrong count");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kReadItems));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(kReadItems * kTextBytes));
}

BENCHMARK_CAPTURE(BM_AppendCommit, mem, Backend::kMem)
    ->ArgName("batch")->Arg(1)->Arg(16)->Arg(256)->MinTime(0.2);
BENCHMARK_CAPTURE(BM_AppendCommit, lmdb, Backend::kLmdb)
    ->ArgName("batch")->Arg(1)->Arg(16)->Arg(256)->MinTime(0.2)->UseRealTime();
BENCHMARK_CAPTURE(BM_AckUpTo, mem, Backend::kMem)
    ->ArgName("items")->Arg(1)->Arg(16)->Arg(256)->MinTime(0.2);
BENCHMARK_CAPTURE(BM_AckUpTo, lmdb, Backend::kLmdb)
    ->ArgName("items")->Arg(1)->Arg(16)->Arg(256)->MinTime(0.2)->UseRealTime();
BENCHMARK_CAPTURE(BM_ReadDrain, mem, Backend::kMem)->MinTime(0.2);
BENCHMARK_CAPTURE(BM_ReadDrain, lmdb, Backend::kLmdb)->MinTime(0.2);

}  // namespace
}  // namespace tern::store
