#include "tools/weaknet/link_shaper.h"

#include <algorithm>

namespace tern::weaknet {

DirStats& DirStats::operator+=(const DirStats& o) {
  bytes_in += o.bytes_in;
  bytes_out += o.bytes_out;
  segments += o.segments;
  stalls += o.stalls;
  stall_ms += o.stall_ms;
  dropped += o.dropped;
  return *this;
}

LinkShaper::LinkShaper(const DirectionParams& params, uint64_t seed) : p_(params), rng_(seed) {}

void LinkShaper::Push(uint64_t now_us, std::string_view data) {
  stats_.bytes_in += data.size();
  while (!data.empty()) {
    size_t n = std::min(data.size(), kSegmentBytes);
    uint64_t start = now_us;
    uint64_t done = now_us;
    if (p_.rate_bps != 0) {
      // GCRA form of a token bucket: a segment may start as soon as the bucket (depth
      // burst_bytes) has room; it is on the wire `cost` later.
      const uint64_t cost = n * 8 * 1000000 / p_.rate_bps;
      const uint64_t tau = static_cast<uint64_t>(p_.burst_bytes) * 8 * 1000000 / p_.rate_bps;
      start = std::max(now_us, tat_us_ > tau ? tat_us_ - tau : 0);
      tat_us_ = std::max(tat_us_, now_us) + cost;
      done = start + cost;
    }
    uint64_t due = done + uint64_t{p_.delay_ms} * 1000;
    if (p_.jitter_ms != 0) due += rng_.Uniform(0, uint64_t{p_.jitter_ms} * 1000);
    if (rng_.Chance(p_.loss)) {
      due += uint64_t{p_.stall_ms} * 1000;
      ++stats_.stalls;
      stats_.stall_ms += p_.stall_ms;
    }
    due = std::max(due, last_due_us_);
    last_due_us_ = due;
    ++stats_.segments;
    segs_.push_back({due, std::string(data.substr(0, n))});
    held_ += n;
    data.remove_prefix(n);
  }
}

std::string LinkShaper::Pull(uint64_t now_us, size_t max) {
  std::string out;
  while (!segs_.empty() && segs_.front().due_us <= now_us && out.size() < max) {
    Segment& s = segs_.front();
    size_t take = std::min(s.bytes.size(), max - out.size());
    out.append(s.bytes, 0, take);
    if (take == s.bytes.size()) {
      segs_.pop_front();
    } else {
      s.bytes.erase(0, take);
    }
  }
  held_ -= out.size();
  stats_.bytes_out += out.size();
  return out;
}

void LinkShaper::DropHeld() {
  stats_.dropped += held_;
  held_ = 0;
  segs_.clear();
}

}  // namespace tern::weaknet
