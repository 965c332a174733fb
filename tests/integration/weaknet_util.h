// Weak-network helpers for the integration tests: tern-weaknet (TERN_WEAKNET_PATH) as a child
// process in front of a TestServer, its JSON reports, and ternd's memory.
//
// Every wait is bounded. Thread safety: one test thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tests/integration/process_util.h"
#include "wire/status.h"

namespace tern::testing {

// What tern-weaknet reported (see tools/weaknet/proxy.h ProxyStats).
struct WeaknetReport {
  uint64_t connections = 0, live = 0, resets = 0, half_opens = 0, cuts = 0;
  uint64_t up_bytes = 0, up_stalls = 0, up_dropped = 0;
  uint64_t down_bytes = 0, down_stalls = 0, down_dropped = 0;
  std::string line;  // the raw JSON line
};

class WeaknetProxy {
 public:
  // `flags` are tern-weaknet flags besides --listen/--connect (e.g. --profile 2g --seed 3).
  WeaknetProxy(uint16_t upstream_port, std::vector<std::string> flags, std::string log_path);
  // Stops it (SIGTERM) if running.
  ~WeaknetProxy();
  // Spawns tern-weaknet and waits for its listening line. Errors: kUnavailable, kTimeout.
  // After a Stop(), it listens on the same port again (a link that comes back).
  Status Start();
  // SIGTERM and reap: every connection ends and new ones are refused (a link that is down).
  // Errors: kTimeout.
  Status Stop();
  // SIGUSR1, then the next report line. Errors: kTimeout, kUnavailable (it exited).
  Result<WeaknetReport> Report();
  // SIGUSR2: every live connection is reset now.
  void DropAll();

  uint16_t port() const { return port_; }

 private:
  uint16_t upstream_port_;
  std::vector<std::string> flags_;
  std::string log_path_;
  std::unique_ptr<ChildProcess> process_;
  uint16_t port_ = 0;
  size_t reports_seen_ = 0;
};

// Parses one tern-weaknet report line. Errors: kInvalidArgument.
Result<WeaknetReport> ParseWeaknetReport(const std::string& line);

// A field of /proc/PID/status in kB (e.g. "RssAnon", "VmHWM"). Errors: kNotFound.
Result<uint64_t> ProcStatusKb(pid_t pid, const std::string& field);

}  // namespace tern::testing
