// Proxy: tern-weaknet's IO loop. Accepts TCP connections on a listening socket, opens one
// upstream connection for each, and moves bytes between the two through a ConnCore (the
// sans-IO shaping and fault core, tools/weaknet/conn_core.h). One thread, poll(2), non-blocking
// sockets; the clock is read once per loop turn.
//
// Backpressure: a direction stops reading from its sending socket while the bytes it holds
// (in the link plus not yet written) exceed max_buffered, so a slow link pushes back through
// TCP windows exactly as a real one does; nothing grows without bound.
// Faults: a reset closes both sockets with RST (SO_LINGER 0) once the bytes already due are
// written; a black hole stops forwarding and keeps both sockets open, reading and discarding,
// until each end closes its socket itself (or half_open_hold_ms passes). A peer's FIN is
// passed on as a FIN once everything before it was delivered; a peer's RST as an RST.
//
// Thread safety: Run() on one thread. Stop(), RequestReport(), ForceDrop() and Stats() may be
// called from any thread; wake_fd() may be written from a signal handler.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "tools/weaknet/conn_core.h"
#include "tools/weaknet/profile.h"
#include "wire/status.h"

namespace tern::weaknet {

struct ProxyOptions {
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 0;  // 0 = any free port (see Proxy::port())
  std::string upstream_host = "127.0.0.1";
  uint16_t upstream_port = 0;
  Profile profile;
  uint64_t seed = 1;              // connection n uses DeriveSeed(seed, n)
  size_t max_buffered = 256 << 10;  // per direction, see above
  uint32_t report_ms = 0;         // call on_report this often (0 = only on request)
  bool verbose = false;           // one stderr line per connection event
};

struct ProxyStats {
  uint64_t connections = 0;  // accepted so far
  uint64_t live = 0;
  uint64_t resets = 0;       // drops that reset both ends
  uint64_t half_opens = 0;   // drops that black-holed the connection
  uint64_t cuts = 0;         // connections reset by the byte cut
  DirStats up;               // client -> server
  DirStats down;             // server -> client
};
// One JSON object on one line (no newline).
std::string StatsJson(const ProxyStats& s, const std::string& profile);

class Proxy {
 public:
  // Binds and listens; resolves nothing else yet. Errors: kInvalidArgument (bad address),
  // kUnavailable (socket/bind/listen failed).
  static Result<std::unique_ptr<Proxy>> Listen(ProxyOptions options);
  ~Proxy();
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  uint16_t port() const { return port_; }
  // Runs until Stop(); closes every connection (RST) before returning.
  void Run();

  // Thread-safe (they write one byte to the wake pipe).
  void Stop();
  void RequestReport();
  // Drops every live connection now: reset, or black hole when `black_hole`.
  void ForceDrop(bool black_hole);
  // The write end of the wake pipe; a signal handler may write 'q' (stop), 'r' (report),
  // 'd' (drop all: reset) or 'h' (drop all: black hole).
  int wake_fd() const { return wake_[1]; }

  // A snapshot as of the end of the latest loop turn. Thread-safe.
  ProxyStats Stats() const;
  // Called on the loop thread on RequestReport() and every report_ms, and once at exit.
  std::function<void(const ProxyStats&)> on_report;

 private:
  struct Pair;
  explicit Proxy(ProxyOptions options);
  void Accept(uint64_t now_us);
  bool Service(Pair& p, uint64_t now_us);  // false: the pair is finished, remove it
  void ReadSide(Pair& p, int side, uint64_t now_us);
  void WriteSide(Pair& p, int side);
  void CloseSide(Pair& p, int side, bool rst);
  void Finish(Pair& p, bool rst);
  void Account(Pair& p);
  void PublishStats();

  ProxyOptions options_;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  uint16_t port_ = 0;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  mutable std::mutex mu_;
  ProxyStats published_;
};

}  // namespace tern::weaknet
