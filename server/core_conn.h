// Core::Conn — per-connection state of the core (private to server/core*.cc, handle_*.cc).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "server/core.h"

namespace tern::server {

// The inbox seqs a connection has in flight, oldest first. Unlike std::deque (whose libstdc++
// constructor allocates ~600 bytes) it holds no heap while empty, i.e. on every idle connection.
class SeqFifo {
 public:
  bool empty() const { return head_ == v_.size(); }
  size_t size() const { return v_.size() - head_; }
  uint64_t front() const { return v_[head_]; }
  void push_back(uint64_t seq) { v_.push_back(seq); }
  void pop_front() {
    if (++head_ == v_.size()) {
      clear();
    } else if (head_ >= 64 && head_ * 2 >= v_.size()) {  // amortised compaction
      v_.erase(v_.begin(), v_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }
  void clear() {
    std::vector<uint64_t>().swap(v_);
    head_ = 0;
  }

 private:
  std::vector<uint64_t> v_;
  size_t head_ = 0;
};

struct Core::Conn {
  Conn(ConnId i, const wire::Session::Options& o, uint64_t now)
      : id(i), session(wire::Session::Role::kServer, o), opened_ms(now), last_rx_ms(now) {}

  ConnId id;
  wire::Session session;
  uint64_t opened_ms;
  uint64_t last_rx_ms;
  uint32_t handshake_frames = 0;
  bool handshake_staged = false;  // a Verify/Link/Resume awaits the turn's commit
  bool closing = false;           // close once the output is written

  // Set once authenticated (Attach).
  bool authed = false;
  store::DeviceKey dev;
  uint32_t window = 0;
  uint64_t sent_seq = 0;          // highest inbox seq written to this connection
  SeqFifo unacked;                // inbox seqs sent, not yet acknowledged (size <= window)

  // Presence: whether the client says it is in the foreground (SetPresence), whether this
  // connection currently counts toward its user being online, and the users it watches.
  bool active = true;
  bool counted = false;
  std::unique_ptr<std::vector<uint64_t>> watching;
};

}  // namespace tern::server
