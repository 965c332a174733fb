#include "server/uv_server.h"
#include "server/log.h"

#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

#include "server/tls_transport.h"
#include "server/transport.h"

namespace tern::server {

namespace {

// Plain TCP keeps no state per connection: every plain connection shares this one.
PlainTransport kPlain;
struct TransportDeleter {
  void operator()(Transport* t) const {
    if (t != &kPlain) delete t;
  }
};

}  // namespace

// Per connection: what an idle one costs is the point of bench/e2e_conns.cc.
struct UvServer::Conn {
  uv_tcp_t tcp;
  UvServer* server = nullptr;
  ConnId id = 0;
  std::unique_ptr<Transport, TransportDeleter> transport;
  const std::string* ip = nullptr;  // peer address: the key of its per_ip_ entry (stable)
  size_t queued = 0;           // bytes handed to uv_write, not yet written
  bool close_after_write = false;
  bool closing = false;
  bool handshake_counted = false;  // metrics: this connection's TLS handshake was counted
};

namespace {

struct WriteReq {
  uv_write_t req;
  std::string data;
};

template <typename H>
uv_handle_t* AsHandle(H* h) {
  return reinterpret_cast<uv_handle_t*>(h);
}

}  // namespace

UvServer::UvServer(const Config& config, Core& core, uv_loop_t* loop, const TlsServerContext* tls)
    : config_(config), core_(core), loop_(loop), tls_(tls) {
  accept_tokens_ = config_.accept_rate;
  uv_tcp_init(loop_, &listener_);
  listener_.data = this;
  uv_check_init(loop_, &check_);
  check_.data = this;
  uv_timer_init(loop_, &timer_);
  timer_.data = this;
  uv_timer_init(loop_, &stop_deadline_);
  uv_timer_init(loop_, &commit_timer_);
  stop_deadline_.data = this;
  uv_signal_init(loop_, &sigterm_);
  sigterm_.data = this;
  uv_signal_init(loop_, &sigint_);
  sigint_.data = this;
}

UvServer::~UvServer() = default;

uint64_t UvServer::NowMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

Status UvServer::Listen() {
  auto hp = SplitHostPort(config_.listen);
  if (!hp.ok()) return hp.status();
  sockaddr_storage addr{};
  int rc = uv_ip4_addr(hp->first.c_str(), hp->second, reinterpret_cast<sockaddr_in*>(&addr));
  if (rc != 0) rc = uv_ip6_addr(hp->first.c_str(), hp->second, reinterpret_cast<sockaddr_in6*>(&addr));
  if (rc != 0) return Status(Code::kInvalidArgument, "bad listen address " + config_.listen);
  rc = uv_tcp_bind(&listener_, reinterpret_cast<sockaddr*>(&addr), 0);
  if (rc == 0)
    rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), 511, [](uv_stream_t* s, int status) {
      static_cast<UvServer*>(s->data)->OnConnection(status);
    });
  if (rc != 0) return Status(Code::kUnavailable, std::string("listen on ") + config_.listen + ": " + uv_strerror(rc));
  sockaddr_storage bound{};
  int len = sizeof bound;
  uv_tcp_getsockname(&listener_, reinterpret_cast<sockaddr*>(&bound), &len);
  char host[INET6_ADDRSTRLEN] = {};
  uint16_t port = 0;
  if (bound.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&bound);
    uv_ip6_name(a, host, sizeof host);
    port = ntohs(a->sin6_port);
    bound_ = std::string("[") + host + "]:" + std::to_string(port);
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&bound);
    uv_ip4_name(a, host, sizeof host);
    port = ntohs(a->sin_port);
    bound_ = std::string(host) + ":" + std::to_string(port);
  }

  uv_check_start(&check_, [](uv_check_t* h) {
    auto* self = static_cast<UvServer*>(h->data);
    const uint64_t now = NowMs();
    self->core_.EndTurn(now, self->stopping_);
    // Deferred writes: the loop must wake to commit them even if nothing else happens. The
    // timer's callback does nothing; the check phase of that loop iteration commits.
    const uint64_t due = self->core_.CommitDueMs();
    if (due != UINT64_MAX && !self->handles_closed_)
      uv_timer_start(&self->commit_timer_, [](uv_timer_t*) {}, due > now ? due - now : 0, 0);
    self->Flush();
    self->MaybeFinishStop();
  });
  uv_timer_start(&timer_, [](uv_timer_t* h) {
    auto* self = static_cast<UvServer*>(h->data);
    self->core_.OnTick(NowMs());
    self->MaybeTrimHeap();
  }, 250, 250);
  auto on_signal = [](uv_signal_t* h, int) { static_cast<UvServer*>(h->data)->Stop(); };
  uv_signal_start(&sigterm_, on_signal, SIGTERM);
  uv_signal_start(&sigint_, on_signal, SIGINT);
  return Status::Ok();
}

