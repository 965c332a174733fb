// Internals shared by the workload files (tools/loadgen/workloads_*.cc): the delivery checker,
// registration in parallel, the sender and receiver loops, a thread pool loop and percentiles.
//
// Thread safety: an Inbox belongs to its endpoint's thread; Population is built by one call
// and then read-only except for its endpoints (one thread each).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tools/loadgen/backend.h"
#include "tools/loadgen/workloads.h"

namespace tern::loadgen {

// What one recipient device received. Texts from each sender must come with n = 0, 1, 2, ...
class Inbox {
 public:
  void On(std::string_view text);
  // Messages from `from` received in order (counted once each).
  uint64_t count_from(uint32_t from) const;
  uint64_t received = 0;    // every text, duplicates included
  uint64_t duplicates = 0;  // n below the next expected one
  uint64_t reordered = 0;   // n above the next expected one (a gap, maybe filled later)
  uint64_t foreign = 0;     // not a loadgen text
  int64_t last_ns = 0;      // when the last text arrived
  std::vector<int64_t> latency_ns;  // arrival - t_ns, per text (when record_latency)
  bool record_latency = true;

 private:
  std::unordered_map<uint32_t, uint64_t> next_;  // sender -> next expected n
};

// Sums the checks of many inboxes against what the senders had acknowledged.
struct Tally {
  uint64_t expected = 0, delivered = 0, duplicates = 0, reordered = 0, foreign = 0, missing = 0;
  // `acked` messages from `from` were acknowledged for this inbox's user.
  void Check(const Inbox& inbox, uint32_t from, uint64_t acked);
  void AddCounts(const Inbox& inbox);  // duplicates, reordered, foreign, received
  bool ok() const { return duplicates == 0 && reordered == 0 && foreign == 0 && missing == 0; }
  std::string Text() const;
  void Into(Report& r) const;
};

// Registered users with their devices, an Inbox per device.
struct Device {
  uint32_t user = 0;
  std::unique_ptr<Endpoint> ep;
  Inbox inbox;
};
struct Population {
  std::vector<std::unique_ptr<Device>> devices;  // user-major: user u's devices together
  std::vector<size_t> first;                     // user -> index of its device 0
  Device& dev(uint32_t user, uint32_t d = 0) { return *devices[first[user] + d]; }
};
// Registers users [0, users) with devices_of(user) devices each, on `threads` threads.
// Errors: the first registration error.
Status RegisterAll(Backend& b, uint32_t users, const std::function<uint32_t(uint32_t)>& devices_of,
                   uint32_t threads, Population* pop);

// Runs fn(i) for i in [0, n) on `threads` threads. Returns the first non-ok Status.
Status ParallelFor(size_t n, size_t threads, const std::function<Status(size_t)>& fn);

// Sorted-in-place nearest-rank percentile in ms (p in [0, 100]); 0 when empty.
double PercentileMs(std::vector<int64_t>& v, double p);  // sorts v
void AddLatencyFigures(Report& r, std::vector<int64_t>& lat_ns, bool headline_p99);

// Sends the next text of `from` to `to` (n = next, stamped now). Returns the Send status.
Status SendNext(Endpoint& ep, uint32_t from, uint32_t to, uint64_t n, size_t bytes);

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kTailNs = 60 * kSec;  // bound on waiting for the last acks and deliveries

// Polls until every send was answered. Errors: the connection ended, kTimeout.
Status WaitAcks(Endpoint& ep, int64_t deadline);
// Sends j = 0, 1, ... (send_one(j) writes send j) while below `count` and the deadline, with
// at most `window` unanswered; then waits for every answer (up to kTailNs longer). Errors:
// the first failed send or poll, kTimeout, kInternal when the server refused any.
Status SenderLoop(Endpoint& ep, uint64_t count, int64_t deadline, uint32_t window,
                  const std::function<Status(uint64_t)>& send_one);
// Polls until done() or the deadline. Errors: the connection ended, kTimeout.
Status ReceiveLoop(Endpoint& ep, const std::function<bool()>& done, int64_t deadline);

// What a sender thread publishes for the receivers once it is finished.
struct SenderState {
  std::atomic<bool> done{false};
  std::atomic<uint64_t> acked{0};
};

// Keeps the first error of many threads in *first (under mu), prefixed with `who`.
void KeepFirstError(std::mutex& mu, Status* first, const Status& st, const std::string& who);

// The fanout workload (workloads_fanout.cc).
Report Fanout(Backend& b, const WorkloadOptions& o);

// CPU of the server and of this process over a phase.
class CpuPair {
 public:
  explicit CpuPair(pid_t server);
  void Start();
  void Stop(Report& r);  // adds server_cpu_pct and loadgen_cpu_pct

 private:
  pid_t server_;
  int64_t t0_ = 0;
  uint64_t s0_ = 0, l0_ = 0;
};

}  // namespace tern::loadgen
