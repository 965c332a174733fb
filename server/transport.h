// Transport: what sits between a connection's socket and the Core (CONVENTIONS rule 5: TLS is
// a transport under the frames; wire/ and the Core see plaintext only). The libuv layer owns
// the socket and one Transport per connection; it hands every read to OnRead and every chunk
// of Core output to OnWrite, and writes whatever they put in `to_socket`.
//
// Two implementations: PlainTransport (below: bytes pass through) and TlsTransport
// (server/tls_transport.h: OpenSSL over in-memory BIOs, so the socket stays with libuv).
//
// Errors are fatal for the connection: the caller writes `to_socket` (e.g. a TLS alert) and
// closes. Thread safety: one connection, the loop thread.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "wire/status.h"

namespace tern::server {

class Transport {
 public:
  virtual ~Transport() = default;

  // Bytes read from the socket. Returns the plaintext for the Core: either a view of `in`
  // itself or of `*scratch` (valid until the next call that uses `scratch`). Bytes the
  // transport must send back (handshake records, alerts) are appended to `*to_socket`.
  // Errors: kProtocol (not TLS, bad handshake, ALPN mismatch, bad record) — close.
  virtual Result<std::span<const uint8_t>> OnRead(std::span<const uint8_t> in,
                                                  std::string* scratch,
                                                  std::string* to_socket) = 0;

  // Plaintext from the Core. Appends the bytes to write to `*to_socket` (ciphertext, or the
  // plaintext itself); a TLS transport whose handshake is still running holds it and emits
  // it later through OnRead's `to_socket`. Errors: kProtocol (the TLS session failed).
  virtual Status OnWrite(std::string&& plain, std::string* to_socket) = 0;

  // The connection is about to be closed gracefully: append a goodbye (TLS close_notify).
  virtual void OnClose(std::string* to_socket) { (void)to_socket; }

  // True once the transport carries application data (at once for plain TCP). Metrics only.
  virtual bool handshake_done() const { return true; }
  // True for transports that have a handshake to count (TLS).
  virtual bool has_handshake() const { return false; }
};

// Plain TCP: bytes pass through untouched (only behind ternd's explicit --plain-tcp).
class PlainTransport final : public Transport {
 public:
  Result<std::span<const uint8_t>> OnRead(std::span<const uint8_t> in, std::string*,
                                          std::string*) override {
    return in;
  }
  Status OnWrite(std::string&& plain, std::string* to_socket) override {
    if (to_socket->empty()) *to_socket = std::move(plain);
    else to_socket->append(plain);
    return Status::Ok();
  }
};

}  // namespace tern::server
