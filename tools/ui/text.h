// Text measuring for the terminal view: UTF-8 to wide characters, display width (wcwidth:
// CJK and most emoji take two columns), and word wrapping on column boundaries. No ncurses.
//
// Widen decodes UTF-8 itself (not through the locale), replacing malformed bytes with U+FFFD.
// DisplayWidth uses wcwidth, which needs a UTF-8 LC_CTYPE (the UI sets the locale from the
// environment); a character it cannot measure counts as one column.
//
// Thread safety: plain functions.
#pragma once

#include <string>
#include <vector>

namespace tern::ui {

std::wstring Widen(const std::string& utf8);
int DisplayWidth(const std::wstring& w);
int DisplayWidth(const std::string& utf8);
// Splits `w` into lines of at most `width` columns, breaking after a space when one is in the
// line, else between characters. Always returns at least one (possibly empty) line.
std::vector<std::wstring> Wrap(const std::wstring& w, int width);

}  // namespace tern::ui
