// Screen: draws a ChatModel (tools/ui/chat_model.h) and the controller's ViewState on the
// ncurses standard screen. It reads the model and writes the terminal; it decides nothing.
//
// Layout (any size; the left column takes a quarter of the width, at least 22 columns):
//   row 0        status bar: who I am, connection (online / connecting / offline: retrying),
//                pending sends, the last command's result or error
//   left column  chat list, most recent first: title, unread count "(N)", last message
//   right column chat header (title, presence or members), messages with ticks, the open
//                chat's file transfers with a progress bar, or a panel (help, devices, link
//                code, group info, an opened file) that Esc closes
//   last row     the input line ("> ...")
//
// Ticks after my messages (ASCII fallback when the terminal is not UTF-8, or --ascii):
//   pending ◷ (..)   sent ✓ (v)   delivered ✓✓ (vv)   seen ✔✔ (VV, and blue when colours work)
//   failed ✗ (!)
// Text is drawn with wide-character ncurses: Cyrillic, CJK (two columns) and emoji are measured
// with wcwidth, so lines wrap and truncate on column boundaries.
//
// Thread safety: ncurses is single-threaded; call from the UI thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tools/ui/chat_model.h"

namespace tern::ui {

struct ViewState {
  std::optional<ChatKey> open;      // the chat on the right (none: a hint is shown)
  std::string input;                // the input line (UTF-8)
  int scroll = 0;                   // message lines scrolled up from the bottom
  std::string me;                   // "user 7 (+15550001)"
  std::string info;                 // the last command's result, shown in the status bar
  bool info_is_error = false;
  std::string panel_title;          // non-empty: a panel replaces the messages
  std::vector<std::string> panel;
  std::string connection_detail;    // e.g. "retry in 3 s"
};

class Screen {
 public:
  explicit Screen(bool ascii) : ascii_(ascii) {}
  // Sets up colours (when the terminal has them). Call once after initscr().
  void Init();
  // Redraws everything. `now_ms` is wall-clock time (for "last seen" and message times).
  void Render(const ChatModel& model, const ViewState& view, uint64_t now_ms);

  static const char* TickGlyph(Tick t, bool ascii);
  // "[#####-----]  45%"
  static std::string ProgressBar(uint64_t done, uint64_t total, int width);

 private:
  void DrawStatus(const ChatModel& m, const ViewState& v, int cols);
  void DrawChatList(const ChatModel& m, const ViewState& v, int top, int rows, int width);
  void DrawChat(const ChatModel& m, const ViewState& v, int top, int left, int rows, int width, uint64_t now_ms);
  void DrawInput(const ViewState& v, int row, int cols);

  bool ascii_;
  bool colors_ = false;
};

}  // namespace tern::ui
