// Support for the end-to-end benchmarks (bench/e2e_*.cc): a real ternd as a child process,
// a scratch directory, one-time codes from otp.log, and latency summaries.
//
// This is a small stand-in for tests/integration/{process,server}_util, which link gtest; the
// benches must not. The child process itself is tern-loadgen's (tools/loadgen/proc.h), which
// spawns ternd and Mosquitto the same way. Every wait is bounded: a ternd that does not print
// its listening line or does not exit after SIGTERM within the timeout is reported (and
// killed), never waited on forever.
//
// Thread safety: a BenchServer and a BenchDir belong to one thread. CodeFor only reads
// otp.log and may be called from any thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "tools/loadgen/proc.h"
#include "wire/status.h"

namespace tern::bench {

// A fresh directory under $TMPDIR (or /tmp), removed with its content by the destructor unless
// TERN_KEEP_BENCH_DIRS is set. Aborts if no directory can be created (nothing can run).
class BenchDir {
 public:
  BenchDir();
  ~BenchDir();
  BenchDir(const BenchDir&) = delete;
  BenchDir& operator=(const BenchDir&) = delete;
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// `ternd --data <root>/data --listen 127.0.0.1:0 [--plain-tcp] <extra flags>` with stderr in
// <root>/ternd.log. Plain TCP unless `tls` (ternd's default: TLS 1.3, self-signed certificate,
// fingerprint in fingerprint()).
class BenchServer {
 public:
  BenchServer(std::string ternd_path, std::vector<std::string> extra_flags = {}, bool tls = false);
  // Kills (SIGKILL) and reaps a ternd still running (ChildProcess's destructor).
  BenchServer(const BenchServer&) = delete;
  BenchServer& operator=(const BenchServer&) = delete;

  // Spawns ternd and waits up to timeout_ms for "ternd listening on 127.0.0.1:PORT".
  // Errors: kUnavailable (spawn failed, or ternd closed stdout/exited first), kTimeout.
  Status Start(int timeout_ms);
  // SIGTERM, then waits up to timeout_ms; returns ternd's exit code (128 + signal if killed).
  // Errors: kTimeout (then it is killed with SIGKILL and reaped), kInternal (not running).
  Result<int> Stop(int timeout_ms);

  // The last code ternd issued for `phone`, from complete lines of <data>/otp.log.
  // Errors: kNotFound.
  Result<std::string> CodeFor(const std::string& phone) const;
  // The last `max_bytes` of ternd's stderr (for failure reports).
  std::string LogTail(size_t max_bytes) const;

  uint16_t port() const { return port_; }
  std::string data_dir() const { return dir_.Sub("data"); }
  pid_t pid() const { return child_.pid(); }
  // SHA-256 fingerprint of ternd's certificate (<data>/tls/cert.sha256), "" for plain TCP.
  std::string fingerprint() const;

 private:
  std::string ternd_path_;
  std::vector<std::string> extra_flags_;
  bool tls_;
  BenchDir dir_;
  loadgen::ChildProcess child_;  // killed (SIGKILL) and reaped by its destructor if running
  uint16_t port_ = 0;
};

// Nearest-rank percentile of an ascending-sorted vector (p in [0, 100]); 0 when empty.
int64_t Percentile(const std::vector<int64_t>& sorted, double p);

// Monotonic clock in nanoseconds.
int64_t NowNs();

}  // namespace tern::bench
