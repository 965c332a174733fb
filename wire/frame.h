// Framing: `frame := varint(n) flags body`, n = 1 + len(body) (see wire/PROTOCOL.md §2).
//
// The varint is unsigned LEB128, at most 5 bytes, minimally encoded. `flags` bit 0 marks a
// compressed body (negotiated separately, see PROTOCOL.md); every other bit must be zero.
// The declared length is checked against the limit before a single body byte is buffered.
//
// Thread safety: a FrameDecoder is owned by one connection; not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "wire/status.h"

namespace tern::wire {

inline constexpr uint8_t kFlagCompressed = 0x01;
inline constexpr uint8_t kFlagsKnown = kFlagCompressed;
inline constexpr size_t kMaxVarintBytes = 5;

struct Frame {
  uint8_t flags = 0;
  std::string body;
};

// Appends the varint encoding of v to out.
void PutVarint(std::string& out, uint64_t v);

// Header of a frame at the start of `in`.
struct FrameHeader {
  size_t header_len = 0;  // varint + flags byte
  size_t body_len = 0;
  uint8_t flags = 0;
};
// Parses a frame header. Returns nullopt (with ok status) when more bytes are needed.
// Errors: kProtocol (non-minimal/overlong varint, n == 0, unknown flag bits),
// kFrameTooLarge (n - 1 > max_body).
Result<std::optional<FrameHeader>> ParseFrameHeader(std::span<const uint8_t> in, size_t max_body);

// Encodes one whole frame.
std::string EncodeFrame(uint8_t flags, std::string_view body);

// Incremental decoder. Feed any split of the byte stream; Next() yields whole frames in order.
class FrameDecoder {
 public:
  explicit FrameDecoder(size_t max_body) : max_body_(max_body) {}

  // Lower or raise the body limit (e.g. after authentication). Applies to the next header.
  void set_max_body(size_t max_body) { max_body_ = max_body; }

  // Buffers bytes. Never fails; errors surface from Next().
  void Feed(std::span<const uint8_t> bytes);

  // The next complete frame, nullopt if more bytes are needed. Errors are sticky: once Next()
  // returned an error it returns the same error forever.
  Result<std::optional<Frame>> Next();

  // Bytes buffered but not yet returned as frames.
  size_t buffered() const { return buf_.size() - pos_; }

 private:
  size_t max_body_;
  std::string buf_;
  size_t pos_ = 0;
  std::unique_ptr<Status> error_;  // set once failed (8 bytes, not 40, on every healthy connection)
};

}  // namespace tern::wire
