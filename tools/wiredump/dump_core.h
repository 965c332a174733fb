// tern-wiredump's sans-IO core: TCP reassembly per direction, frame decoding with the
// negotiated dictionary, and the text/JSON renderings of every frame.
//
//  * Reassembler: one direction of one TCP connection. Segments go in with their sequence
//    number in any order; bytes come out once, in stream order. Retransmitted and overlapping
//    segments are trimmed to what is new; segments beyond a hole wait until it is filled.
//  * FrameStream: one direction's byte stream -> frame records. A frame whose header is
//    malformed (varint, flags, length over the limit) stops that direction (nothing after it
//    can be trusted); a frame whose body does not decompress or verify is reported with its
//    offset and reason and skipped by its declared length (the stream stays in sync).
//  * Conversation: both directions of one connection. A Welcome seen server->client fixes the
//    dictionary for both directions, as in the protocol (PROTOCOL.md §2.3).
//
// Thread safety: plain values; one owner.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "wire/messages.h"
#include "wire/status.h"

namespace tern::tools::wiredump {

class Reassembler {
 public:
  // `seq` is the TCP sequence number of payload[0]. The first call fixes the stream's start
  // unless Start() was called (the SYN's seq + 1).
  void Start(uint32_t next_seq);
  // Returns the bytes that became contiguous (possibly empty).
  std::string Add(uint32_t seq, std::span<const uint8_t> payload);
  uint64_t delivered() const { return delivered_; }   // stream offset of the next byte
  uint64_t retransmitted_bytes() const { return dup_; }
  size_t pending_segments() const { return pending_.size(); }

 private:
  bool started_ = false;
  uint32_t next_ = 0;        // sequence number of the next byte in order
  uint64_t delivered_ = 0;
  uint64_t dup_ = 0;
  std::map<uint64_t, std::string> pending_;  // out of order, keyed by offset from next_
};

struct FrameRecord {
  uint64_t offset = 0;        // of the frame's first byte in its direction's stream
  size_t wire_bytes = 0;      // header + body as sent
  size_t body_bytes = 0;      // FlatBuffer bytes (after decompression)
  bool compressed = false;
  uint32_t dict_id = 0;       // used to decompress
  std::optional<wire::Message> message;  // absent when malformed
  std::string error;          // why the frame is malformed
  bool fatal = false;         // the direction stops here
};

class FrameStream {
 public:
  explicit FrameStream(size_t max_body = 16u << 20) : max_body_(max_body) {}
  // Appends bytes; returns every frame completed by them.
  std::vector<FrameRecord> Feed(std::string_view bytes);
  // Dictionary for compressed frames from now on (0: guess among the known ones).
  void set_dict(uint32_t id) { dict_ = id; }
  bool stopped() const { return stopped_; }
  // Bytes held in an incomplete frame (reported as truncated at the end of the input).
  size_t buffered() const { return buf_.size() - pos_; }
  uint64_t offset() const { return base_ + pos_; }

 private:
  FrameRecord Decode(uint64_t offset, size_t header, uint8_t flags, std::string_view body);
  size_t max_body_;
  uint32_t dict_ = 0;
  bool stopped_ = false;
  std::string buf_;
  size_t pos_ = 0;
  uint64_t base_ = 0;  // stream offset of buf_[0]
};

// One rendered line per frame.
std::string SummaryLine(const FrameRecord& r);
// Every field of the message as a JSON object ("type" first).
std::string MessageJson(const wire::Message& m);
std::string JsonString(std::string_view s);

}  // namespace tern::tools::wiredump
