#include "server/uv_blob_server.h"
#include "server/log.h"

#include <chrono>
#include <cstdio>
#include <vector>

#include "server/config.h"
#include "server/tls_transport.h"
#include "server/transport.h"

namespace tern::server {
namespace {

constexpr size_t kHighWater = 256 * 1024;  // bytes queued in libuv before we stop pulling
constexpr size_t kChunk = 64 * 1024;

uint64_t NowMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

template <typename H>
uv_handle_t* AsHandle(H* h) {
  return reinterpret_cast<uv_handle_t*>(h);
}

struct WriteReq {
  uv_write_t req;
  std::string data;
};

}  // namespace

struct UvBlobServer::Conn {
  uv_tcp_t tcp;
  UvBlobServer* server = nullptr;
  std::unique_ptr<Transport> transport;
  std::unique_ptr<blob::BlobConn> http;
  size_t queued = 0;
  bool closing = false;
  bool goodbye_sent = false;
  bool close_after_write = false;  // the transport failed: close once its alert is written
};

UvBlobServer::UvBlobServer(const blob::BlobOptions& options, blob::FileStore& store, const TlsServerContext* tls,
                           std::string listen, uint32_t max_connections)
    : options_(options), store_(store), tls_(tls), listen_(std::move(listen)), max_connections_(max_connections) {}

UvBlobServer::~UvBlobServer() { Stop(); }

Status UvBlobServer::Start() {
  auto hp = SplitHostPort(listen_);
  if (!hp.ok()) return hp.status();
  sockaddr_storage addr{};
  int rc = uv_ip4_addr(hp->first.c_str(), hp->second, reinterpret_cast<sockaddr_in*>(&addr));
  if (rc != 0) rc = uv_ip6_addr(hp->first.c_str(), hp->second, reinterpret_cast<sockaddr_in6*>(&addr));
  if (rc != 0) return Status(Code::kInvalidArgument, "bad blob_listen address " + listen_);
  uv_loop_init(&loop_);
  uv_tcp_init(&loop_, &listener_);
  listener_.data = this;
  uv_timer_init(&loop_, &timer_);
  timer_.data = this;
  uv_async_init(&loop_, &stop_, [](uv_async_t* h) { static_cast<UvBlobServer*>(h->data)->Shutdown(); });
  stop_.data = this;
  rc = uv_tcp_bind(&listener_, reinterpret_cast<sockaddr*>(&addr), 0);
  if (rc == 0)
    rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), 511, [](uv_stream_t* s, int status) {
      static_cast<UvBlobServer*>(s->data)->OnConnection(status);
    });
  if (rc != 0) {
    Shutdown();
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_loop_close(&loop_);
    return Status(Code::kUnavailable, "blob store: listen on " + listen_ + ": " + uv_strerror(rc));
  }
  sockaddr_storage bound{};
  int len = sizeof bound;
  uv_tcp_getsockname(&listener_, reinterpret_cast<sockaddr*>(&bound), &len);
  char host[INET6_ADDRSTRLEN] = {};
  if (bound.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&bound);
    uv_ip6_name(a, host, sizeof host);
    bound_ = std::string("[") + host + "]:" + std::to_string(ntohs(a->sin6_port));
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&bound);
    uv_ip4_name(a, host, sizeof host);
    bound_ = std::string(host) + ":" + std::to_string(ntohs(a->sin_port));
  }
  uv_timer_start(&timer_, [](uv_timer_t* h) { static_cast<UvBlobServer*>(h->data)->OnTimer(); }, 250, 250);
  running_ = true;
  thread_ = std::thread([this] {
    uv_run(&loop_, UV_RUN_DEFAULT);
    if (uv_loop_close(&loop_) != 0) Log(LogLevel::kWarn, "blob_loop_unclean");
  });
  return Status::Ok();
}

void UvBlobServer::Stop() {
  if (!running_) return;
  running_ = false;
  uv_async_send(&stop_);
  thread_.join();
}

void UvBlobServer::Shutdown() {
  std::vector<Conn*> open(conns_.begin(), conns_.end());
  for (Conn* c : open) CloseConn(c);
  if (!uv_is_closing(AsHandle(&listener_))) uv_close(AsHandle(&listener_), nullptr);
  if (!uv_is_closing(AsHandle(&timer_))) uv_close(AsHandle(&timer_), nullptr);
  if (!uv_is_closing(AsHandle(&stop_))) uv_close(AsHandle(&stop_), nullptr);
}

