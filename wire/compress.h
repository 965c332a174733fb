// Frame-body compression: per-frame (stateless) zstd, optionally with a trained dictionary,
// negotiated in the handshake by dictionary id (wire/PROTOCOL.md §2.3).
//
// Dictionary ids: 0 = no compression; 1 = zstd without a dictionary; any other id is the id in
// the header of a trained dictionary compiled into this library from wire/dict/*.zdict (the
// Tern dictionaries tern-vN carry id 1000 + N). Newer dictionaries have higher ids.
//
// The compressed body is one zstd frame in the magicless format (no 4-byte magic), without a
// checksum (TCP/TLS already protect the bytes) and without the dictionary id (the handshake
// fixed it), but with the content size: the receiver checks it against its limits before it
// allocates or decompresses anything, and the output must have exactly that size.
//
// Thread safety: every function may be called from any thread. Compression and decompression
// contexts and the digested dictionaries are cached per thread (thread_local) and shared by all
// the connections that thread serves: nothing is kept per connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "wire/status.h"

namespace tern::wire {

inline constexpr uint32_t kDictNone = 0;
inline constexpr uint32_t kDictPlainZstd = 1;
// Hard cap on a decompressed body, whatever the frame limit: a "zstd bomb" above it is
// kProtocol before a single byte is decompressed.
inline constexpr size_t kMaxDecompressedBody = 4u << 20;

struct DictInfo {
  uint32_t id = 0;
  std::string name;                 // "zstd" or the file name, e.g. "tern-v1"
  std::span<const uint8_t> bytes;   // empty for plain zstd; static storage
};

// Every compression this library can speak, newest (highest id) first; plain zstd is last.
const std::vector<DictInfo>& KnownDicts();
// The dictionary with this id, nullptr if unknown (kDictNone is unknown too).
const DictInfo* FindDict(uint32_t id);
// What a client offers by default: every known id, newest first.
std::vector<uint32_t> DefaultDictOffer();
// The server's choice: the newest id that is in `offered` and known here and (when `allowed`
// is not empty) in `allowed`; kDictNone when there is none.
uint32_t ChooseDict(std::span<const uint32_t> offered, std::span<const uint32_t> allowed = {});

// Compresses `body` with `dict_id`. Returns nullopt when the result would not be smaller than
// `body` (the frame then goes uncompressed) or when `dict_id` is not known.
std::optional<std::string> CompressBody(std::string_view body, uint32_t dict_id);

// Decompresses a compressed body. The declared content size must be present, at most
// min(max_body, kMaxDecompressedBody), and match the output exactly; the input must be exactly
// one frame. Errors: kProtocol (unknown dictionary, malformed or truncated zstd data, missing
// or too large content size, trailing bytes).
Result<std::string> DecompressBody(std::span<const uint8_t> compressed, uint32_t dict_id,
                                   size_t max_body);

}  // namespace tern::wire
