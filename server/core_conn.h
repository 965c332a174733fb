// Core::Conn — per-connection state of the core (private to server/core*.cc, handle_*.cc).
#pragma once

#include <deque>

#include "server/core.h"

namespace tern::server {

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
  std::deque<uint64_t> unacked;   // inbox seqs sent, not yet acknowledged (size <= window)
};

}  // namespace tern::server
