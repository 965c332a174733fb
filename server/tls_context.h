// TlsServerContext: ternd's one OpenSSL SSL_CTX — TLS 1.3 only, ALPN "tern/1", idle buffers
// released (SSL_MODE_RELEASE_BUFFERS), stateless session tickets under rotated keys, and TLS
// 1.3 early data for the Resume handshake (see wire/PROTOCOL.md §1 for the replay rules).
//
// Certificate: the configured tls_cert/tls_key, or, when none is configured, a self-signed
// P-256 certificate created on first start under <data>/tls/ (cert.pem, key.pem 0600) and
// reused afterwards. Its SHA-256 fingerprint (of the DER certificate, as `openssl x509
// -fingerprint -sha256` prints it) is in fingerprint() and in <data>/tls/cert.sha256, for
// clients to pin.
//
// Ticket keys (AES-256-CBC + HMAC-SHA256, RFC 5077 layout as OpenSSL implements it) live in
// <data>/tls/ticket_keys (0600) so tickets survive a restart. A new key is made every
// `ticket_rotate_s`; a key is kept for ticket_rotate_s + ticket_lifetime_s so every ticket it
// issued stays valid for its lifetime; a ticket under an older key is accepted and renewed.
//
// Thread safety: the loop thread (the ticket callback mutates the key ring).
#pragma once

#include <openssl/ssl.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "wire/status.h"

namespace tern::server {

inline constexpr char kAlpn[] = "tern/1";

struct TlsServerOptions {
  std::string dir;                       // <data>/tls: generated cert, fingerprint, ticket keys
  std::string cert_path;                 // PEM chain; empty = self-signed under dir
  std::string key_path;                  // PEM private key (required with cert_path)
  uint32_t ticket_lifetime_s = 604800;   // 7 days, the TLS 1.3 maximum (RFC 8446 §4.6.1)
  uint32_t ticket_rotate_s = 86400;      // a new ticket key every day
  uint32_t max_early_data = 2048;        // 0 disables 0-RTT
  uint32_t max_preauth_frame = 1024;     // early-data gate: largest frame it inspects
  // The application protocol: the chat port requires ALPN tern/1 (a client offering only
  // others is refused); another value (the blob store's "http/1.1") is selected when offered
  // and the handshake goes on without ALPN when the client offers none or others.
  std::string alpn = kAlpn;
  std::string ticket_keys_file = "ticket_keys";  // under dir; one per context
};

class TlsServerContext {
 public:
  // Loads or creates the certificate and ticket keys and builds the SSL_CTX. Errors:
  // kInvalidArgument (bad or mismatched cert/key, options), kUnavailable (files).
  static Result<std::unique_ptr<TlsServerContext>> Create(const TlsServerOptions& options);
  ~TlsServerContext();
  TlsServerContext(const TlsServerContext&) = delete;
  TlsServerContext& operator=(const TlsServerContext&) = delete;

  SSL_CTX* ctx() const { return ctx_; }
  const TlsServerOptions& options() const { return options_; }
  const std::string& fingerprint() const { return fingerprint_; }  // "AB:CD:..." (SHA-256)
  const std::string& cert_path() const { return cert_path_; }
  bool created_certificate() const { return created_; }

 private:
  struct TicketKey {
    std::array<uint8_t, 16> name;
    std::array<uint8_t, 32> aes;
    std::array<uint8_t, 32> hmac;
    uint64_t created_s;
  };
  explicit TlsServerContext(const TlsServerOptions& o) : options_(o) {}
  Status LoadTicketKeys();
  Status SaveTicketKeys() const;
  // Adds a key when the newest is older than ticket_rotate_s; drops expired ones.
  void RotateTicketKeys(uint64_t now_s);
  static int TicketKeyCallback(SSL* ssl, unsigned char* name, unsigned char* iv,
                               EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac, int enc);

  TlsServerOptions options_;
  SSL_CTX* ctx_ = nullptr;
  std::string fingerprint_;
  std::string cert_path_;
  bool created_ = false;
  std::vector<TicketKey> keys_;  // oldest first; keys_.back() encrypts
};

// "AB:CD:..." SHA-256 of the DER encoding of `cert`.
std::string CertFingerprint(X509* cert);

}  // namespace tern::server
