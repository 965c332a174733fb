// Client TLS 1.3 for the SDK: TlsClientContext (one per Client: the SSL_CTX, how the server is
// verified, and the session ticket kept across reconnects and restarts) and TlsTransport (one
// connection: OpenSSL over a non-blocking TcpTransport socket; every wait is bounded).
//
// Verification: against a CA file (chain + host name or IP), against a pinned SHA-256
// fingerprint of the server certificate (ternd prints it and writes <data>/tls/cert.sha256;
// `openssl x509 -fingerprint -sha256` shows the same), or, with neither, the system CAs.
// ALPN offers TlsOptions::alpn ("tern/1"; the blob client: "http/1.1"); a server that picks
// another protocol is refused.
//
// Tickets: the newest session ticket is kept in memory and, when `session_path` is set, in that
// file (with the server identity it was verified for, so a changed pin or CA drops it). A
// connection with a ticket resumes (no certificate exchange); when the ticket allows early data
// and `early_data` is on, the first write (the Resume frame) goes out as TLS 1.3 0-RTT data
// with the ClientHello, and is sent again after the handshake if the server rejected it.
//
// Thread safety: one owner; not thread-safe.
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <string>

#include "tools/client/tcp_transport.h"
#include "tools/client/transport.h"
#include "wire/status.h"

namespace tern::tools {

struct TlsOptions {
  bool enabled = false;      // false: plain TCP (the tern CLI turns TLS on unless --plain)
  std::string ca_file;       // PEM CA bundle; verify chain and host
  std::string pin_sha256;    // "AB:CD:..." or plain hex, case-insensitive; wins over ca_file
  std::string session_path;  // ticket file; empty: keep the ticket in memory only
  bool early_data = true;    // send the first write (the Resume) as 0-RTT when possible
  std::string alpn = "tern/1";  // offered; a server choosing another is refused ("" = no ALPN)
};

class TlsClientContext {
 public:
  // Errors: kInvalidArgument (bad pin, unreadable CA file).
  static Result<std::unique_ptr<TlsClientContext>> Create(const TlsOptions& options);
  ~TlsClientContext();
  TlsClientContext(const TlsClientContext&) = delete;
  TlsClientContext& operator=(const TlsClientContext&) = delete;

  SSL_CTX* ctx() const { return ctx_; }
  const TlsOptions& options() const { return options_; }
  // The newest ticket for `host` (nullptr if none); owned by the context.
  SSL_SESSION* session(const std::string& host);
  // Forgets the ticket (memory and file), e.g. after the server refused to resume it.
  void ForgetSession();

 private:
  explicit TlsClientContext(const TlsOptions& o) : options_(o) {}
  static int OnNewSession(SSL* ssl, SSL_SESSION* session);
  static int VerifyPin(X509_STORE_CTX* store, void* arg);
  std::string Identity(const std::string& host) const;  // what the ticket was verified for
  void LoadFile();

  TlsOptions options_;
  std::string pin_;  // normalised: upper-case hex, no colons
  SSL_CTX* ctx_ = nullptr;
  SSL_SESSION* session_ = nullptr;
  std::string session_host_;
  bool loaded_ = false;
};

class TlsTransport final : public Transport {
 public:
  // TCP connect, then either the full TLS handshake (bounded by timeout_ms) or, with a ticket
  // allowing early data, nothing more: the handshake starts with the first WriteSome.
  // Errors: as TcpTransport::Connect; kUnavailable for a failed handshake (certificate, pin,
  // ALPN), kTimeout.
  static Result<std::unique_ptr<TlsTransport>> Connect(TlsClientContext& context,
                                                       const std::string& host, uint16_t port,
                                                       int timeout_ms);
  ~TlsTransport() override;

  Result<Ready> Wait(bool want_write, int timeout_ms) override;
  Result<size_t> WriteSome(std::string_view data) override;
  Result<size_t> ReadSome(char* buf, size_t cap, bool* eof) override;
  void Close(int drain_timeout_ms = 1000) override;
  void Abort(bool rst) override;
  bool open() const override { return tcp_ && tcp_->open(); }
  int fd() const override { return tcp_ ? tcp_->fd() : -1; }

  bool handshake_done() const { return state_ == State::kOpen; }
  bool resumed() const;          // after the handshake: the ticket was accepted
  bool early_data_sent() const { return !early_.empty() || early_sent_; }
  bool early_data_accepted() const;  // after the handshake

 private:
  enum class State { kEarlyPending, kHandshaking, kOpen };
  TlsTransport(TlsClientContext& context, std::unique_ptr<TcpTransport> tcp, SSL* ssl)
      : context_(context), tcp_(std::move(tcp)), ssl_(ssl) {}
  // Drives the handshake without blocking. Returns true once it is done.
  Result<bool> Progress();
  Status Finished();         // checks after the handshake (ALPN, rejected early data)
  Result<bool> FlushResend();  // early data the server rejected, sent again; true when empty
  Status SslError(const char* what, int ret);

  TlsClientContext& context_;
  std::unique_ptr<TcpTransport> tcp_;
  SSL* ssl_;
  State state_ = State::kOpen;
  std::string early_;   // bytes sent as early data (kept until the server's verdict)
  bool early_sent_ = false;
  std::string resend_;  // early data the server rejected, to send again
};

}  // namespace tern::tools
