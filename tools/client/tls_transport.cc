#include "tools/client/tls_transport.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <poll.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace tern::tools {
namespace {

constexpr char kSessionMagic[] = "tern-tls-session 1";

std::string SslErrorText() {
  unsigned long e = ERR_get_error();
  char buf[256] = "";
  if (e != 0) ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

std::string HexFingerprint(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  X509_digest(cert, EVP_sha256(), md, &n);
  std::string out;
  char hex[3];
  for (unsigned int i = 0; i < n; ++i) {
    std::snprintf(hex, sizeof hex, "%02X", md[i]);
    out += hex;
  }
  return out;
}

int RemainingMs(uint64_t deadline) {
  uint64_t now = SteadyNowMs();
  return now >= deadline ? 0 : static_cast<int>(deadline - now);
}

bool IsIpLiteral(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

}  // namespace

// ---- TlsClientContext ----

Result<std::unique_ptr<TlsClientContext>> TlsClientContext::Create(const TlsOptions& o) {
  std::unique_ptr<TlsClientContext> t(new TlsClientContext(o));
  for (char ch : o.pin_sha256) {
    if (ch == ':' || ch == ' ') continue;
    if (!std::isxdigit(static_cast<unsigned char>(ch)))
      return Status(Code::kInvalidArgument, "pin must be a SHA-256 fingerprint in hex: " + o.pin_sha256);
    t->pin_ += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  }
  if (!o.pin_sha256.empty() && t->pin_.size() != 64)
    return Status(Code::kInvalidArgument, "pin must be 32 bytes (64 hex digits): " + o.pin_sha256);
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) return Status(Code::kInternal, "SSL_CTX_new: " + SslErrorText());
  t->ctx_ = ctx;
  SSL_CTX_set_app_data(ctx, t.get());
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
  if (!o.alpn.empty()) {
    std::string wire_alpn(1, static_cast<char>(o.alpn.size()));
    wire_alpn += o.alpn;
    SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<const unsigned char*>(wire_alpn.data()),
                            static_cast<unsigned int>(wire_alpn.size()));
  }
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx, OnNewSession);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  if (!t->pin_.empty()) {
    SSL_CTX_set_cert_verify_callback(ctx, VerifyPin, t.get());
  } else if (!o.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, o.ca_file.c_str(), nullptr) != 1)
      return Status(Code::kInvalidArgument, "CA file " + o.ca_file + ": " + SslErrorText());
  } else {
    SSL_CTX_set_default_verify_paths(ctx);
  }
  return t;
}

TlsClientContext::~TlsClientContext() {
  if (session_ != nullptr) SSL_SESSION_free(session_);
  if (ctx_ != nullptr) SSL_CTX_free(ctx_);
}

int TlsClientContext::VerifyPin(X509_STORE_CTX* store, void* arg) {
  auto* self = static_cast<TlsClientContext*>(arg);
  X509* leaf = X509_STORE_CTX_get0_cert(store);
  if (leaf != nullptr && HexFingerprint(leaf) == self->pin_) return 1;
  X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
  return 0;
}

std::string TlsClientContext::Identity(const std::string& host) const {
  return host + " " + (!pin_.empty() ? "pin:" + pin_ : "ca:" + options_.ca_file);
}

void TlsClientContext::LoadFile() {
  loaded_ = true;
  if (options_.session_path.empty()) return;
  std::ifstream in(options_.session_path, std::ios::binary);
  if (!in) return;
  std::string magic, identity;
  std::getline(in, magic);
  std::getline(in, identity);
  if (magic != kSessionMagic) return;
  std::stringstream ss;
  ss << in.rdbuf();
  std::string pem = ss.str();
  BIO* b = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  SSL_SESSION* s = PEM_read_bio_SSL_SESSION(b, nullptr, nullptr, nullptr);
  BIO_free(b);
  ERR_clear_error();
  if (s == nullptr) return;
  session_ = s;
  session_host_ = identity;
}

SSL_SESSION* TlsClientContext::session(const std::string& host) {
  if (!loaded_) LoadFile();
  if (session_ == nullptr || session_host_ != Identity(host)) return nullptr;
  if (!SSL_SESSION_is_resumable(session_)) return nullptr;
  return session_;
}

void TlsClientContext::ForgetSession() {
  if (session_ != nullptr) SSL_SESSION_free(session_);
  session_ = nullptr;
  if (!options_.session_path.empty()) std::remove(options_.session_path.c_str());
}

