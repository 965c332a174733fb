// The dictionaries compiled into the wire library (generated from wire/dict/*.zdict by
// wire/dict/embed.cmake). Internal to wire/compress.cc; use wire/compress.h.
#pragma once

#include <cstddef>
#include <span>

namespace tern::wire::internal {

struct EmbeddedDict {
  const char* name;           // file name without .zdict, e.g. "tern-v1"
  const unsigned char* data;  // the zstd dictionary (its header carries the dictionary id)
  size_t size;
};

// Every embedded dictionary, in file-name order. Static storage.
std::span<const EmbeddedDict> EmbeddedDicts();

}  // namespace tern::wire::internal
