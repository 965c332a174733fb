// Process helpers for tern-loadgen: spawning a server (ternd, mosquitto) as a child, reading
// its CPU time and resident memory from /proc, and a few OS odds and ends (free loopback port,
// open file limit, monotonic clock).
//
// Every wait is bounded. A ChildProcess still running when destroyed is killed with SIGKILL
// and reaped, so a failed benchmark never leaves a server behind.
//
// Thread safety: a ChildProcess belongs to one thread. The free functions are thread-safe.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "wire/status.h"

namespace tern::loadgen {

// Monotonic clock in nanoseconds (CLOCK_MONOTONIC: comparable across threads of one machine).
int64_t NowNs();

// utime + stime of a process in clock ticks (/proc/PID/stat); 0 when unreadable.
uint64_t CpuTicks(pid_t pid);
// Clock ticks per second (sysconf(_SC_CLK_TCK)).
double TicksPerSecond();
// VmRSS of a process in bytes (/proc/PID/status); 0 when unreadable.
uint64_t RssBytes(pid_t pid);

// CPU use of one process over an interval, as a percentage of one core.
class CpuMeter {
 public:
  explicit CpuMeter(pid_t pid) : pid_(pid) {}
  void Start();
  // Percentage of one core since Start() (200 = both cores of a 2-core machine).
  double StopPercent() const;

 private:
  pid_t pid_;
  uint64_t ticks0_ = 0;
  int64_t t0_ns_ = 0;
};

// A loopback TCP port that was free a moment ago (bind to port 0, read it, close).
// Errors: kUnavailable.
Result<uint16_t> FreeLoopbackPort();

// Raises RLIMIT_NOFILE's soft limit to the hard limit; returns the new soft limit.
uint64_t RaiseFileLimit();

// Polls until a TCP connect to 127.0.0.1:port succeeds or timeout_ms passes.
// Errors: kTimeout.
Status WaitForPort(uint16_t port, int timeout_ms);

// A child process with stdout on a pipe (read through WaitForLine) and stderr appended to
// `log_path`.
class ChildProcess {
 public:
  ChildProcess() = default;
  ~ChildProcess();  // SIGKILL and reap if still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // argv[0] is the executable path. Errors: kUnavailable (spawn failed), kInternal (running).
  Status Spawn(const std::vector<std::string>& argv, const std::string& log_path);
  // Reads stdout until a line starting with `prefix` and returns the rest of that line.
  // Errors: kTimeout, kUnavailable (stdout closed first: the child exited).
  Result<std::string> WaitForLine(std::string_view prefix, int timeout_ms);
  // Sends `sig` and waits up to timeout_ms for the exit; returns the exit code (128 + signal
  // when killed). On timeout the child is killed with SIGKILL. Errors: kTimeout, kInternal.
  Result<int> Signal(int sig, int timeout_ms);

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }

 private:
  Result<int> WaitExit(int timeout_ms);

  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string buffered_;
};

// The last `max_bytes` of a file (for failure reports); "" when unreadable.
std::string FileTail(const std::string& path, size_t max_bytes);
// A fresh directory under $TMPDIR (or /tmp) named prefix-XXXXXX. Errors: kUnavailable.
Result<std::string> MakeTempDir(const std::string& prefix);
// Removes a directory tree unless TERN_KEEP_BENCH_DIRS is set.
void RemoveTree(const std::string& path);

}  // namespace tern::loadgen