int TlsClientContext::OnNewSession(SSL* ssl, SSL_SESSION* session) {
  auto* self = static_cast<TlsClientContext*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  auto* host = static_cast<const std::string*>(SSL_get_app_data(ssl));
  // A copy: OpenSSL marks a connection's own session not resumable when that connection is
  // dropped without close_notify (as phones' connections are), which must not cost the ticket.
  SSL_SESSION* copy = SSL_SESSION_dup(session);
  if (copy == nullptr) return 0;
  if (self->session_ != nullptr) SSL_SESSION_free(self->session_);
  self->session_ = copy;
  self->session_host_ = self->Identity(host != nullptr ? *host : "");
  self->loaded_ = true;
  if (!self->options_.session_path.empty()) {
    // Written whole to a temp file, then renamed: a crash leaves the old ticket or the new one.
    BIO* b = BIO_new(BIO_s_mem());
    PEM_write_bio_SSL_SESSION(b, copy);
    char* p = nullptr;
    long n = BIO_get_mem_data(b, &p);
    std::string tmp = self->options_.session_path + ".tmp";
    if (FILE* f = std::fopen(tmp.c_str(), "wb")) {
      std::fprintf(f, "%s\n%s\n", kSessionMagic, self->session_host_.c_str());
      bool ok = std::fwrite(p, 1, static_cast<size_t>(n), f) == static_cast<size_t>(n);
      ok = std::fclose(f) == 0 && ok;
      if (ok) std::rename(tmp.c_str(), self->options_.session_path.c_str());
    }
    BIO_free(b);
  }
  return 0;  // OpenSSL keeps (and frees) its own reference
}

// ---- TlsTransport ----

Result<std::unique_ptr<TlsTransport>> TlsTransport::Connect(TlsClientContext& context,
                                                            const std::string& host,
                                                            uint16_t port, int timeout_ms) {
  const uint64_t deadline = SteadyNowMs() + static_cast<uint64_t>(std::max(timeout_ms, 0));
  auto tcp = TcpTransport::Connect(host, port, timeout_ms);
  if (!tcp.ok()) return tcp.status();
  ERR_clear_error();
  SSL* ssl = SSL_new(context.ctx());
  if (ssl == nullptr) return Status(Code::kInternal, "SSL_new: " + SslErrorText());
  std::unique_ptr<TlsTransport> t(new TlsTransport(context, std::move(tcp).value(), ssl));
  SSL_set_fd(ssl, t->tcp_->fd());
  auto* host_copy = new std::string(host);
  SSL_set_app_data(ssl, host_copy);  // freed in the destructor; read by OnNewSession
  if (IsIpLiteral(host)) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl, host.c_str());
    SSL_set1_host(ssl, host.c_str());
  }
  SSL_set_connect_state(ssl);
  if (SSL_SESSION* s = context.session(host)) {
    SSL_SESSION* copy = SSL_SESSION_dup(s);  // see OnNewSession: an abort must not spoil `s`
    SSL_set_session(ssl, copy != nullptr ? copy : s);
    if (copy != nullptr) SSL_SESSION_free(copy);
    if (context.options().early_data && SSL_SESSION_get_max_early_data(s) > 0) {
      t->state_ = State::kEarlyPending;
      return t;
    }
  }
  t->state_ = State::kHandshaking;
  while (true) {
    Result<bool> done = t->Progress();
    if (!done.ok()) return done.status();
    if (*done) return t;
    int left = RemainingMs(deadline);
    if (left == 0) return Status(Code::kTimeout, "TLS handshake with " + host + " timed out");
    pollfd pfd{t->fd(), static_cast<short>(SSL_want_write(ssl) ? POLLOUT : POLLIN), 0};
    ::poll(&pfd, 1, left);
  }
}

TlsTransport::~TlsTransport() {
  delete static_cast<std::string*>(SSL_get_app_data(ssl_));
  SSL_free(ssl_);
}

Status TlsTransport::SslError(const char* what, int ret) {
  int err = SSL_get_error(ssl_, ret);
  std::string text = SslErrorText();
  long verify = SSL_get_verify_result(ssl_);
  if (verify != X509_V_OK) text += std::string(" (certificate: ") + X509_verify_cert_error_string(verify) + ")";
  if (text.empty()) text = err == SSL_ERROR_SYSCALL ? std::strerror(errno) : "error " + std::to_string(err);
  return Status(Code::kUnavailable, std::string("TLS ") + what + ": " + text);
}

Result<bool> TlsTransport::Progress() {
  if (state_ == State::kOpen) return true;
  if (state_ == State::kEarlyPending) return false;
  ERR_clear_error();
  int r = SSL_do_handshake(ssl_);
  if (r == 1) {
    state_ = State::kOpen;
    TERN_RETURN_IF_ERROR(Finished());
    return true;
  }
  int err = SSL_get_error(ssl_, r);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return false;
  return SslError("handshake", r);
}

