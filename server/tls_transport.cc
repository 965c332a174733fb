#include "server/tls_transport.h"

#include <openssl/err.h>

#include <cstring>
#include <variant>

#include "wire/frame.h"
#include "wire/messages.h"

namespace tern::server {

// The custom BIO: reads from TlsTransport::in_, writes to *TlsTransport::out_.
struct TlsBio {
  static int Write(BIO* b, const char* data, int len) {
    auto* t = static_cast<TlsTransport*>(BIO_get_data(b));
    BIO_clear_retry_flags(b);
    if (t->out_ == nullptr) return -1;  // never: every SSL call runs with out_ set
    t->out_->append(data, static_cast<size_t>(len));
    return len;
  }
  static int Read(BIO* b, char* data, int len) {
    auto* t = static_cast<TlsTransport*>(BIO_get_data(b));
    BIO_clear_retry_flags(b);
    size_t avail = t->in_.size() - t->in_off_;
    if (avail == 0) {
      BIO_set_retry_read(b);
      return -1;
    }
    size_t n = std::min(avail, static_cast<size_t>(len));
    std::memcpy(data, t->in_.data() + t->in_off_, n);
    t->in_off_ += n;
    return static_cast<int>(n);
  }
  static long Ctrl(BIO*, int cmd, long, void*) {
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
  }
  static int Create(BIO* b) {
    BIO_set_init(b, 1);
    return 1;
  }
  static const BIO_METHOD* Method() {
    // Created once, never freed (process lifetime, reachable: not a leak).
    static BIO_METHOD* m = [] {
      BIO_METHOD* bm = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "tern-mem");
      BIO_meth_set_write(bm, Write);
      BIO_meth_set_read(bm, Read);
      BIO_meth_set_ctrl(bm, Ctrl);
      BIO_meth_set_create(bm, Create);
      return bm;
    }();
    return m;
  }
};

namespace {

// RAII: every public call runs with the BIO writing into the caller's string and a clean
// OpenSSL error queue (a stale entry would make SSL_get_error lie).
class CallScope {
 public:
  CallScope(std::string*& slot, std::string* out) : slot_(slot) {
    slot_ = out;
    ERR_clear_error();
  }
  ~CallScope() { slot_ = nullptr; }

 private:
  std::string*& slot_;
};

}  // namespace

TlsTransport::TlsTransport(const TlsServerContext& context)
    : max_preauth_frame_(context.options().max_preauth_frame) {
  ssl_ = SSL_new(context.ctx());
  BIO* bio = BIO_new(TlsBio::Method());
  BIO_set_data(bio, this);
  SSL_set_bio(ssl_, bio, bio);  // one BIO both ways; SSL takes the reference (and adds one)
  SSL_set_accept_state(ssl_);
}

TlsTransport::~TlsTransport() { SSL_free(ssl_); }

Status TlsTransport::Fail(const char* what, int ret) {
  int err = SSL_get_error(ssl_, ret);
  unsigned long e = ERR_peek_error();
  char buf[200] = "";
  if (e != 0) ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  state_ = State::kFailed;
  if (err == SSL_ERROR_ZERO_RETURN) return Status(Code::kUnavailable, "TLS close_notify from peer");
  return Status(Code::kProtocol, std::string("TLS ") + what + " failed: " +
                                     (e != 0 ? buf : "error " + std::to_string(err)));
}

