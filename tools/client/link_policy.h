// LinkPolicy: the client's decisions about a weak link, sans-IO (time is an argument):
//
//  * reconnect backoff: exponential with "equal jitter" -- after the n-th consecutive failure
//    the next attempt waits a uniform time in [cap/2, cap], cap = min(backoff_max_ms,
//    backoff_initial_ms * 2^n); a drop after a successful session starts again at n = 0, so a
//    phone back in coverage reconnects within backoff_initial_ms, while a server that is down
//    is not hammered by every client in lockstep;
//  * round-trip estimate: smoothed RTT and variance (RFC 6298 weights) from handshake and
//    Ping/Pong samples;
//  * dead link: once the client waits for an answer (a Send not yet acknowledged, a Ping not
//    yet answered), the link is declared dead when no frame at all arrived for
//    dead_after_ms() = clamp(4 * srtt + 4 * rttvar, dead_min_ms, dead_max_ms): far quicker
//    than TCP's own retransmission timeout (minutes) and than the server's 1.5 x heartbeat;
//  * heartbeat adaptation: the interval starts at the server's advertised heartbeat_ms; a
//    connection that dies while idle (the signature of a carrier NAT that forgot the mapping)
//    shrinks it by a third, down to heartbeat_floor_ms; every 3 idle heartbeats answered in a
//    row grow it by a quarter, never above the server's value (which the server relies on).
//
// Thread safety: not thread-safe; one owner.
#pragma once

#include <cstdint>

namespace tern::tools {

class LinkPolicy {
 public:
  struct Options {
    uint32_t backoff_initial_ms = 1000;
    uint32_t backoff_max_ms = 60000;
    uint32_t dead_min_ms = 5000;
    uint32_t dead_max_ms = 60000;
    uint32_t rtt_initial_ms = 1000;  // before any sample
    uint32_t heartbeat_floor_ms = 30000;
  };

  LinkPolicy(Options options, uint64_t seed);

  // A connection attempt failed (connect, handshake or timeout): when to try again.
  uint64_t OnConnectFailed(uint64_t now_ms);
  // An authenticated connection ended. `idle` when nothing was in flight and nothing had been
  // sent or received for at least half the heartbeat. Returns when to reconnect.
  uint64_t OnDisconnected(uint64_t now_ms, bool idle);
  // A handshake succeeded after `handshake_ms` (one round trip plus connect: an RTT sample).
  void OnConnected(uint32_t server_heartbeat_ms, uint64_t handshake_ms);
  void OnRttSample(uint64_t rtt_ms);
  // A heartbeat Ping sent on an idle connection came back.
  void OnIdleHeartbeatAnswered();

  uint32_t heartbeat_ms() const { return heartbeat_ms_; }  // 0 before the first Welcome
  uint32_t dead_after_ms() const;
  uint32_t srtt_ms() const { return static_cast<uint32_t>(srtt_ms_); }
  uint32_t failures_in_row() const { return failures_; }

 private:
  uint64_t Backoff(uint64_t now_ms);
  uint64_t Random();

  Options o_;
  uint64_t rng_;
  uint32_t failures_ = 0;
  bool have_rtt_ = false;
  double srtt_ms_;
  double rttvar_ms_;
  uint32_t server_heartbeat_ms_ = 0;
  uint32_t heartbeat_ms_ = 0;
  uint32_t answered_in_row_ = 0;
};

}  // namespace tern::tools
