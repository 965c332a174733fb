// Child processes for the integration tests: spawn with captured output, bounded waits.
//
// Every wait takes a timeout; a child that outlives it is killed (SIGKILL), never waited on
// forever. Waiting for exit uses a pidfd (poll), so no sleeps are involved.
//
// Thread safety: a ChildProcess is owned by one test thread; its stdout reader thread only
// touches the line buffer, under a mutex.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "wire/status.h"

namespace tern::testing {

class ChildProcess {
 public:
  // Starts argv[0] (a path) with argv. stdout is captured line by line (readable through
  // WaitForLine/output); stderr goes to `stderr_path` (appended) or is inherited when empty.
  static Result<std::unique_ptr<ChildProcess>> Spawn(const std::vector<std::string>& argv,
                                                     const std::string& stderr_path);
  // Kills the child (SIGKILL) if it still runs, and reaps it.
  ~ChildProcess();

  // Waits until a stdout line satisfies `match`; returns that line. Errors: kTimeout, or
  // kUnavailable if stdout closed (the child exited) first.
  Result<std::string> WaitForLine(const std::function<bool(const std::string&)>& match,
                                  int timeout_ms);
  // Everything printed on stdout so far.
  std::string output() const;

  // Sends a signal. Returns false if the child was already reaped.
  bool Signal(int sig);
  // Waits for exit and reaps; returns the exit code (128 + signal when killed by one).
  // Errors: kTimeout (the child is still running).
  Result<int> Wait(int timeout_ms);

  pid_t pid() const { return pid_; }
  bool running() const { return !exit_code_.has_value(); }

 private:
  ChildProcess(pid_t pid, int stdout_fd);
  void ReadLoop(int fd);

  pid_t pid_;
  int pidfd_ = -1;
  std::optional<int> exit_code_;
  std::thread reader_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> lines_;
  std::string partial_;
  bool stdout_closed_ = false;
};

struct ProcessResult {
  int exit_code = -1;  // -1 when it timed out (it was killed)
  std::string out;
  std::string err;
};
// Runs argv to completion within timeout_ms, capturing stdout and stderr.
ProcessResult RunProcess(const std::vector<std::string>& argv, int timeout_ms);

// A fresh directory under $TMPDIR (or /tmp), removed by the destructor unless the
// TERN_KEEP_TEST_DIRS environment variable is set.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace tern::testing
