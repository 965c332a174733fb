#include "tools/ui/text.h"

#include <cwchar>

namespace tern::ui {
namespace {

int CharWidth(wchar_t c) {
  if (c == L'\t') return 1;
  int w = ::wcwidth(c);
  return w < 0 ? 1 : w;
}

}  // namespace

std::wstring Widen(const std::string& s) {
  std::wstring out;
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    int n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    uint32_t cp = n == 1 ? c : n == 2 ? c & 0x1F : n == 3 ? c & 0x0F : c & 0x07;
    bool ok = n != 0 && i + n <= s.size();
    for (int k = 1; ok && k < n; ++k) {
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc >> 6) != 2) ok = false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (!ok || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      out.push_back(L'\uFFFD');
      ++i;
      continue;
    }
    // Control characters would move the cursor: show them as '?'.
    out.push_back(cp < 0x20 || cp == 0x7F ? L'?' : static_cast<wchar_t>(cp));
    i += n;
  }
  return out;
}

int DisplayWidth(const std::wstring& w) {
  int n = 0;
  for (wchar_t c : w) n += CharWidth(c);
  return n;
}

int DisplayWidth(const std::string& utf8) { return DisplayWidth(Widen(utf8)); }

std::vector<std::wstring> Wrap(const std::wstring& w, int width) {
  std::vector<std::wstring> lines;
  if (width < 2) width = 2;
  std::wstring cur;
  int cur_w = 0;
  for (wchar_t c : w) {
    const int cw = CharWidth(c);
    if (cur_w + cw > width) {
      size_t sp = cur.rfind(L' ');
      if (sp != std::wstring::npos && sp > 0) {
        std::wstring rest = cur.substr(sp + 1);
        cur.resize(sp);
        lines.push_back(cur);
        cur = rest;
        cur_w = DisplayWidth(cur);
      } else {
        lines.push_back(cur);
        cur.clear();
        cur_w = 0;
      }
    }
    cur.push_back(c);
    cur_w += cw;
  }
  lines.push_back(cur);
  return lines;
}

}  // namespace tern::ui
