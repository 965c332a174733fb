#include "tools/ui/screen.h"

#include <ncurses.h>

#include <algorithm>
#include <cwchar>
#include <ctime>

#include "tools/ui/text.h"

namespace tern::ui {
namespace {

enum Pair : short { kPairSeen = 1, kPairDim = 2, kPairBar = 3, kPairError = 4, kPairOnline = 5 };

std::string Clock(uint64_t ms) {
  if (ms == 0) return "--:--";
  time_t t = static_cast<time_t>(ms / 1000);
  struct tm tm {};
  localtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%H:%M", &tm);
  return buf;
}

std::string LastSeen(uint64_t ms, uint64_t now_ms) {
  if (now_ms > ms && now_ms - ms > 20 * 3600 * 1000ULL) {
    time_t t = static_cast<time_t>(ms / 1000);
    struct tm tm {};
    localtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%d %b %H:%M", &tm);
    return buf;
  }
  return Clock(ms);
}

std::string Bytes(uint64_t n) {
  char buf[32];
  if (n < 1000) std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(n));
  else if (n < 1000 * 1000) std::snprintf(buf, sizeof buf, "%.1f kB", n / 1e3);
  else std::snprintf(buf, sizeof buf, "%.1f MB", n / 1e6);
  return buf;
}

// Draws `w` at (row, col), at most `max_cols` columns; returns the columns used.
int PutWide(int row, int col, const std::wstring& w, int max_cols, attr_t attr) {
  if (max_cols <= 0) return 0;
  std::wstring fit;
  int used = 0;
  for (wchar_t c : w) {
    const int cw = DisplayWidth(std::wstring(1, c));
    if (used + cw > max_cols) break;
    fit.push_back(c);
    used += cw;
  }
  attron(attr);
  mvaddnwstr(row, col, fit.c_str(), static_cast<int>(fit.size()));
  attroff(attr);
  return used;
}

int PutText(int row, int col, const std::string& utf8, int max_cols, attr_t attr) {
  return PutWide(row, col, Widen(utf8), max_cols, attr);
}

struct Line {
  std::wstring text;
  attr_t attr = A_NORMAL;
  std::wstring tick;
  attr_t tick_attr = A_NORMAL;
};

}  // namespace

void Screen::Init() {
  if (!has_colors()) return;
  start_color();
  use_default_colors();
  init_pair(kPairSeen, COLOR_BLUE, -1);
  init_pair(kPairDim, COLOR_CYAN, -1);
  init_pair(kPairBar, COLOR_BLACK, COLOR_GREEN);
  init_pair(kPairError, COLOR_RED, -1);
  init_pair(kPairOnline, COLOR_GREEN, -1);
  colors_ = true;
}

const char* Screen::TickGlyph(Tick t, bool ascii) {
  switch (t) {
    case Tick::kPending: return ascii ? ".." : "\u25F7";
    case Tick::kSent: return ascii ? "v" : "\u2713";
    case Tick::kDelivered: return ascii ? "vv" : "\u2713\u2713";
    case Tick::kSeen: return ascii ? "VV" : "\u2714\u2714";
    case Tick::kFailed: return ascii ? "!" : "\u2717";
    case Tick::kNone: break;
  }
  return "";
}

std::string Screen::ProgressBar(uint64_t done, uint64_t total, int width) {
  const int pct = total == 0 ? 100 : static_cast<int>(std::min<uint64_t>(done, total) * 100 / total);
  const int filled = pct * width / 100;
  std::string bar = "[";
  for (int i = 0; i < width; ++i) bar += i < filled ? '#' : '-';
  char p[8];
  std::snprintf(p, sizeof p, "] %3d%%", pct);
  return bar + p;
}

void Screen::Render(const ChatModel& m, const ViewState& v, uint64_t now_ms) {
  int rows = 0, cols = 0;
  getmaxyx(stdscr, rows, cols);
  erase();
  if (rows < 6 || cols < 40) {
    PutText(0, 0, "window too small", cols, A_BOLD);
    refresh();
    return;
  }
  DrawStatus(m, v, cols);
  const int list_w = std::max(22, cols / 4);
  DrawChatList(m, v, 1, rows - 2, list_w);
  for (int r = 1; r < rows - 1; ++r) PutText(r, list_w, ascii_ ? "|" : "\u2502", 1, A_DIM);
  DrawChat(m, v, 1, list_w + 2, rows - 2, cols - list_w - 2, now_ms);
  DrawInput(v, rows - 1, cols);
  refresh();
}