const char* UvServer::Refuse(const std::string& ip) {
  uint64_t now = NowMs();
  if (now > accept_refill_ms_) {
    accept_tokens_ = std::min<double>(config_.accept_rate,
                                      accept_tokens_ + (now - accept_refill_ms_) * (config_.accept_rate / 1000.0));
    accept_refill_ms_ = now;
  }
  if (conns_.size() >= config_.max_connections) return "max_connections";
  auto it = per_ip_.find(ip);
  if (it != per_ip_.end() && it->second >= config_.max_connections_per_ip) return "max_connections_per_ip";
  if (accept_tokens_ < 1) return "accept_rate";
  accept_tokens_ -= 1;
  return nullptr;
}

void UvServer::OnConnection(int status) {
  if (status < 0 || stopping_) return;
  auto* c = new Conn;
  c->server = this;
  uv_tcp_init(loop_, &c->tcp);
  c->tcp.data = c;
  const char* refused = "accept failed";
  char host[INET6_ADDRSTRLEN] = "?";
  if (uv_accept(reinterpret_cast<uv_stream_t*>(&listener_), reinterpret_cast<uv_stream_t*>(&c->tcp)) == 0) {
    sockaddr_storage peer{};
    int len = sizeof peer;
    if (uv_tcp_getpeername(&c->tcp, reinterpret_cast<sockaddr*>(&peer), &len) == 0) {
      if (peer.ss_family == AF_INET6) uv_ip6_name(reinterpret_cast<sockaddr_in6*>(&peer), host, sizeof host);
      else uv_ip4_name(reinterpret_cast<sockaddr_in*>(&peer), host, sizeof host);
    }
    refused = Refuse(host);
  }
  if (refused != nullptr) {
    ++rejected_;
    ++stats_.rejected;
    uint64_t now = NowMs();
    if (now >= last_reject_log_ms_ + 1000) {  // at most one line a second under a flood
      last_reject_log_ms_ = now;
      Log(LogLevel::kWarn, "conn_refused").Kv("ip", host).Kv("reason", refused).Kv("refused_total", rejected_);
    }
    uv_close(AsHandle(&c->tcp), [](uv_handle_t* h) { delete static_cast<Conn*>(h->data); });
    return;
  }
  auto ip = per_ip_.try_emplace(host, 0).first;
  ++ip->second;
  c->ip = &ip->first;
  ++stats_.accepted;
  peak_conns_ = std::max(peak_conns_, conns_.size() + 1);
  if (tls_ != nullptr) c->transport.reset(new TlsTransport(*tls_));
  else c->transport.reset(&kPlain);
  uv_tcp_nodelay(&c->tcp, 1);
  c->id = core_.OnOpen(NowMs());
  conns_[c->id] = c;
  uv_read_start(
      reinterpret_cast<uv_stream_t*>(&c->tcp),
      [](uv_handle_t* h, size_t, uv_buf_t* buf) {
        auto* self = static_cast<Conn*>(h->data)->server;
        *buf = uv_buf_init(self->read_buf_, sizeof self->read_buf_);
      },
      [](uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
        auto* c = static_cast<Conn*>(s->data);
        c->server->OnRead(c, nread, buf);
      });
}

void UvServer::OnRead(Conn* c, ssize_t nread, const uv_buf_t* buf) {
  if (nread > 0) {
    stats_.socket_bytes_in += static_cast<uint64_t>(nread);
    std::string to_socket;
    auto plain = c->transport->OnRead(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(buf->base), nread), &plain_scratch_, &to_socket);
    if (!to_socket.empty()) Write(c, std::move(to_socket));  // handshake records, alerts
    CountHandshake(c, !plain.ok());
    if (!plain.ok()) {
      // Not TLS, a failed handshake, a bad record: the alert (if any) goes out, then close.
      if (c->queued == 0) CloseConn(c);
      else c->close_after_write = true;
      return;
    }
    if (!plain->empty() && !c->closing) core_.OnBytes(c->id, *plain, NowMs());
    if (plain_scratch_.capacity() > sizeof read_buf_ * 2) std::string().swap(plain_scratch_);
  } else if (nread < 0) {
    CloseConn(c);  // EOF or error: the peer is gone
  }
}

void UvServer::Flush() {
  for (auto& out : core_.TakeOutgoing()) {
    auto it = conns_.find(out.id);
    if (it == conns_.end()) continue;
    Conn* c = it->second;
    if (!out.bytes.empty()) WritePlain(c, std::move(out.bytes));
    if (out.close && !c->closing) {
      std::string bye;
      c->transport->OnClose(&bye);
      if (!bye.empty()) Write(c, std::move(bye));
      if (c->closing) continue;
      if (c->queued == 0) CloseConn(c);
      else c->close_after_write = true;
    }
  }
}

