// ConnCore: one proxied TCP connection of tern-weaknet, sans-IO. Two LinkShapers (up = client
// -> server, down = server -> client) plus the connection's faults: a drop scheduled when the
// connection opens (reset, or a silent black hole), and a cut after N bytes. The proxy loop
// (tools/weaknet/proxy.h) reads sockets into OnData, writes TakeOutput to the other socket,
// calls Tick at NextDeadline, and acts on state(). Time is an argument (microseconds).
//
// Thread safety: not thread-safe; one owner.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "tools/weaknet/link_shaper.h"
#include "tools/weaknet/profile.h"

namespace tern::weaknet {

enum class Dir { kUp = 0, kDown = 1 };

class ConnCore {
 public:
  enum class State {
    kForwarding,
    kReset,      // close both ends with RST (a drop, or the byte cut was reached)
    kBlackHole,  // forward nothing, send nothing: each end finds out by its own timeouts
  };
  enum class Reason { kNone, kDrop, kCut };

  // `seed` makes the connection's randomness (jitter, loss, drop time) reproducible.
  ConnCore(const Profile& profile, uint64_t seed, uint64_t now_us);

  // Bytes read from the sending end of `d`. While black-holed they are counted and discarded.
  void OnData(Dir d, uint64_t now_us, std::string_view data);
  // Bytes to write to the receiving end of `d` now. Honours the byte cut: the bytes up to
  // the cut come out, then state() becomes kReset.
  std::string TakeOutput(Dir d, uint64_t now_us);
  // Applies a scheduled drop whose time has come.
  void Tick(uint64_t now_us);
  // Earliest time TakeOutput or Tick has something to do (kNever if none).
  uint64_t NextDeadline() const;
  // Drop now (an operator's forced drop): reset, or black hole when `black_hole`.
  void ForceDrop(bool black_hole);

  State state() const { return state_; }
  Reason reason() const { return reason_; }
  size_t held(Dir d) const { return shaper(d).held(); }
  const DirStats& stats(Dir d) const { return shaper(d).stats(); }
  uint64_t drop_at_us() const { return drop_at_us_; }

 private:
  LinkShaper& shaper(Dir d) { return d == Dir::kUp ? up_ : down_; }
  const LinkShaper& shaper(Dir d) const { return d == Dir::kUp ? up_ : down_; }
  void Drop(bool black_hole, Reason why);

  FaultParams faults_;
  Rng rng_;
  LinkShaper up_;
  LinkShaper down_;
  State state_ = State::kForwarding;
  Reason reason_ = Reason::kNone;
  uint64_t drop_at_us_ = kNever;
  uint64_t forwarded_ = 0;
};

}  // namespace tern::weaknet