void Screen::DrawStatus(const ChatModel& m, const ViewState& v, int cols) {
  std::string conn;
  short pair = kPairBar;
  switch (m.connection()) {
    case Connection::kOnline: conn = "ONLINE"; break;
    case Connection::kConnecting: conn = "CONNECTING"; break;
    case Connection::kOffline: conn = "OFFLINE"; pair = kPairError; break;
  }
  if (m.connection() != Connection::kOnline && !v.connection_detail.empty()) conn += " (" + v.connection_detail + ")";
  std::string line = " tern | " + v.me + " | " + conn + " | pending " + std::to_string(m.pending_count());
  if (!v.info.empty()) line += " | " + v.info;
  attr_t attr = A_REVERSE;
  if (colors_) attr = COLOR_PAIR(pair) | (pair == kPairError ? A_REVERSE : A_NORMAL);
  attron(attr);
  mvhline(0, 0, ' ', cols);
  attroff(attr);
  PutText(0, 0, line, cols, attr | (v.info_is_error ? A_BOLD : A_NORMAL));
}

void Screen::DrawChatList(const ChatModel& m, const ViewState& v, int top, int rows, int width) {
  PutText(top, 0, "Chats", width, A_BOLD | A_UNDERLINE);
  int row = top + 1;
  const auto list = m.ChatList();
  if (list.empty()) PutText(row, 0, "(none: /chat +PHONE)", width, A_DIM);
  for (const Chat* c : list) {
    if (row + 1 >= top + rows) break;
    const bool open = v.open && *v.open == c->key;
    const int unread = open ? 0 : m.Unread(*c);
    std::string title = (open ? "> " : "  ") + m.TitleOf(*c);
    const std::string badge = unread > 0 ? " (" + std::to_string(unread) + ")" : "";
    const int badge_w = DisplayWidth(badge);
    attr_t attr = (open ? A_REVERSE : A_NORMAL) | (unread > 0 ? A_BOLD : A_NORMAL);
    if (open) {
      attron(A_REVERSE);
      mvhline(row, 0, ' ', width);
      attroff(A_REVERSE);
    }
    PutText(row, 0, title, width - badge_w, attr);
    if (!badge.empty()) PutText(row, width - badge_w, badge, badge_w, attr);
    PutText(row + 1, 0, "  " + m.Preview(*c), width, colors_ ? COLOR_PAIR(kPairDim) : A_DIM);
    row += 2;
  }
}

