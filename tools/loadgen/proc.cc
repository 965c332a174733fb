#include "tools/loadgen/proc.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

extern char** environ;

namespace tern::loadgen {
namespace {

int RemainingMs(int64_t deadline_ns) {
  const int64_t left = deadline_ns - NowNs();
  return left <= 0 ? 0 : static_cast<int>((left + 999'999) / 1'000'000);
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

int64_t NowNs() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

uint64_t CpuTicks(pid_t pid) {
  const std::string stat = ReadAll("/proc/" + std::to_string(pid) + "/stat");
  // The command name (field 2) is in parentheses and may hold spaces: count after the last ')'.
  const size_t rp = stat.rfind(')');
  if (rp == std::string::npos) return 0;
  std::istringstream in(stat.substr(rp + 2));
  std::string field;
  uint64_t utime = 0, stime = 0;
  for (int k = 3; k <= 15 && in >> field; ++k) {
    if (k == 14) utime = std::strtoull(field.c_str(), nullptr, 10);
    if (k == 15) stime = std::strtoull(field.c_str(), nullptr, 10);
  }
  return utime + stime;
}

double TicksPerSecond() { return static_cast<double>(::sysconf(_SC_CLK_TCK)); }

uint64_t RssBytes(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10) * 1024;
  }
  return 0;
}

void CpuMeter::Start() {
  ticks0_ = pid_ > 0 ? CpuTicks(pid_) : 0;
  t0_ns_ = NowNs();
}

double CpuMeter::StopPercent() const {
  if (pid_ <= 0) return 0;
  const double secs = static_cast<double>(NowNs() - t0_ns_) / 1e9;
  if (secs <= 0) return 0;
  return static_cast<double>(CpuTicks(pid_) - ticks0_) / TicksPerSecond() / secs * 100.0;
}

Result<uint16_t> FreeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status(Code::kUnavailable, "socket failed");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    return Status(Code::kUnavailable, std::string("bind: ") + std::strerror(errno));
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

uint64_t RaiseFileLimit() {
  rlimit rl{};
  ::getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &rl);  // children (the servers) inherit it
  ::getrlimit(RLIMIT_NOFILE, &rl);
  return rl.rlim_cur;
}

Status WaitForPort(uint16_t port, int timeout_ms) {
  const int64_t deadline = NowNs() + int64_t{timeout_ms} * 1'000'000;
  while (true) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool ok = fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    if (fd >= 0) ::close(fd);
    if (ok) return Status::Ok();
    if (RemainingMs(deadline) == 0) {
      return Status(Code::kTimeout, "nothing listens on port " + std::to_string(port));
    }
    ::poll(nullptr, 0, 10);
  }
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    WaitExit(10000).status().IgnoreError();  // SIGKILL cannot be ignored; bounded anyway
  }
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
}

Status ChildProcess::Spawn(const std::vector<std::string>& argv, const std::string& log_path) {
  if (pid_ > 0) return Status(Code::kInternal, "child is already running");
  std::vector<std::string> copy = argv;
  std::vector<char*> args;
  for (std::string& a : copy) args.push_back(a.data());
  args.push_back(nullptr);
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return Status(Code::kUnavailable, "pipe failed");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, p[1], 1);
  posix_spawn_file_actions_addopen(&fa, 2, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(p[1]);
  if (rc != 0) {
    ::close(p[0]);
    return Status(Code::kUnavailable, "spawn " + argv[0] + ": " + std::strerror(rc));
  }
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
  pid_ = pid;
  stdout_fd_ = p[0];  // kept open: a late stdout write must not raise SIGPIPE in the child
  buffered_.clear();
  return Status::Ok();
}

Result<std::string> ChildProcess::WaitForLine(std::string_view prefix, int timeout_ms) {
  const int64_t deadline = NowNs() + int64_t{timeout_ms} * 1'000'000;
  while (true) {
    size_t nl;
    while ((nl = buffered_.find('\n')) != std::string::npos) {
      std::string line = buffered_.substr(0, nl);
      buffered_.erase(0, nl + 1);
      if (line.rfind(prefix, 0) == 0) return line.substr(prefix.size());
    }
    const int left = RemainingMs(deadline);
    if (left == 0) return Status(Code::kTimeout, "no line '" + std::string(prefix) + "' in time");
    pollfd pfd{stdout_fd_, POLLIN, 0};
    if (::poll(&pfd, 1, left) < 0 && errno != EINTR) return Status(Code::kUnavailable, "poll");
    if (pfd.revents == 0) continue;
    char buf[1024];
    const ssize_t n = ::read(stdout_fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status(Code::kUnavailable, "child closed stdout (exited?)");
    buffered_.append(buf, static_cast<size_t>(n));
  }
}

Result<int> ChildProcess::WaitExit(int timeout_ms) {
  const int64_t deadline = NowNs() + int64_t{timeout_ms} * 1'000'000;
  while (true) {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
      return -1;
    }
    if (r < 0 && errno != EINTR) return Status(Code::kInternal, "waitpid failed");
    if (RemainingMs(deadline) == 0) return Status(Code::kTimeout, "child still running");
    ::poll(nullptr, 0, 2);
  }
}

Result<int> ChildProcess::Signal(int sig, int timeout_ms) {
  if (pid_ <= 0) return Status(Code::kInternal, "child is not running");
  ::kill(pid_, sig);
  Result<int> rc = WaitExit(timeout_ms);
  if (!rc.ok() && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    WaitExit(10000).status().IgnoreError();  // reported through rc
  }
  return rc;
}

std::string FileTail(const std::string& path, size_t max_bytes) {
  std::string s = ReadAll(path);
  if (s.size() > max_bytes) s = "...\n" + s.substr(s.size() - max_bytes);
  return s;
}

Result<std::string> MakeTempDir(const std::string& prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/" +
                     prefix + "-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    return Status(Code::kUnavailable, std::string("mkdtemp: ") + std::strerror(errno));
  }
  return tmpl;
}

void RemoveTree(const std::string& path) {
  if (path.empty() || std::getenv("TERN_KEEP_BENCH_DIRS") != nullptr) return;
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

}  // namespace tern::loadgen
