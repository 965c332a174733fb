#include "bench/e2e_util.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

extern char** environ;

namespace tern::bench {
namespace {

constexpr std::string_view kListening = "ternd listening on 127.0.0.1:";

int RemainingMs(int64_t deadline_ns) {
  const int64_t left = deadline_ns - NowNs();
  return left <= 0 ? 0 : static_cast<int>((left + 999'999) / 1'000'000);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t Percentile(const std::vector<int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  // Nearest rank: the smallest value with at least p% of the samples at or below it.
  auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

BenchDir::BenchDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base != nullptr && *base != '\0' ? base : "/tmp") +
                     "/tern-bench-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) std::abort();  // no scratch space: cannot run
  path_ = tmpl;
}

BenchDir::~BenchDir() {
  if (std::getenv("TERN_KEEP_BENCH_DIRS") != nullptr) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

BenchServer::BenchServer(std::string ternd_path, std::vector<std::string> extra_flags, bool tls)
    : ternd_path_(std::move(ternd_path)), extra_flags_(std::move(extra_flags)), tls_(tls) {}

std::string BenchServer::fingerprint() const {
  if (!tls_) return "";
  std::string fp = ReadFile(data_dir() + "/tls/cert.sha256");
  while (!fp.empty() && (fp.back() == '\n' || fp.back() == ' ')) fp.pop_back();
  return fp;
}

BenchServer::~BenchServer() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    WaitExit(10000).status().IgnoreError();  // SIGKILL cannot be ignored; bounded anyway
  }
  if (pidfd_ >= 0) ::close(pidfd_);
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
}

Status BenchServer::Start(int timeout_ms) {
  if (pid_ > 0) return Status(Code::kInternal, "ternd is already running");
  // The blob and admin ports on free ports too, so benches run next to a ternd on the defaults.
  std::vector<std::string> argv = {ternd_path_, "--data", data_dir(), "--listen", "127.0.0.1:0",
                                   "--blob-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"};
  if (!tls_) argv.push_back("--plain-tcp");
  argv.insert(argv.end(), extra_flags_.begin(), extra_flags_.end());
  std::vector<char*> args;
  for (std::string& a : argv) args.push_back(a.data());
  args.push_back(nullptr);

  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return Status(Code::kUnavailable, "pipe failed");
  const std::string log = dir_.Sub("ternd.log");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, p[1], 1);
  posix_spawn_file_actions_addopen(&fa, 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(p[1]);
  if (rc != 0) {
    ::close(p[0]);
    return Status(Code::kUnavailable, "spawn " + ternd_path_ + ": " + std::strerror(rc));
  }
  pid_ = pid;
  pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  stdout_fd_ = p[0];

  const int64_t deadline = NowNs() + int64_t{timeout_ms} * 1'000'000;
  std::string out;
  while (true) {
    size_t nl;
    while ((nl = out.find('\n')) != std::string::npos) {
      const std::string line = out.substr(0, nl);
      out.erase(0, nl + 1);
      if (line.rfind(kListening, 0) == 0) {
        port_ = static_cast<uint16_t>(std::stoi(line.substr(kListening.size())));
        return Status::Ok();
      }
    }
    const int left = RemainingMs(deadline);
    if (left == 0) return Status(Code::kTimeout, "ternd printed no listening line in time");
    pollfd pfd{stdout_fd_, POLLIN, 0};
    if (::poll(&pfd, 1, left) < 0 && errno != EINTR) {
      return Status(Code::kUnavailable, "poll on ternd stdout failed");
    }
    if (pfd.revents == 0) continue;
    char buf[1024];
    const ssize_t n = ::read(stdout_fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status(Code::kUnavailable, "ternd closed stdout before listening (exited?)");
    out.append(buf, static_cast<size_t>(n));
  }
}

Result<int> BenchServer::WaitExit(int timeout_ms) {
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
    const int left = RemainingMs(deadline);
    if (left == 0) return Status(Code::kTimeout, "ternd still running");
    if (pidfd_ >= 0) {
      pollfd pfd{pidfd_, POLLIN, 0};
      ::poll(&pfd, 1, left);  // readable once ternd exited
    } else {
      ::poll(nullptr, 0, std::min(left, 10));  // no pidfd support: poll the pid
    }
  }
}

Result<int> BenchServer::Stop(int timeout_ms) {
  if (pid_ <= 0) return Status(Code::kInternal, "ternd is not running");
  ::kill(pid_, SIGTERM);
  Result<int> rc = WaitExit(timeout_ms);
  if (!rc.ok() && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    WaitExit(10000).status().IgnoreError();  // reported through rc below
  }
  return rc;
}

Result<std::string> BenchServer::CodeFor(const std::string& phone) const {
  const std::string text = ReadFile(data_dir() + "/otp.log");
  std::string code;
  size_t pos = 0, nl;
  // Only complete lines: ternd may be appending a line for another phone right now.
  while ((nl = text.find('\n', pos)) != std::string::npos) {
    std::string_view line(text.data() + pos, nl - pos);
    if (line.size() > phone.size() && line.substr(0, phone.size()) == phone &&
        line[phone.size()] == ' ') {
      code = std::string(line.substr(phone.size() + 1));
    }
    pos = nl + 1;
  }
  if (code.empty()) return Status(Code::kNotFound, "no code for " + phone + " in otp.log");
  return code;
}

std::string BenchServer::LogTail(size_t max_bytes) const {
  std::string log = ReadFile(dir_.Sub("ternd.log"));
  if (log.size() > max_bytes) log = "...\n" + log.substr(log.size() - max_bytes);
  return log;
}

}  // namespace tern::bench
