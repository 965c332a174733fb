// TcpTransport: a small POSIX TCP connection for the client SDK and the tests.
//
// Non-blocking socket underneath; every blocking call takes a timeout and waits with poll(2),
// so nothing here can hang. TLS runs over it in tools/client/tls_transport.h.
// Closing comes in three flavours because the tests need them: Close() (FIN after the
// written bytes), and Abort(rst) which drops the connection at once (no goodbye; the
// destructor does this); with rst=true it sets SO_LINGER 0 so the peer sees a RST.
// Errors are kUnavailable with the errno text (kTimeout for a connect that timed out).
//
// Thread safety: one owner; not thread-safe. The clock is read here (steady_clock) only to
// turn timeouts into poll deadlines.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "tools/client/transport.h"
#include "wire/status.h"

namespace tern::tools {

// Splits "host:port" ("[v6]:port" too). Errors: kInvalidArgument.
Status ParseHostPort(std::string_view spec, std::string* host, uint16_t* port);

class TcpTransport final : public Transport {
 public:
  // Resolves `host` and connects within `timeout_ms`. Errors: kUnavailable (refused,
  // unreachable, resolution failed), kTimeout.
  static Result<std::unique_ptr<TcpTransport>> Connect(const std::string& host, uint16_t port,
                                                       int timeout_ms);
  ~TcpTransport() override;
  TcpTransport(const TcpTransport&) = delete;
  TcpTransport& operator=(const TcpTransport&) = delete;

  // Waits up to timeout_ms (0 = just check, <0 = forever) for readability (and writability
  // when `want_write`). Errors: kUnavailable (poll failed or the socket is closed).
  Result<Ready> Wait(bool want_write, int timeout_ms) override;

  // Writes what the kernel accepts now; returns the byte count (0 when it would block).
  Result<size_t> WriteSome(std::string_view data) override;
  // Writes all of `data` within timeout_ms. Errors: kUnavailable, kTimeout.
  Status WriteAll(std::string_view data, int timeout_ms);

  // Reads what is available now into `buf` (at most `cap` bytes). Returns the count; 0 with
  // *eof = true means the peer closed; 0 with *eof = false means nothing to read yet.
  Result<size_t> ReadSome(char* buf, size_t cap, bool* eof) override;

  // Orderly close: half-close, then discard input until the peer's EOF or drain_timeout_ms,
  // so the peer reads everything written so far, then EOF.
  void Close(int drain_timeout_ms = 1000) override;
  // Drops the connection at once; with rst the peer gets a TCP reset instead of a FIN.
  void Abort(bool rst) override;

  bool open() const override { return fd_ >= 0; }
  int fd() const override { return fd_; }

 private:
  explicit TcpTransport(int fd) : fd_(fd) {}
  int fd_;
};

// Milliseconds on the steady clock: the one place the client SDK reads time.
uint64_t SteadyNowMs();

}  // namespace tern::tools
