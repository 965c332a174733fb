// TlsTransport: a server-side TLS 1.3 connection over in-memory BIOs (OpenSSL never touches
// the socket; libuv keeps it). Ciphertext from the socket goes in through OnRead, plaintext
// for the Core comes out; Core output goes in through OnWrite, ciphertext comes out.
//
// The BIO is a tiny custom one reading from `in_` and appending to the caller's output string,
// so an idle connection holds no byte buffers at all (with SSL_MODE_RELEASE_BUFFERS, OpenSSL
// frees its record buffers too).
//
// Early data (TLS 1.3 0-RTT): read with SSL_read_early_data. Only leading Resume and Ping
// frames of it reach the Core before the handshake completes; from the first other frame on,
// early data is held until the client's Finished proves the connection is live (not a replay),
// then passed on in order. Core output before the handshake completes goes out as 0.5-RTT data
// when OpenSSL allows (so a Welcome answers a 0-RTT Resume in the server's first flight), and
// is held otherwise. Rules: wire/PROTOCOL.md §1.
//
// Thread safety: one connection, the loop thread.
#pragma once

#include <openssl/ssl.h>

#include "server/tls_context.h"
#include "server/transport.h"

namespace tern::server {

class TlsTransport final : public Transport {
 public:
  explicit TlsTransport(const TlsServerContext& context);
  ~TlsTransport() override;

  Result<std::span<const uint8_t>> OnRead(std::span<const uint8_t> in, std::string* scratch,
                                          std::string* to_socket) override;
  Status OnWrite(std::string&& plain, std::string* to_socket) override;
  void OnClose(std::string* to_socket) override;

  bool handshake_done() const override { return state_ == State::kOpen; }
  bool has_handshake() const override { return true; }

 private:
  enum class State { kEarly, kHandshake, kOpen, kFailed };
  friend struct TlsBio;
  Status Fail(const char* what, int ret);
  // Passes leading Resume/Ping frames of early data to `plain`; holds the rest in held_in_.
  void GateEarly(std::string* plain);
  void FlushHeldOutput();

  SSL* ssl_ = nullptr;
  size_t max_preauth_frame_;
  State state_ = State::kEarly;
  std::string in_;              // ciphertext not yet consumed by OpenSSL
  size_t in_off_ = 0;
  std::string* out_ = nullptr;  // where the BIO appends during a call
  std::string early_;           // early-data plaintext not yet judged by the gate
  bool gate_closed_ = false;    // a frame other than Resume/Ping was seen in early data
  std::string held_in_;         // early plaintext held until the handshake completes
  std::string held_out_;        // Core output held until it can be sent
};

}  // namespace tern::server
