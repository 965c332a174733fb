// Terminal: owns the ncurses session of `tern ui` and the signals around it.
//
// The constructor sets the locale from the environment (wide characters need a UTF-8
// LC_CTYPE), enters curses mode (cbreak, no echo, keypad, a short Esc delay) and routes
// SIGINT, SIGTERM and SIGHUP to a flag (stop_requested) instead of killing the process, so the
// event loop ends normally and the destructor restores the terminal (endwin) on every exit
// path but a crash. SIGWINCH is left to ncurses, which reports a resize as KEY_RESIZE.
// Nothing is printed to stdout/stderr while curses mode is on.
//
// Thread safety: one instance per process, on the UI thread.
#pragma once

#include <cstdint>

namespace tern::ui {

class Terminal {
 public:
  Terminal();
  ~Terminal();
  Terminal(const Terminal&) = delete;
  Terminal& operator=(const Terminal&) = delete;

  // Whether the locale is UTF-8 (else the view uses its ASCII glyphs).
  bool utf8() const { return utf8_; }
  // One key or character, waiting at most timeout_ms (0: only what is already there).
  // Returns false when none came; *key_code says whether *ch is a KEY_* code.
  bool ReadKey(int timeout_ms, uint32_t* ch, bool* key_code);
  static bool stop_requested();

 private:
  bool utf8_ = false;
};

}  // namespace tern::ui
