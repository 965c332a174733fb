#include "tools/weaknet/conn_core.h"

#include <algorithm>

namespace tern::weaknet {

ConnCore::ConnCore(const Profile& profile, uint64_t seed, uint64_t now_us)
    : faults_(profile.faults),
      rng_(seed),
      up_(profile.up, DeriveSeed(seed, 1)),
      down_(profile.down, DeriveSeed(seed, 2)) {
  uint64_t after_ms = 0;
  if (faults_.drop_every_ms != 0) {
    after_ms = faults_.drop_every_ms;
  } else if (faults_.drop_max_ms != 0) {
    after_ms = rng_.Uniform(faults_.drop_min_ms, faults_.drop_max_ms);
  }
  if (after_ms != 0) drop_at_us_ = now_us + after_ms * 1000;
}

void ConnCore::OnData(Dir d, uint64_t now_us, std::string_view data) {
  if (state_ == State::kForwarding) {
    shaper(d).Push(now_us, data);
  } else {
    shaper(d).CountDropped(data.size());
  }
}

std::string ConnCore::TakeOutput(Dir d, uint64_t now_us) {
  if (state_ != State::kForwarding) return {};
  size_t max = std::string::npos;
  if (faults_.cut_after_bytes != 0) max = faults_.cut_after_bytes - forwarded_;
  std::string out = shaper(d).Pull(now_us, max);
  forwarded_ += out.size();
  if (faults_.cut_after_bytes != 0 && forwarded_ >= faults_.cut_after_bytes) {
    Drop(false, Reason::kCut);
  }
  return out;
}

void ConnCore::Tick(uint64_t now_us) {
  if (state_ != State::kForwarding || now_us < drop_at_us_) return;
  Drop(rng_.Chance(faults_.half_open), Reason::kDrop);
}

uint64_t ConnCore::NextDeadline() const {
  if (state_ != State::kForwarding) return kNever;
  return std::min({drop_at_us_, up_.NextDeadline(), down_.NextDeadline()});
}

void ConnCore::ForceDrop(bool black_hole) {
  if (state_ == State::kForwarding) Drop(black_hole, Reason::kDrop);
}

void ConnCore::Drop(bool black_hole, Reason why) {
  state_ = black_hole ? State::kBlackHole : State::kReset;
  reason_ = why;
  up_.DropHeld();
  down_.DropHeld();
}

}  // namespace tern::weaknet
