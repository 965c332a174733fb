#include "tests/integration/process_util.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

extern char** environ;

namespace tern::testing {
namespace {

uint64_t NowMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

int Remaining(uint64_t deadline) {
  uint64_t now = NowMs();
  return now >= deadline ? 0 : static_cast<int>(deadline - now);
}

int DecodeWaitStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// Spawns argv with stdout (and optionally stderr) redirected to the given fds (-1 = inherit).
Result<pid_t> SpawnWith(const std::vector<std::string>& argv, int out_fd, int err_fd,
                        const std::string& err_path) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (out_fd >= 0) posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
  if (err_fd >= 0) {
    posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
  } else if (!err_path.empty()) {
    posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                     0644);
  }
  pid_t pid = -1;
  int rc = posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    return Status(Code::kUnavailable, "spawn " + argv[0] + ": " + std::strerror(rc));
  }
  return pid;
}

}  // namespace

Result<std::unique_ptr<ChildProcess>> ChildProcess::Spawn(const std::vector<std::string>& argv,
                                                          const std::string& stderr_path) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return Status(Code::kUnavailable, "pipe failed");
  Result<pid_t> pid = SpawnWith(argv, p[1], -1, stderr_path);
  ::close(p[1]);
  if (!pid.ok()) {
    ::close(p[0]);
    return pid.status();
  }
  return std::unique_ptr<ChildProcess>(new ChildProcess(*pid, p[0]));
}

ChildProcess::ChildProcess(pid_t pid, int stdout_fd) : pid_(pid) {
  pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  reader_ = std::thread([this, stdout_fd] { ReadLoop(stdout_fd); });
}

ChildProcess::~ChildProcess() {
  if (running()) {
    Signal(SIGKILL);
    Wait(10000).status().IgnoreError();  // SIGKILL cannot be ignored; bounded regardless
  }
  if (reader_.joinable()) reader_.join();
  if (pidfd_ >= 0) ::close(pidfd_);
}

void ChildProcess::ReadLoop(int fd) {
  char buf[4096];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    std::lock_guard<std::mutex> lock(mu_);
    if (n <= 0) {
      if (!partial_.empty()) lines_.push_back(std::move(partial_));
      stdout_closed_ = true;
      cv_.notify_all();
      break;
    }
    partial_.append(buf, static_cast<size_t>(n));
    size_t nl;
    while ((nl = partial_.find('\n')) != std::string::npos) {
      lines_.push_back(partial_.substr(0, nl));
      partial_.erase(0, nl + 1);
    }
    cv_.notify_all();
  }
  ::close(fd);
}

Result<std::string> ChildProcess::WaitForLine(
    const std::function<bool(const std::string&)>& match, int timeout_ms) {
  std::unique_lock<std::mutex> lock(mu_);
  size_t checked = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    for (; checked < lines_.size(); ++checked) {
      if (match(lines_[checked])) return lines_[checked];
    }
    if (stdout_closed_) return Status(Code::kUnavailable, "child closed stdout (exited?)");
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && checked == lines_.size()) {
      return Status(Code::kTimeout, "no matching line within " + std::to_string(timeout_ms) +
                                        " ms");
    }
  }
}

std::string ChildProcess::output() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  for (const std::string& l : lines_) out += l + "\n";
  return out + partial_;
}

bool ChildProcess::Signal(int sig) {
  if (!running()) return false;
  return ::kill(pid_, sig) == 0;
}

Result<int> ChildProcess::Wait(int timeout_ms) {
  if (exit_code_) return *exit_code_;
  const uint64_t deadline = NowMs() + static_cast<uint64_t>(timeout_ms);
  int status = 0;
  while (true) {
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) break;
    if (r < 0 && errno != EINTR) return Status(Code::kInternal, "waitpid failed");
    int left = Remaining(deadline);
    if (left == 0) return Status(Code::kTimeout, "child still running");
    if (pidfd_ >= 0) {
      pollfd pfd{pidfd_, POLLIN, 0};
      ::poll(&pfd, 1, left);  // readable once the child exited
    } else {
      ::poll(nullptr, 0, std::min(left, 10));  // no pidfd support: fall back to polling
    }
  }
  exit_code_ = DecodeWaitStatus(status);
  return *exit_code_;
}

ProcessResult RunProcess(const std::vector<std::string>& argv, int timeout_ms) {
  ProcessResult result;
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return result;
  if (::pipe2(err, O_CLOEXEC) != 0) {
    ::close(out[0]);
    ::close(out[1]);
    return result;
  }
  Result<pid_t> pid = SpawnWith(argv, out[1], err[1], "");
  ::close(out[1]);
  ::close(err[1]);
  if (!pid.ok()) {
    ::close(out[0]);
    ::close(err[0]);
    result.err = pid.status().ToString();
    return result;
  }
  const uint64_t deadline = NowMs() + static_cast<uint64_t>(timeout_ms);
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_fds = 2;
  bool timed_out = false;
  while (open_fds > 0) {
    int left = Remaining(deadline);
    if (left == 0) {
      timed_out = true;
      break;
    }
    if (::poll(fds, 2, left) < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[4096];
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (pollfd& p : fds) {
    if (p.fd >= 0) ::close(p.fd);
  }
  if (timed_out) ::kill(*pid, SIGKILL);
  int status = 0;
  while (::waitpid(*pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = timed_out ? -1 : DecodeWaitStatus(status);
  return result;
}

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base != nullptr && *base != '\0' ? base : "/tmp") +
                     "/tern-it-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) std::abort();  // no scratch space: cannot test
  path_ = tmpl;
}

TempDir::~TempDir() {
  if (std::getenv("TERN_KEEP_TEST_DIRS") != nullptr) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace tern::testing
