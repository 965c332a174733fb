// UvAdmin: the admin HTTP port on ternd's libuv loop — GET /metrics (Prometheus text,
// server/metrics.h), /healthz (liveness: answered by the loop itself) and /readyz (readiness:
// 200 when the store is open, the last commit succeeded and ternd is not stopping; 503 with the
// reason otherwise). Plain HTTP/1.1, one request per connection (Connection: close), parsed by
// Debian's http-parser; bounded by admin_max_connections, admin_max_request_bytes and
// handshake_timeout_ms (a request not complete by then is dropped). No authentication: it binds
// loopback by default (admin_listen), which is where a Prometheus agent or a health checker on
// the same host reaches it.
//
// Thread safety: everything runs on the loop thread. Handles are freed in close callbacks.
#pragma once

#include <uv.h>

#include <functional>
#include <set>
#include <string>

#include "server/config.h"

namespace tern::server {

class UvAdmin {
 public:
  struct Handlers {
    std::function<std::string()> metrics;    // body of GET /metrics
    std::function<std::string()> not_ready;  // "" when ready, else why not (GET /readyz)
  };
  // `loop` must outlive the admin server; the handlers are called on the loop thread.
  UvAdmin(const Config& config, uv_loop_t* loop, Handlers handlers);
  ~UvAdmin();

  // Binds config.admin_listen. Errors: kInvalidArgument (bad address), kUnavailable (bind).
  Status Listen();
  std::string bound_address() const { return bound_; }
  // Stops listening and closes every admin connection (ternd is stopping). Idempotent.
  void Close();

  // The response to one parsed request (status line, headers and body), for tests too.
  static std::string Respond(const std::string& method, const std::string& url, const Handlers& handlers);

  struct Conn;  // one admin connection (internal; public for http-parser's C callbacks)

 private:
  void OnConnection(int status);
  void OnRead(Conn* c, ssize_t nread, const uv_buf_t* buf);
  void Reply(Conn* c, std::string response);
  void CloseConn(Conn* c);
  void Sweep();

  const Config config_;
  uv_loop_t* loop_;
  Handlers handlers_;
  uv_tcp_t listener_;
  uv_timer_t sweep_;
  bool listening_ = false;
  bool closed_ = false;
  std::string bound_;
  std::set<Conn*> conns_;
};

}  // namespace tern::server
