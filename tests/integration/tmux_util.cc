#include "tests/integration/tmux_util.h"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>

#include "tests/integration/process_util.h"

namespace tern::testing {
namespace {

constexpr int kTmuxCommandMs = 5000;
constexpr int kPollEveryMs = 100;

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

TmuxServer::TmuxServer() {
  static std::atomic<int> counter{0};
  socket_ = "tern-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

TmuxServer::~TmuxServer() {
  for (const auto& [name, pid] : pids_) {
    if (running(name)) ::kill(pid, SIGTERM);
  }
  for (const auto& [name, pid] : pids_) {
    for (int i = 0; i < 50 && running(name); ++i) ::poll(nullptr, 0, 20);
    if (running(name)) ::kill(pid, SIGKILL);
  }
  Run({"kill-server"});
}

std::string TmuxServer::Run(const std::vector<std::string>& args, int* exit_code) {
  std::vector<std::string> argv = {"/usr/bin/env", "LANG=C.UTF-8", "LC_ALL=C.UTF-8", "tmux", "-u", "-f", "/dev/null",
                                   "-L", socket_};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessResult r = RunProcess(argv, kTmuxCommandMs);
  if (exit_code != nullptr) *exit_code = r.exit_code;
  return r.out;
}

Status TmuxServer::Start(const std::string& name, const std::vector<std::string>& argv, const std::string& stderr_path,
                         int width, int height) {
  std::string cmd = "exec";
  for (const std::string& a : argv) cmd += " " + Quote(a);
  cmd += " 2>>" + Quote(stderr_path);
  int rc = -1;
  Run({"new-session", "-d", "-s", name, "-x", std::to_string(width), "-y", std::to_string(height), cmd}, &rc);
  if (rc != 0) return Status(Code::kUnavailable, "tmux new-session " + name + " failed");
  std::string pid = Run({"display-message", "-p", "-t", name, "#{pane_pid}"});
  pids_[name] = static_cast<pid_t>(std::atoi(pid.c_str()));
  return Status::Ok();
}

void TmuxServer::Type(const std::string& name, const std::string& text) {
  Run({"send-keys", "-t", name, "-l", text});
  Run({"send-keys", "-t", name, "Enter"});
}

void TmuxServer::Key(const std::string& name, const std::string& key) { Run({"send-keys", "-t", name, key}); }

std::string TmuxServer::Screen(const std::string& name) { return Run({"capture-pane", "-p", "-t", name}); }

Result<std::string> TmuxServer::WaitForScreen(const std::string& name,
                                              const std::function<bool(const std::string&)>& done, int timeout_ms) {
  std::string screen;
  for (int waited = 0;; waited += kPollEveryMs) {
    screen = Screen(name);
    if (done(screen)) return screen;
    if (waited >= timeout_ms) break;
    ::poll(nullptr, 0, kPollEveryMs);
  }
  return Status(Code::kTimeout, "screen of " + name + " after " + std::to_string(timeout_ms) + " ms:\n" + screen);
}

Result<std::string> TmuxServer::WaitForText(const std::string& name, const std::vector<std::string>& needles,
                                            int timeout_ms) {
  return WaitForScreen(
      name,
      [&](const std::string& s) {
        for (const std::string& n : needles)
          if (s.find(n) == std::string::npos) return false;
        return true;
      },
      timeout_ms);
}

pid_t TmuxServer::pid(const std::string& name) const {
  auto it = pids_.find(name);
  return it == pids_.end() ? -1 : it->second;
}

bool TmuxServer::running(const std::string& name) const {
  // Exited but not yet reaped (a zombie: tmux reaps its panes' children on SIGCHLD, which it
  // may get late) counts as not running.
  const pid_t p = pid(name);
  if (p <= 0 || ::kill(p, 0) != 0) return false;
  std::ifstream stat("/proc/" + std::to_string(p) + "/stat");
  std::string line;
  std::getline(stat, line);
  const size_t paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] != 'Z';
}

}  // namespace tern::testing