void Screen::DrawChat(const ChatModel& m, const ViewState& v, int top, int left, int rows, int width,
                      uint64_t now_ms) {
  const Chat* c = v.open ? m.chat(*v.open) : nullptr;
  // Header.
  std::string header;
  if (c == nullptr) {
    header = "No chat open: /chat +PHONE, /group new NAME +PHONE..., /help";
  } else if (!c->key.is_group()) {
    header = m.TitleOf(*c);
    if (const wire::PresenceInfo* p = m.PresenceOf(c->key.peer)) {
      if (p->online) header += " \u00B7 online";
      else if (p->last_seen_ms != 0) header += " \u00B7 last seen " + LastSeen(p->last_seen_ms, now_ms);
      else header += " \u00B7 offline";
    }
  } else {
    header = m.TitleOf(*c);
    if (c->left) {
      header += " \u00B7 you are not a member";
    } else {
      header += " \u00B7 " + std::to_string(c->members.size() + 1) + " members: you";
      for (uint64_t u : c->members) header += ", " + m.NameOf(u);
    }
  }
  if (ascii_) {
    for (size_t i = 0; (i = header.find("\u00B7", i)) != std::string::npos;) header.replace(i, 2, "-");
  }
  PutText(top, left, header, width, A_BOLD);
  attron(A_DIM);
  mvhline(top + 1, left, ascii_ ? '-' : ACS_HLINE, width);
  attroff(A_DIM);
  const int body_top = top + 2, body_rows = rows - 2;
  if (body_rows <= 0) return;

  std::vector<Line> lines;
  if (!v.panel_title.empty()) {
    lines.push_back({Widen(v.panel_title + "  (Esc closes)"), A_BOLD, L"", A_NORMAL});
    for (const std::string& p : v.panel)
      for (std::wstring& w : Wrap(Widen(p), width)) lines.push_back({std::move(w), A_NORMAL, L"", A_NORMAL});
  } else if (c != nullptr) {
    for (const ChatMessage& msg : c->messages) {
      std::string text;
      attr_t attr = A_NORMAL;
      if (msg.kind == ChatMessage::Kind::kNotice) {
        text = "-- " + msg.text;
        attr = colors_ ? COLOR_PAIR(kPairDim) : A_DIM;
      } else if (msg.kind == ChatMessage::Kind::kGroupEvent) {
        text = Clock(msg.ts_ms) + " * " + m.EventText(msg);
        attr = A_DIM;
      } else {
        text = Clock(msg.ts_ms) + " " + (msg.mine ? "you" : m.NameOf(msg.sender)) + ": ";
        for (size_t i = 0; i < msg.assets.size(); ++i) {
          const wire::AssetRef& a = msg.assets[i];
          const int n = i < msg.file_numbers.size() ? msg.file_numbers[i] : 0;
          text += "[file #" + std::to_string(n) + " " + a.name + " " + Bytes(a.size) + "] ";
          if (!msg.mine) text += "(/open " + std::to_string(n) + ") ";
        }
        text += msg.text;
      }
      const Tick tick = m.TickOf(*c, msg);
      std::wstring glyph = Widen(TickGlyph(tick, ascii_));
      const int tick_w = glyph.empty() ? 0 : DisplayWidth(glyph) + 1;
      auto wrapped = Wrap(Widen(text), std::max(10, width - tick_w));
      for (size_t i = 0; i < wrapped.size(); ++i) {
        Line l{std::move(wrapped[i]), attr, L"", A_NORMAL};
        if (i + 1 == wrapped.size()) {
          l.tick = glyph;
          l.tick_attr = tick == Tick::kSeen && colors_ ? COLOR_PAIR(kPairSeen) | A_BOLD
                        : tick == Tick::kFailed && colors_ ? COLOR_PAIR(kPairError)
                                                           : A_NORMAL;
        }
        lines.push_back(std::move(l));
      }
    }
    for (const Transfer* t : m.TransfersOf(c->key)) {
      std::string line = std::string(t->upload ? "upload " : "download ") + t->name + " " +
                         ProgressBar(t->done, t->total, 20) + " " + Bytes(t->done) + " / " + Bytes(t->total);
      if (t->state == Transfer::State::kDone) line += t->upload ? " sent" : " saved " + t->detail;
      if (t->state == Transfer::State::kFailed) line += " failed: " + t->detail;
      lines.push_back({Widen(line), t->state == Transfer::State::kFailed && colors_ ? COLOR_PAIR(kPairError) : A_NORMAL,
                       L"", A_NORMAL});
    }
  }
  // Bottom-aligned, scrolled up by v.scroll lines.
  const int total = static_cast<int>(lines.size());
  const int scroll = std::clamp(v.scroll, 0, std::max(0, total - body_rows));
  const int end = total - scroll;
  const int begin = std::max(0, end - body_rows);
  int row = body_top + std::max(0, body_rows - (end - begin));
  for (int i = begin; i < end; ++i, ++row) {
    const Line& l = lines[i];
    int used = PutWide(row, left, l.text, width, l.attr);
    if (!l.tick.empty()) PutWide(row, left + used + 1, l.tick, width - used - 1, l.tick_attr);
  }
}

void Screen::DrawInput(const ViewState& v, int row, int cols) {
  std::wstring w = Widen(v.input);
  // Show the tail that fits after the prompt.
  while (!w.empty() && DisplayWidth(w) > cols - 3) w.erase(w.begin());
  PutText(row, 0, "> ", 2, A_BOLD);
  int used = PutWide(row, 2, w, cols - 2, A_NORMAL);
  move(row, 2 + used);
}

}  // namespace tern::ui
