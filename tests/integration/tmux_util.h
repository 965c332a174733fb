// TmuxServer: a private tmux server (its own -L socket, no config file) that runs interactive
// programs in detached sessions of a fixed size, so tests can type into them (send-keys) and
// read their screens (capture-pane), the way a person uses a terminal program.
//
// Every tmux command is bounded (RunProcess timeout); WaitForScreen polls capture-pane until a
// predicate holds or the timeout passes, so a slow, loaded machine only makes a test slower,
// never flaky. The destructor ends each session's program by its pid (SIGTERM, then SIGKILL if
// it lingers), then kills the tmux server. Sessions run with LANG=C.UTF-8 and tmux -u, so wide
// characters reach the program and come back from capture-pane as UTF-8.
//
// Thread safety: one test thread.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "wire/status.h"

namespace tern::testing {

class TmuxServer {
 public:
  TmuxServer();
  ~TmuxServer();
  TmuxServer(const TmuxServer&) = delete;
  TmuxServer& operator=(const TmuxServer&) = delete;

  // Starts session `name` running argv (exec'd, so the pane's pid is the program's), with its
  // stderr appended to `stderr_path`. Errors: kUnavailable (tmux failed).
  Status Start(const std::string& name, const std::vector<std::string>& argv, const std::string& stderr_path,
               int width = 120, int height = 40);
  // Types `text` literally, then Enter.
  void Type(const std::string& name, const std::string& text);
  // Sends one tmux key name ("Tab", "Down", "Escape", "Enter", "C-c").
  void Key(const std::string& name, const std::string& key);
  // The visible screen of the session (UTF-8 lines).
  std::string Screen(const std::string& name);
  // Polls Screen(name) until done(screen); returns the last screen. Errors: kTimeout (the
  // message holds the last screen).
  Result<std::string> WaitForScreen(const std::string& name, const std::function<bool(const std::string&)>& done,
                                    int timeout_ms);
  // Until the screen contains every one of `needles`.
  Result<std::string> WaitForText(const std::string& name, const std::vector<std::string>& needles,
                                  int timeout_ms);
  // The pid of the session's program (-1 when unknown).
  pid_t pid(const std::string& name) const;
  // Whether the session's program still runs (an exited, unreaped one does not).
  bool running(const std::string& name) const;

 private:
  std::string Run(const std::vector<std::string>& args, int* exit_code = nullptr);

  std::string socket_;
  std::map<std::string, pid_t> pids_;
};

}  // namespace tern::testing
