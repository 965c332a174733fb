// Transport: the byte stream under a Client's frames (CONVENTIONS rule 5: TLS is a transport
// under the frames; wire/ sees plaintext only). Two implementations: TcpTransport (plain TCP,
// tools/client/tcp_transport.h) and TlsTransport (TLS 1.3 over the same kind of socket,
// tools/client/tls_transport.h). Every call that waits takes a bound.
//
// Thread safety: one owner; not thread-safe.
#pragma once

#include <cstddef>
#include <string_view>

#include "wire/status.h"

namespace tern::tools {

class Transport {
 public:
  virtual ~Transport() = default;

  struct Ready {
    bool readable = false;  // data or EOF/error pending
    bool writable = false;
  };
  // Waits up to timeout_ms (0 = just check, <0 = forever) for readability (and writability
  // when `want_write`). Errors: kUnavailable (poll failed or the connection is closed).
  virtual Result<Ready> Wait(bool want_write, int timeout_ms) = 0;
  // Writes what can be written now; returns the byte count of `data` taken (0: would block).
  virtual Result<size_t> WriteSome(std::string_view data) = 0;
  // Reads what is available now into `buf` (at most `cap` bytes). Returns the count; 0 with
  // *eof = true means the peer closed; 0 with *eof = false means nothing to read yet.
  virtual Result<size_t> ReadSome(char* buf, size_t cap, bool* eof) = 0;
  // Orderly close: the peer reads everything written so far, then EOF (bounded drain).
  virtual void Close(int drain_timeout_ms = 1000) = 0;
  // Drops the connection at once; with rst the peer gets a TCP reset instead of a FIN.
  virtual void Abort(bool rst) = 0;
  virtual bool open() const = 0;
  virtual int fd() const = 0;
};

}  // namespace tern::tools
