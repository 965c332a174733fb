// Framing (wire/frame.h, wire/PROTOCOL.md §2): `frame := varint(n) flags body`, n = 1 + len(body).
#include "wire/frame.h"

#include <cstdlib>
#include <cstdio>
#include <utility>

namespace tern::wire {
namespace {

Status Bad(const char* what) { return Status(Code::kProtocol, what); }

// Largest n a frame header may declare: a 5-byte varint carries 35 bits, but n is a u32 on the
// wire (PROTOCOL.md §2), so a 5th byte above 0x0F is rejected rather than silently accepted.
constexpr uint64_t kMaxDeclared = UINT32_MAX;

}  // namespace

void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

Result<std::optional<FrameHeader>> ParseFrameHeader(std::span<const uint8_t> in,
                                                    size_t max_body) {
  uint64_t n = 0;
  size_t i = 0;
  for (;; ++i) {
    if (i == kMaxVarintBytes) return Bad("frame length varint longer than 5 bytes");
    if (i == in.size()) return std::optional<FrameHeader>();  // need more bytes
    const uint8_t byte = in[i];
    n |= static_cast<uint64_t>(byte & 0x7F) << (7 * i);
    if ((byte & 0x80) == 0) {
      // A zero final byte after a continuation adds nothing: the same n fits in fewer bytes.
      if (i > 0 && byte == 0) return Bad("frame length varint not minimally encoded");
      break;
    }
  }
  if (n > kMaxDeclared) return Bad("frame length varint over 2^32-1");
  if (n == 0) return Bad("frame length 0 (no flags byte)");
  // Checked as soon as the length is known, before the flags byte or any body byte is buffered.
  if (n - 1 > max_body) {
    return Status(Code::kFrameTooLarge, "frame body of " + std::to_string(n - 1) +
                                            " bytes over the limit of " +
                                            std::to_string(max_body));
  }
  const size_t varint_len = i + 1;
  if (in.size() == varint_len) return std::optional<FrameHeader>();
  const uint8_t flags = in[varint_len];
  if ((flags & ~kFlagsKnown) != 0) return Bad("unknown frame flag bits");
  return std::optional<FrameHeader>(
      FrameHeader{varint_len + 1, static_cast<size_t>(n - 1), flags});
}

std::string EncodeFrame(uint8_t flags, std::string_view body) {
  if (body.size() >= kMaxDeclared) {
    // Invariant: nothing in Tern builds a 4 GiB frame; the peer could not accept it anyway.
    std::fprintf(stderr, "EncodeFrame: body of %zu bytes cannot be framed\n", body.size());
    std::abort();
  }
  std::string out;
  out.reserve(kMaxVarintBytes + 1 + body.size());
  PutVarint(out, static_cast<uint64_t>(body.size()) + 1);
  out.push_back(static_cast<char>(flags));
  out.append(body);
  return out;
}

void FrameDecoder::Feed(std::span<const uint8_t> bytes) {
  if (error_) return;  // failed for good: nothing more will be read, keep nothing
  // Compact before growing: what Next() already returned is dropped, so the buffer holds at most
  // one partial frame plus the bytes of this call. Each byte is moved at most once per frame
  // boundary, so byte-at-a-time feeding stays linear.
  if (pos_ > 0) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  buf_.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

Result<std::optional<Frame>> FrameDecoder::Next() {
  if (error_) return *error_;
  std::span<const uint8_t> rest(reinterpret_cast<const uint8_t*>(buf_.data()) + pos_,
                                buf_.size() - pos_);
  auto header = ParseFrameHeader(rest, max_body_);
  if (!header.ok()) {
    error_ = std::make_unique<Status>(header.status());
    buf_.clear();
    buf_.shrink_to_fit();
    pos_ = 0;
    return *error_;
  }
  if (!header.value().has_value()) return std::optional<Frame>();
  const FrameHeader& h = *header.value();
  if (rest.size() - h.header_len < h.body_len) return std::optional<Frame>();
  Frame frame;
  frame.flags = h.flags;
  frame.body.assign(buf_, pos_ + h.header_len, h.body_len);
  pos_ += h.header_len + h.body_len;
  if (pos_ == buf_.size()) {
    // Nothing partial left: give the storage back, so an idle connection holds no buffer.
    std::string().swap(buf_);
    pos_ = 0;
  }
  return std::optional<Frame>(std::move(frame));
}

}  // namespace tern::wire
