// UvServer: runs the Core on a libuv loop — accepts TCP connections, feeds bytes in, writes the
// core's output, drives timers, and calls Core::EndTurn once per loop iteration (uv_check),
// which is where the turn's writes are committed.
//
// Output is coalesced per turn: uv_try_write first, the rest queued with uv_write. A connection
// whose unwritten output exceeds Config::max_outbound_bytes is closed. Handles are freed only in
// their close callbacks. libuv's own EMFILE reserve descriptor keeps accept from spinning when
// out of descriptors.
//
// Each connection has a Transport (server/transport.h): TLS (TlsTransport over memory BIOs)
// when a TlsServerContext is given, plain TCP otherwise. The Core sees plaintext only.
// Accepts beyond max_connections, beyond max_connections_per_ip from one address, or beyond
// the accept_rate token bucket are closed at once (counted in rejected()).
//
// Thread safety: everything runs on the loop thread.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "server/config.h"
#include "server/core.h"
#include "server/metrics.h"
#include "server/tls_context.h"

namespace tern::server {

class UvServer {
 public:
  // `tls` (may be null: plain TCP) must outlive the server.
  UvServer(const Config& config, Core& core, uv_loop_t* loop, const TlsServerContext* tls = nullptr);
  ~UvServer();

  // Binds and listens on config.listen. Errors: kUnavailable with libuv's message.
  Status Listen();
  // The bound address, e.g. "127.0.0.1:40123" (valid after Listen).
  std::string bound_address() const { return bound_; }

  // Starts a graceful stop: stop accepting, tell clients, flush, close (also on SIGTERM/SIGINT).
  void Stop();
  // Runs the loop until stopped and every handle is closed. Returns 0 on a clean stop.
  int Run();
  // Called once when a stop starts, so other handles on the loop (the admin listener) close too.
  void set_on_stop(std::function<void()> fn) { on_stop_ = std::move(fn); }

  UvStats stats() const { return stats_; }
  size_t connection_count() const { return conns_.size(); }
  bool stopping() const { return stopping_; }

 private:
  struct Conn;
  static uint64_t NowMs();
  void OnConnection(int status);
  void OnRead(Conn* c, ssize_t nread, const uv_buf_t* buf);
  void Flush();
  void Write(Conn* c, std::string bytes);
  void CloseConn(Conn* c);
  void MaybeFinishStop();
  // Accept policy: global cap, per-address cap, token bucket. Returns why not, or nullptr.
  const char* Refuse(const std::string& ip);
  // Hands `plain` (Core output) to the connection's transport and writes the result.
  void WritePlain(Conn* c, std::string plain);
  // Returns freed heap to the OS after the connection count fell well below its peak.
  void MaybeTrimHeap();
  // Counts the TLS handshake of `c` once: ok when done, failed when `failed` (or closing).
  void CountHandshake(Conn* c, bool failed);

  Config config_;
  Core& core_;
  uv_loop_t* loop_;
  uv_tcp_t listener_;
  uv_check_t check_;
  uv_timer_t timer_;
  uv_timer_t stop_deadline_;
  uv_timer_t commit_timer_;  // wakes the loop when deferred writes are due (Core::CommitDueMs)
  uv_signal_t sigterm_;
  uv_signal_t sigint_;
  bool stopping_ = false;
  bool handles_closed_ = false;
  std::string bound_;
  std::unordered_map<ConnId, Conn*> conns_;
  const TlsServerContext* tls_;
  std::unordered_map<std::string, uint32_t> per_ip_;  // open connections per peer address
  double accept_tokens_ = 0;
  uint64_t accept_refill_ms_ = 0;
  uint64_t rejected_ = 0;
  UvStats stats_;
  std::function<void()> on_stop_;
  uint64_t last_reject_log_ms_ = 0;
  size_t peak_conns_ = 0;
  std::string plain_scratch_;  // decrypted bytes of the current read (shared by all connections)
  char read_buf_[64 * 1024];
};

}  // namespace tern::server
