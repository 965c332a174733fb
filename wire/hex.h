// HexLower: bytes as lowercase hex, two digits a byte ("\x0a\xff" -> "0aff"). Header-only, like
// wire/status.h, so every layer (store, server, the blob store, tools, tests) shares one copy.
//
// Thread safety: a pure function.
#pragma once

#include <string>
#include <string_view>

namespace tern {

inline std::string HexLower(std::string_view raw) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(raw.size() * 2);
  for (unsigned char c : raw) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

}  // namespace tern