Result<std::span<const uint8_t>> TlsTransport::OnRead(std::span<const uint8_t> in,
                                                      std::string* scratch,
                                                      std::string* to_socket) {
  CallScope scope(out_, to_socket);
  if (state_ == State::kFailed) return Status(Code::kProtocol, "TLS session failed");
  in_.append(reinterpret_cast<const char*>(in.data()), in.size());
  scratch->clear();
  Status st = Status::Ok();
  bool more = true;
  while (more && st.ok()) {
    switch (state_) {
      case State::kEarly: {
        size_t n = 0;
        size_t old = early_.size();
        early_.resize(old + 16384);
        int r = SSL_read_early_data(ssl_, early_.data() + old, 16384, &n);
        early_.resize(old + n);
        if (r == SSL_READ_EARLY_DATA_SUCCESS) {
          GateEarly(scratch);
        } else if (r == SSL_READ_EARLY_DATA_FINISH) {
          held_in_ += early_;  // an incomplete early frame: judged by the Core after all
          std::string().swap(early_);
          state_ = State::kHandshake;
        } else if (SSL_get_error(ssl_, r) == SSL_ERROR_WANT_READ) {
          more = false;
        } else {
          st = Fail("handshake", r);
        }
        break;
      }
      case State::kHandshake: {
        int r = SSL_do_handshake(ssl_);
        if (r == 1) {
          state_ = State::kOpen;
          scratch->append(held_in_);
          std::string().swap(held_in_);
          FlushHeldOutput();
        } else if (SSL_get_error(ssl_, r) == SSL_ERROR_WANT_READ) {
          more = false;
        } else {
          st = Fail("handshake", r);
        }
        break;
      }
      case State::kOpen: {
        size_t old = scratch->size();
        scratch->resize(old + 16384);
        size_t n = 0;
        int r = SSL_read_ex(ssl_, scratch->data() + old, 16384, &n);
        scratch->resize(old + n);
        if (r != 1) {
          if (SSL_get_error(ssl_, r) == SSL_ERROR_WANT_READ) more = false;
          else st = Fail("read", r);
        }
        break;
      }
      case State::kFailed:
        more = false;
        break;
    }
  }
  // Consumed input is released at once: an idle connection keeps no buffer.
  if (in_off_ == in_.size()) {
    std::string().swap(in_);
    in_off_ = 0;
  } else if (in_off_ > 0) {
    in_.erase(0, in_off_);
    in_off_ = 0;
  }
  if (!st.ok()) return st;
  return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(scratch->data()), scratch->size());
}

void TlsTransport::GateEarly(std::string* plain) {
  while (!gate_closed_ && !early_.empty()) {
    auto span = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(early_.data()), early_.size());
    auto header = wire::ParseFrameHeader(span, max_preauth_frame_);
    if (header.ok() && !header->has_value()) return;  // wait for the rest of the frame
    bool pass = false;
    size_t total = 0;
    if (header.ok() && (*header)->flags == 0) {
      total = (*header)->header_len + (*header)->body_len;
      if (total <= span.size()) {
        auto m = wire::DecodeMessage(span.subspan((*header)->header_len, (*header)->body_len));
        pass = m.ok() && (std::holds_alternative<wire::Resume>(*m) || std::holds_alternative<wire::Ping>(*m));
      } else {
        return;
      }
    }
    if (!pass) {
      gate_closed_ = true;
      break;
    }
    plain->append(early_, 0, total);
    early_.erase(0, total);
  }
  if (gate_closed_) {
    held_in_ += early_;
    early_.clear();
  }
}

void TlsTransport::FlushHeldOutput() {
  if (held_out_.empty()) return;
  size_t n = 0;
  if (SSL_write_ex(ssl_, held_out_.data(), held_out_.size(), &n) != 1) {
    Fail("write", 0).IgnoreError();
    return;
  }
  std::string().swap(held_out_);
}

Status TlsTransport::OnWrite(std::string&& plain, std::string* to_socket) {
  CallScope scope(out_, to_socket);
  if (state_ == State::kFailed) return Status(Code::kProtocol, "TLS session failed");
  if (plain.empty()) return Status::Ok();
  size_t n = 0;
  if (state_ == State::kOpen) {
    int r = SSL_write_ex(ssl_, plain.data(), plain.size(), &n);
    return r == 1 ? Status::Ok() : Fail("write", r);
  }
  // 0.5-RTT: after accepted early data, the server may answer before the client's Finished.
  if (state_ == State::kEarly && held_out_.empty() &&
      SSL_get_early_data_status(ssl_) == SSL_EARLY_DATA_ACCEPTED &&
      SSL_write_early_data(ssl_, plain.data(), plain.size(), &n) == 1) {
    return Status::Ok();
  }
  ERR_clear_error();
  held_out_ += plain;
  return Status::Ok();
}

void TlsTransport::OnClose(std::string* to_socket) {
  CallScope scope(out_, to_socket);
  if (state_ == State::kOpen) SSL_shutdown(ssl_);  // sends close_notify; the reply is not awaited
}

}  // namespace tern::server
