// Core::Conn — per-connection state of the core (private to server/core*.cc, handle_*.cc).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "server/core.h"

namespace tern::server {

// The inbox seqs a connection has in flight, oldest first. Unlike std::deque (whose libstdc++
// constructor allocates ~600 bytes) it holds no heap while empty, i.e. on every idle
// connection, and only a pointer (8 bytes) inline.
class SeqFifo {
 public:
  bool empty() const { return !q_ || q_->head == q_->v.size(); }
  size_t size() const { return q_ ? q_->v.size() - q_->head : 0; }
  uint64_t front() const { return q_->v[q_->head]; }
  void push_back(uint64_t seq) {
    if (!q_) q_ = std::make_unique<Q>();
    q_->v.push_back(seq);
  }
  void pop_front() {
    if (++q_->head == q_->v.size()) {
      clear();
    } else if (q_->head >= 64 && q_->head * 2 >= q_->v.size()) {  // amortised compaction
      q_->v.erase(q_->v.begin(), q_->v.begin() + static_cast<std::ptrdiff_t>(q_->head));
      q_->head = 0;
    }
  }
  void clear() { q_.reset(); }

 private:
  struct Q {
    std::vector<uint64_t> v;
    size_t head = 0;
  };
  std::unique_ptr<Q> q_;
};

struct Core::Conn {
  Conn(ConnId i, std::shared_ptr<const wire::Session::Options> o, uint64_t now)
      : id(i), session(wire::Session::Role::kServer, std::move(o)), opened_ms(now), last_rx_ms(now) {}

  // Members ordered to leave no padding: thousands of these sit idle (bench/e2e_conns.cc).
  ConnId id;
  wire::Session session;
  uint64_t opened_ms;
  uint64_t last_rx_ms;

  // Set once authenticated (Attach).
  store::DeviceKey dev;
  uint64_t sent_seq = 0;          // highest inbox seq written to this connection
  SeqFifo unacked;                // inbox seqs sent, not yet acknowledged (size <= window)
  // Presence: the users this connection watches.
  std::unique_ptr<std::vector<uint64_t>> watching;
  uint32_t window = 0;
  uint32_t handshake_frames = 0;
  bool handshake_staged = false;  // a Verify/Link/Resume awaits the turn's commit
  bool closing = false;           // close once the output is written
  bool authed = false;
  // Presence: whether the client says it is in the foreground (SetPresence) and whether this
  // connection currently counts toward its user being online.
  bool active = true;
  bool counted = false;
};

}  // namespace tern::server
