#include "tools/client/link_policy.h"

#include <algorithm>
#include <cmath>

namespace tern::tools {

LinkPolicy::LinkPolicy(Options options, uint64_t seed)
    : o_(options),
      rng_(seed),
      srtt_ms_(options.rtt_initial_ms),
      rttvar_ms_(options.rtt_initial_ms / 2.0) {}

uint64_t LinkPolicy::Random() {
  uint64_t z = (rng_ += 0x9e3779b97f4a7c15ULL);  // splitmix64
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t LinkPolicy::Backoff(uint64_t now_ms) {
  uint64_t cap = o_.backoff_initial_ms;
  for (uint32_t i = 0; i < failures_ && cap < o_.backoff_max_ms; ++i) cap *= 2;
  cap = std::min<uint64_t>(cap, o_.backoff_max_ms);
  uint64_t half = cap / 2;
  return now_ms + half + (cap - half == 0 ? 0 : Random() % (cap - half + 1));
}

uint64_t LinkPolicy::OnConnectFailed(uint64_t now_ms) {
  uint64_t at = Backoff(now_ms);
  ++failures_;
  return at;
}

uint64_t LinkPolicy::OnDisconnected(uint64_t now_ms, bool idle) {
  failures_ = 0;
  answered_in_row_ = 0;
  if (idle && heartbeat_ms_ != 0) {
    heartbeat_ms_ = std::max(o_.heartbeat_floor_ms, heartbeat_ms_ - heartbeat_ms_ / 3);
    heartbeat_ms_ = std::min(heartbeat_ms_, server_heartbeat_ms_);
  }
  return Backoff(now_ms);
}

void LinkPolicy::OnConnected(uint32_t server_heartbeat_ms, uint64_t handshake_ms) {
  failures_ = 0;
  server_heartbeat_ms_ = server_heartbeat_ms;
  if (heartbeat_ms_ == 0 || heartbeat_ms_ > server_heartbeat_ms) {
    heartbeat_ms_ = server_heartbeat_ms;
  }
  OnRttSample(handshake_ms);
}

void LinkPolicy::OnRttSample(uint64_t rtt_ms) {
  const double r = static_cast<double>(rtt_ms);
  if (!have_rtt_) {
    have_rtt_ = true;
    srtt_ms_ = r;
    rttvar_ms_ = r / 2;
    return;
  }
  rttvar_ms_ = 0.75 * rttvar_ms_ + 0.25 * std::fabs(srtt_ms_ - r);
  srtt_ms_ = 0.875 * srtt_ms_ + 0.125 * r;
}

void LinkPolicy::OnIdleHeartbeatAnswered() {
  if (++answered_in_row_ < 3) return;
  answered_in_row_ = 0;
  heartbeat_ms_ = std::min(server_heartbeat_ms_, heartbeat_ms_ + heartbeat_ms_ / 4);
}

uint32_t LinkPolicy::dead_after_ms() const {
  double d = 4 * srtt_ms_ + 4 * rttvar_ms_;
  d = std::clamp(d, static_cast<double>(o_.dead_min_ms), static_cast<double>(o_.dead_max_ms));
  return static_cast<uint32_t>(d);
}

}  // namespace tern::tools
