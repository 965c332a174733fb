#include "tools/ui/terminal.h"

#include <langinfo.h>
#include <ncurses.h>
#include <signal.h>

#include <clocale>
#include <initializer_list>
#include <cstring>

namespace tern::ui {
namespace {

volatile sig_atomic_t g_stop = 0;

void OnStopSignal(int) { g_stop = 1; }

}  // namespace

Terminal::Terminal() {
  std::setlocale(LC_ALL, "");
  const char* cs = nl_langinfo(CODESET);
  utf8_ = cs != nullptr && std::strcmp(cs, "UTF-8") == 0;
  struct sigaction sa {};
  sa.sa_handler = OnStopSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a blocked read returns so the loop sees the flag
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  initscr();
  cbreak();
  noecho();
  nonl();
  keypad(stdscr, TRUE);
  set_escdelay(25);
}

Terminal::~Terminal() { endwin(); }

bool Terminal::ReadKey(int timeout_ms, uint32_t* ch, bool* key_code) {
  wtimeout(stdscr, timeout_ms);
  wint_t c = 0;
  int r = wget_wch(stdscr, &c);
  if (r == ERR) return false;
  *ch = static_cast<uint32_t>(c);
  *key_code = r == KEY_CODE_YES;
  return true;
}

bool Terminal::stop_requested() { return g_stop != 0; }

}  // namespace tern::ui
