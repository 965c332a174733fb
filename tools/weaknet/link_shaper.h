// LinkShaper: one direction of a shaped link, sans-IO. Bytes go in with the time they arrived
// (Push), come out when the link would have delivered them (Pull); time is an argument.
//
// Model, per segment of at most kSegmentBytes:
//  * bandwidth: a token bucket (rate_bps, burst_bytes) decides when the segment has been
//    serialised onto the link;
//  * propagation: + delay_ms + a uniform jitter in [0, jitter_ms];
//  * loss: with probability `loss` the segment is lost and retransmitted stall_ms later (a
//    retransmission stall, counted in stats().stalls);
//  * order: TCP delivers in order, so a segment never comes out before the one ahead of it
//    (a stall holds back everything behind it: head-of-line blocking).
// Nothing is ever dropped here: dropping is the connection's business (ConnCore).
//
// Thread safety: not thread-safe; one owner.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <string>
#include <string_view>

#include "tools/weaknet/profile.h"

namespace tern::weaknet {

inline constexpr size_t kSegmentBytes = 1448;  // MSS of a 1500-byte MTU with timestamps
inline constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();

struct DirStats {
  uint64_t bytes_in = 0;     // bytes read from the sending end
  uint64_t bytes_out = 0;    // bytes handed to the receiving end
  uint64_t segments = 0;     // segments the bytes were cut into (for header estimates)
  uint64_t stalls = 0;       // segments that were lost and retransmitted
  uint64_t stall_ms = 0;     // total retransmission delay added
  uint64_t dropped = 0;      // bytes lost when the connection dropped or was black-holed

  DirStats& operator+=(const DirStats& o);
};

class LinkShaper {
 public:
  LinkShaper(const DirectionParams& params, uint64_t seed);

  // `data` was sent at now_us. Times must not go backwards.
  void Push(uint64_t now_us, std::string_view data);
  // Moves out, in order, the bytes delivered by now_us (at most `max` bytes; a partly taken
  // segment keeps its remainder at the front).
  std::string Pull(uint64_t now_us, size_t max = std::numeric_limits<size_t>::max());
  // When the next byte is due (kNever when nothing is held).
  uint64_t NextDeadline() const { return segs_.empty() ? kNever : segs_.front().due_us; }
  // Bytes accepted but not yet pulled.
  size_t held() const { return held_; }
  // Forgets every held byte (the connection dropped); they count as dropped.
  void DropHeld();
  // Counts bytes discarded without entering the link (a black-holed connection).
  void CountDropped(size_t n) { stats_.dropped += n; stats_.bytes_in += n; }

  const DirStats& stats() const { return stats_; }

 private:
  struct Segment {
    uint64_t due_us;
    std::string bytes;
  };

  DirectionParams p_;
  Rng rng_;
  std::deque<Segment> segs_;
  size_t held_ = 0;
  uint64_t tat_us_ = 0;       // token bucket: theoretical arrival time (GCRA)
  uint64_t last_due_us_ = 0;  // in-order delivery
  DirStats stats_;
};

}  // namespace tern::weaknet
