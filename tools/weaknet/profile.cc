#include "tools/weaknet/profile.h"

namespace tern::weaknet {
namespace {

DirectionParams Link(uint32_t delay, uint32_t jitter, uint64_t rate, double loss,
                     uint32_t stall) {
  DirectionParams d;
  d.delay_ms = delay;
  d.jitter_ms = jitter;
  d.rate_bps = rate;
  d.loss = loss;
  d.stall_ms = stall;
  return d;
}

Profile Make(const char* name, DirectionParams d) {
  Profile p;
  p.name = name;
  p.up = d;
  p.down = d;
  return p;
}

void AddDrops(Profile* p) {
  p->faults.drop_min_ms = 5000;
  p->faults.drop_max_ms = 30000;
  p->faults.half_open = 0.25;
}

}  // namespace

bool NamedProfile(const std::string& name, Profile* out) {
  const DirectionParams k3g = Link(100, 20, 400000, 0.005, 400);
  const DirectionParams k2g = Link(300, 60, 40000, 0.01, 1000);
  if (name == "none") {
    *out = Profile{};
  } else if (name == "3g") {
    *out = Make("3g", k3g);
  } else if (name == "2g") {
    *out = Make("2g", k2g);
  } else if (name == "flaky") {
    *out = Make("flaky", k3g);
    AddDrops(out);
  } else if (name == "edge-of-cell") {
    DirectionParams d = k2g;
    d.loss = 0.03;
    *out = Make("edge-of-cell", d);
    AddDrops(out);
  } else {
    return false;
  }
  return true;
}

std::vector<std::string> ProfileNames() { return {"none", "3g", "2g", "flaky", "edge-of-cell"}; }

uint64_t Rng::Next() {
  uint64_t z = (s_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t Rng::Uniform(uint64_t lo, uint64_t hi) {
  if (hi <= lo) return lo;
  return lo + Next() % (hi - lo + 1);
}

bool Rng::Chance(double p) {
  if (p <= 0) return false;
  if (p >= 1) return true;
  return static_cast<double>(Next() >> 11) * 0x1.0p-53 < p;
}

uint64_t DeriveSeed(uint64_t seed, uint64_t index) {
  Rng r(seed ^ (index * 0xd1b54a32d192ed03ULL));
  return r.Next();
}

}  // namespace tern::weaknet