void UvBlobServer::OnConnection(int status) {
  if (status < 0) return;
  auto* c = new Conn;
  c->server = this;
  uv_tcp_init(&loop_, &c->tcp);
  c->tcp.data = c;
  if (uv_accept(reinterpret_cast<uv_stream_t*>(&listener_), reinterpret_cast<uv_stream_t*>(&c->tcp)) != 0 ||
      conns_.size() >= max_connections_) {
    uv_close(AsHandle(&c->tcp), [](uv_handle_t* h) { delete static_cast<Conn*>(h->data); });
    return;
  }
  conns_.insert(c);
  if (tls_ != nullptr) c->transport = std::make_unique<TlsTransport>(*tls_);
  else c->transport = std::make_unique<PlainTransport>();
  c->http = std::make_unique<blob::BlobConn>(options_, store_, busy_, NowMs());
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

void UvBlobServer::OnRead(Conn* c, ssize_t nread, const uv_buf_t* buf) {
  if (nread < 0) return CloseConn(c);  // EOF or error; an upload's landed bytes stay for a resume
  if (nread == 0) return;
  std::string to_socket;
  auto plain = c->transport->OnRead(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(buf->base), static_cast<size_t>(nread)), &scratch_,
      &to_socket);
  if (!to_socket.empty()) Write(c, std::move(to_socket));
  if (!plain.ok()) {
    // Not TLS, a failed handshake: the alert (if any) goes out, then close.
    if (c->queued == 0) CloseConn(c);
    else c->close_after_write = true;
    return;
  }
  if (c->closing || c->close_after_write) return;
  if (!plain->empty()) c->http->Feed(*plain, NowMs());
  if (scratch_.capacity() > sizeof read_buf_ * 2) std::string().swap(scratch_);
  Pump(c);
}

void UvBlobServer::Pump(Conn* c) {
  while (!c->closing && c->queued < kHighWater && c->http->has_output()) {
    std::string plain = c->http->TakeOutput(kChunk);
    if (plain.empty()) continue;
    std::string bytes;
    Status st = c->transport->OnWrite(std::move(plain), &bytes);
    if (!bytes.empty()) Write(c, std::move(bytes));
    if (!st.ok()) return CloseConn(c);
  }
  if (c->closing || c->http->has_output() || !c->http->close_after_output()) return;
  if (!c->goodbye_sent) {
    c->goodbye_sent = true;
    std::string bye;
    c->transport->OnClose(&bye);
    if (!bye.empty()) Write(c, std::move(bye));
  }
  if (!c->closing && c->queued == 0) CloseConn(c);
}

void UvBlobServer::Write(Conn* c, std::string bytes) {
  if (c->closing) return;
  auto* w = new WriteReq;
  w->data = std::move(bytes);
  w->req.data = c;
  c->queued += w->data.size();
  uv_buf_t b = uv_buf_init(w->data.data(), w->data.size());
  int rc = uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&c->tcp), &b, 1, [](uv_write_t* req, int status) {
    auto* w = reinterpret_cast<WriteReq*>(req);
    auto* c = static_cast<Conn*>(req->data);
    c->queued -= w->data.size();
    delete w;
    if (c->closing) return;
    if (status < 0 || (c->close_after_write && c->queued == 0)) return c->server->CloseConn(c);
    if (c->close_after_write) return;
    c->http->OnWritten(NowMs());
    c->server->Pump(c);
  });
  if (rc != 0) {
    c->queued -= w->data.size();
    delete w;
    CloseConn(c);
  }
}

void UvBlobServer::CloseConn(Conn* c) {
  if (c->closing) return;
  c->closing = true;
  uv_read_stop(reinterpret_cast<uv_stream_t*>(&c->tcp));
  uv_close(AsHandle(&c->tcp), [](uv_handle_t* h) {
    auto* c = static_cast<Conn*>(h->data);
    c->server->conns_.erase(c);
    delete c;  // BlobConn's destructor releases an unfinished upload (its bytes stay)
  });
}

void UvBlobServer::OnTimer() {
  const uint64_t now = NowMs();
  std::vector<Conn*> expired;
  for (Conn* c : conns_)
    if (!c->closing && (c->http->CheckTimeouts(now) || c->http->close_after_output())) expired.push_back(c);
  for (Conn* c : expired) {
    // A client that stopped reading never drains a 408: close at once when output is stuck.
    if (c->queued > 0) CloseConn(c);
    else Pump(c);
  }
}

}  // namespace tern::server
