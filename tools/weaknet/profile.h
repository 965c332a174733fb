// Weak-network profiles for tern-weaknet: what one shaped link does to the bytes crossing it.
//
// A Profile is plain data: per-direction link parameters (up = client -> server, down =
// server -> client) and connection-level faults. Named profiles (NamedProfile) are starting
// points; every field can be overridden by a tern-weaknet flag.
//
//   name          one-way delay  jitter  rate         loss/stall      drops
//   none          0              0       unlimited    0               none
//   3g            100 ms         20 ms   400 kbit/s   0.5 % / 400 ms  none
//   2g            300 ms         60 ms   40 kbit/s    1 % / 1000 ms   none
//   flaky         as 3g                                               every 5-30 s, 25 % half-open
//   edge-of-cell  as 2g, loss 3 %                                     every 5-30 s, 25 % half-open
//
// Thread safety: values.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tern::weaknet {

// One direction of a link.
struct DirectionParams {
  uint32_t delay_ms = 0;       // one-way propagation delay
  uint32_t jitter_ms = 0;      // extra delay per segment, uniform in [0, jitter]; order kept
  uint64_t rate_bps = 0;       // token-bucket rate in bit/s; 0 = unlimited
  uint32_t burst_bytes = 3000; // token-bucket depth (bytes that may go at once after idle)
  double loss = 0;             // probability that a segment is lost
  uint32_t stall_ms = 0;       // a lost segment arrives this much later (the retransmission
                               // timeout), and everything behind it waits (head-of-line)
};

// Connection-level faults. Drops happen at a random time in [drop_min_ms, drop_max_ms] after
// the connection opened (or every drop_every_ms when that is set); a drop is a reset (RST to
// both ends) or, with probability half_open, a black hole: forwarding stops silently in both
// directions, no FIN, no RST, and each end notices only by its own timeouts.
struct FaultParams {
  uint32_t drop_min_ms = 0;
  uint32_t drop_max_ms = 0;      // 0 = no random drops
  uint32_t drop_every_ms = 0;    // periodic drops (takes precedence); 0 = off
  double half_open = 0;          // fraction of drops that black-hole instead of resetting
  uint32_t half_open_hold_ms = 600000;  // a black-holed socket is closed after this at most
  uint64_t cut_after_bytes = 0;  // reset once this many bytes (both directions) went through
};

struct Profile {
  std::string name = "none";
  DirectionParams up;    // client -> server
  DirectionParams down;  // server -> client
  FaultParams faults;
};

// The named profile, or false when `name` is unknown.
bool NamedProfile(const std::string& name, Profile* out);
std::vector<std::string> ProfileNames();

// A small deterministic PRNG (splitmix64): the same seed gives the same run.
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t Next();
  // Uniform in [lo, hi] (lo when hi <= lo).
  uint64_t Uniform(uint64_t lo, uint64_t hi);
  // True with probability p.
  bool Chance(double p);

 private:
  uint64_t s_;
};

// A seed for connection number `index` derived from the run's seed.
uint64_t DeriveSeed(uint64_t seed, uint64_t index);

}  // namespace tern::weaknet