void UvServer::WritePlain(Conn* c, std::string plain) {
  if (c->closing) return;
  std::string bytes;
  Status st = c->transport->OnWrite(std::move(plain), &bytes);
  if (!bytes.empty()) Write(c, std::move(bytes));
  if (!st.ok()) CloseConn(c);
}

void UvServer::CountHandshake(Conn* c, bool failed) {
  if (c->handshake_counted || !c->transport->has_handshake()) return;
  if (c->transport->handshake_done()) {
    ++stats_.tls_handshakes_ok;
  } else if (failed || c->closing) {
    ++stats_.tls_handshakes_failed;
  } else {
    return;
  }
  c->handshake_counted = true;
}

void UvServer::Write(Conn* c, std::string bytes) {
  if (c->closing) return;
  stats_.socket_bytes_out += bytes.size();
  size_t off = 0;
  if (c->queued == 0) {
    uv_buf_t b = uv_buf_init(bytes.data(), bytes.size());
    int n = uv_try_write(reinterpret_cast<uv_stream_t*>(&c->tcp), &b, 1);
    if (n > 0) off = static_cast<size_t>(n);
    else if (n < 0 && n != UV_EAGAIN) return CloseConn(c);
    if (off == bytes.size()) return;
  }
  if (c->queued + bytes.size() - off > config_.max_outbound_bytes) {
    Log(LogLevel::kWarn, "conn_overloaded").Kv("conn", c->id).Kv("limit", "max_outbound_bytes");
    return CloseConn(c);
  }
  auto* w = new WriteReq;
  w->data = bytes.substr(off);
  w->req.data = c;
  c->queued += w->data.size();
  uv_buf_t b = uv_buf_init(w->data.data(), w->data.size());
  int rc = uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&c->tcp), &b, 1, [](uv_write_t* req, int status) {
    auto* w = reinterpret_cast<WriteReq*>(req);
    auto* c = static_cast<Conn*>(req->data);
    c->queued -= w->data.size();
    delete w;
    if (status < 0) return c->server->CloseConn(c);
    if (c->queued == 0 && c->close_after_write) c->server->CloseConn(c);
  });
  if (rc != 0) {
    c->queued -= w->data.size();
    delete w;
    CloseConn(c);
  }
}

void UvServer::CloseConn(Conn* c) {
  if (c->closing) return;
  c->closing = true;
  CountHandshake(c, true);
  uv_read_stop(reinterpret_cast<uv_stream_t*>(&c->tcp));
  uv_close(AsHandle(&c->tcp), [](uv_handle_t* h) {
    auto* c = static_cast<Conn*>(h->data);
    UvServer* self = c->server;
    if (c->ip != nullptr) {  // only accepted connections get here
      auto ip = self->per_ip_.find(*c->ip);
      if (ip != self->per_ip_.end() && --ip->second == 0) self->per_ip_.erase(ip);
    }
    self->conns_.erase(c->id);
    self->core_.OnClosed(c->id, NowMs());
    delete c;
    self->MaybeFinishStop();
  });
}

void UvServer::MaybeTrimHeap() {
  // glibc keeps freed heap mapped; after a wave of connections (a flood, a mass reconnect)
  // has gone, give the pages back so RSS returns to the baseline. Rare: only when the count
  // fell to half of a peak of at least 256 connections.
  peak_conns_ = std::max(peak_conns_, conns_.size());
  if (peak_conns_ >= 256 && conns_.size() <= peak_conns_ / 2) {
    malloc_trim(0);
    peak_conns_ = conns_.size();
  }
}

void UvServer::Stop() {
  if (stopping_) return;
  stopping_ = true;
  Log(LogLevel::kInfo, "stopping");
  if (on_stop_) on_stop_();
  uv_close(AsHandle(&listener_), nullptr);
  core_.Shutdown();
  // Clients that do not read their goodbye are cut off after a grace period.
  uv_timer_start(&stop_deadline_, [](uv_timer_t* h) {
    auto* self = static_cast<UvServer*>(h->data);
    std::vector<Conn*> open;
    for (auto& [id, c] : self->conns_) open.push_back(c);
    for (Conn* c : open) self->CloseConn(c);
  }, 3000, 0);
}

void UvServer::MaybeFinishStop() {
  if (!stopping_ || handles_closed_ || !conns_.empty()) return;
  // The last turn (last_seen updates of closed connections) is committed before exit.
  core_.EndTurn(NowMs(), /*force=*/true);
  handles_closed_ = true;
  uv_close(AsHandle(&commit_timer_), nullptr);
  uv_close(AsHandle(&check_), nullptr);
  uv_close(AsHandle(&timer_), nullptr);
  uv_close(AsHandle(&stop_deadline_), nullptr);
  uv_close(AsHandle(&sigterm_), nullptr);
  uv_close(AsHandle(&sigint_), nullptr);
}

int UvServer::Run() {
  uv_run(loop_, UV_RUN_DEFAULT);
  return uv_loop_close(loop_) == 0 ? 0 : 1;
}

}  // namespace tern::server