Status TlsTransport::Finished() {
  const unsigned char* proto = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(ssl_, &proto, &len);
  const std::string& want = context_.options().alpn;
  if (len != 0 && (len != want.size() || std::memcmp(proto, want.data(), len) != 0))
    return Status(Code::kUnavailable, "TLS: the server does not speak " + want);
  if (early_sent_ && SSL_get_early_data_status(ssl_) != SSL_EARLY_DATA_ACCEPTED) resend_ = early_;
  std::string().swap(early_);
  return Status::Ok();
}

Result<bool> TlsTransport::FlushResend() {
  while (!resend_.empty()) {
    size_t n = 0;
    ERR_clear_error();
    int r = SSL_write_ex(ssl_, resend_.data(), resend_.size(), &n);
    if (r != 1) {
      int err = SSL_get_error(ssl_, r);
      if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ) return false;
      return SslError("write", r);
    }
    resend_.erase(0, n);
  }
  return true;
}

Result<Transport::Ready> TlsTransport::Wait(bool want_write, int timeout_ms) {
  if (!open()) return Status(Code::kUnavailable, "connection closed");
  if (state_ == State::kOpen && SSL_pending(ssl_) > 0) return Ready{true, false};
  // While the handshake waits for the server, bytes to write cannot go anyway: polling for
  // writability would spin until the server's flight arrives.
  if (state_ == State::kHandshaking && !SSL_want_write(ssl_)) want_write = false;
  return tcp_->Wait(want_write || !resend_.empty(), timeout_ms);
}

Result<size_t> TlsTransport::WriteSome(std::string_view data) {
  if (!open()) return Status(Code::kUnavailable, "connection closed");
  if (state_ == State::kEarlyPending) {
    // 0-RTT: the ClientHello and the first bytes (the Resume) leave together.
    SSL_SESSION* s = SSL_get_session(ssl_);
    size_t n = std::min<size_t>(data.size(), SSL_SESSION_get_max_early_data(s));
    size_t written = 0;
    ERR_clear_error();
    int r = SSL_write_early_data(ssl_, data.data(), n, &written);
    if (r != 1) {
      int err = SSL_get_error(ssl_, r);
      if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ) return size_t{0};
      return SslError("early data", r);
    }
    early_.assign(data.data(), written);
    early_sent_ = true;
    state_ = State::kHandshaking;
    return written;
  }
  Result<bool> done = Progress();
  if (!done.ok()) return done.status();
  if (!*done) return size_t{0};
  Result<bool> flushed = FlushResend();
  if (!flushed.ok()) return flushed.status();
  if (!*flushed || data.empty()) return size_t{0};
  size_t n = 0;
  ERR_clear_error();
  int r = SSL_write_ex(ssl_, data.data(), data.size(), &n);
  if (r == 1) return n;
  int err = SSL_get_error(ssl_, r);
  if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ) return size_t{0};
  return SslError("write", r);
}

Result<size_t> TlsTransport::ReadSome(char* buf, size_t cap, bool* eof) {
  *eof = false;
  if (!open()) return Status(Code::kUnavailable, "connection closed");
  Result<bool> done = Progress();
  if (!done.ok()) return done.status();
  if (!*done) return size_t{0};
  Result<bool> flushed = FlushResend();
  if (!flushed.ok()) return flushed.status();
  size_t n = 0;
  ERR_clear_error();
  int r = SSL_read_ex(ssl_, buf, cap, &n);
  if (r == 1) return n;
  int err = SSL_get_error(ssl_, r);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return size_t{0};
  if (err == SSL_ERROR_ZERO_RETURN) {
    *eof = true;
    return size_t{0};
  }
  // A peer that closes without close_notify (killed, or a plain EOF) reads as EOF too: the
  // frames carry their own integrity, and a truncated frame is caught by the session.
  unsigned long e = ERR_peek_error();
  if ((err == SSL_ERROR_SYSCALL && errno == 0) ||
      (err == SSL_ERROR_SSL && ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
    ERR_clear_error();
    *eof = true;
    return size_t{0};
  }
  return SslError("read", r);
}

bool TlsTransport::resumed() const { return state_ == State::kOpen && SSL_session_reused(ssl_) == 1; }

bool TlsTransport::early_data_accepted() const {
  return state_ == State::kOpen && early_sent_ && SSL_get_early_data_status(ssl_) == SSL_EARLY_DATA_ACCEPTED;
}

void TlsTransport::Close(int drain_timeout_ms) {
  if (!open()) return;
  if (state_ == State::kOpen) {
    ERR_clear_error();
    SSL_shutdown(ssl_);  // close_notify; the peer's is read (and discarded) by the drain
    ERR_clear_error();
  }
  tcp_->Close(drain_timeout_ms);
}

void TlsTransport::Abort(bool rst) {
  if (tcp_) tcp_->Abort(rst);
}

}  // namespace tern::tools
