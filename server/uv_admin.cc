#include "server/uv_admin.h"

#include <http_parser.h>

#include <chrono>
#include <cstring>
#include <vector>

namespace tern::server {

struct UvAdmin::Conn {
  uv_tcp_t tcp;
  uv_shutdown_t shutdown;
  UvAdmin* admin = nullptr;
  http_parser parser;
  std::string url;
  size_t bytes = 0;          // request bytes read so far
  bool complete = false;     // the whole request was parsed
  bool replied = false;
  bool closing = false;
  uint64_t opened_ms = 0;
};

namespace {

uint64_t SteadyMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

template <typename H>
uv_handle_t* AsHandle(H* h) {
  return reinterpret_cast<uv_handle_t*>(h);
}

std::string Http(int code, const char* reason, const char* type, const std::string& body) {
  return "HTTP/1.1 " + std::to_string(code) + " " + reason + "\r\nContent-Type: " + type +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

constexpr char kText[] = "text/plain; charset=utf-8";

const http_parser_settings& Settings() {
  static const http_parser_settings settings = [] {
    http_parser_settings s;
    http_parser_settings_init(&s);
    s.on_url = [](http_parser* p, const char* at, size_t len) {
      static_cast<UvAdmin::Conn*>(p->data)->url.append(at, len);  // bounded by the request cap
      return 0;
    };
    s.on_message_complete = [](http_parser* p) {
      static_cast<UvAdmin::Conn*>(p->data)->complete = true;
      http_parser_pause(p, 1);  // one request per connection: ignore anything after it
      return 0;
    };
    return s;
  }();
  return settings;
}

}  // namespace

UvAdmin::UvAdmin(const Config& config, uv_loop_t* loop, Handlers handlers)
    : config_(config), loop_(loop), handlers_(std::move(handlers)) {}

UvAdmin::~UvAdmin() = default;

std::string UvAdmin::Respond(const std::string& method, const std::string& url, const Handlers& handlers) {
  const std::string path = url.substr(0, url.find('?'));
  if (path != "/metrics" && path != "/healthz" && path != "/readyz")
    return Http(404, "Not Found", kText, "not found: try /metrics, /healthz, /readyz\n");
  if (method != "GET" && method != "HEAD") return Http(405, "Method Not Allowed", kText, "GET only\n");
  std::string response;
  if (path == "/metrics") {
    response = Http(200, "OK", "text/plain; version=0.0.4; charset=utf-8", handlers.metrics());
  } else if (path == "/healthz") {
    response = Http(200, "OK", kText, "ok\n");
  } else {
    std::string why = handlers.not_ready();
    response = why.empty() ? Http(200, "OK", kText, "ready\n")
                           : Http(503, "Service Unavailable", kText, "not ready: " + why + "\n");
  }
  if (method == "HEAD") response.resize(response.find("\r\n\r\n") + 4);
  return response;
}

Status UvAdmin::Listen() {
  auto hp = SplitHostPort(config_.admin_listen);
  if (!hp.ok()) return Status(Code::kInvalidArgument, "admin_listen: " + hp.status().message());
  sockaddr_storage addr{};
  int rc = uv_ip4_addr(hp->first.c_str(), hp->second, reinterpret_cast<sockaddr_in*>(&addr));
  if (rc != 0) rc = uv_ip6_addr(hp->first.c_str(), hp->second, reinterpret_cast<sockaddr_in6*>(&addr));
  if (rc != 0) return Status(Code::kInvalidArgument, "bad admin_listen address " + config_.admin_listen);
  uv_tcp_init(loop_, &listener_);
  listener_.data = this;
  uv_timer_init(loop_, &sweep_);
  sweep_.data = this;
  listening_ = true;
  rc = uv_tcp_bind(&listener_, reinterpret_cast<sockaddr*>(&addr), 0);
  if (rc == 0)
    rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), 64, [](uv_stream_t* s, int status) {
      static_cast<UvAdmin*>(s->data)->OnConnection(status);
    });
  if (rc != 0) return Status(Code::kUnavailable, "admin listen on " + config_.admin_listen + ": " + uv_strerror(rc));
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
  uv_timer_start(&sweep_, [](uv_timer_t* t) { static_cast<UvAdmin*>(t->data)->Sweep(); }, 1000, 1000);
  return Status::Ok();
}

void UvAdmin::OnConnection(int status) {
  if (status < 0 || closed_) return;
  auto* c = new Conn;
  c->admin = this;
  c->opened_ms = SteadyMs();
  uv_tcp_init(loop_, &c->tcp);
  c->tcp.data = c;
  conns_.insert(c);
  if (uv_accept(reinterpret_cast<uv_stream_t*>(&listener_), reinterpret_cast<uv_stream_t*>(&c->tcp)) != 0 ||
      conns_.size() > config_.admin_max_connections) {
    return CloseConn(c);
  }
  http_parser_init(&c->parser, HTTP_REQUEST);
  c->parser.data = c;
  uv_read_start(
      reinterpret_cast<uv_stream_t*>(&c->tcp),
      [](uv_handle_t*, size_t, uv_buf_t* buf) {
        static char scratch[4096];  // the loop thread only; consumed before the next read
        *buf = uv_buf_init(scratch, sizeof scratch);
      },
      [](uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
        auto* c = static_cast<Conn*>(s->data);
        c->admin->OnRead(c, nread, buf);
      });
}

void UvAdmin::OnRead(Conn* c, ssize_t nread, const uv_buf_t* buf) {
  if (c->closing) return;
  if (nread < 0) return CloseConn(c);  // the client is done (after our reply: the normal end)
  if (c->replied) return;  // drained and dropped: closing with unread bytes would send a RST
                           // that can destroy the reply before the client reads it
  if (nread == 0) return;
  c->bytes += static_cast<size_t>(nread);
  if (c->bytes > config_.admin_max_request_bytes)
    return Reply(c, Http(431, "Request Header Fields Too Large", kText, "request too large\n"));
  http_parser_execute(&c->parser, &Settings(), buf->base, static_cast<size_t>(nread));
  const auto err = HTTP_PARSER_ERRNO(&c->parser);
  if (c->complete) return Reply(c, Respond(http_method_str(static_cast<http_method>(c->parser.method)), c->url, handlers_));
  if (err != HPE_OK) return Reply(c, Http(400, "Bad Request", kText, std::string("bad request: ") + http_errno_name(err) + "\n"));
}

void UvAdmin::Reply(Conn* c, std::string response) {
  c->replied = true;
  struct Req {
    uv_write_t req;
    std::string data;
  };
  auto* w = new Req;
  w->data = std::move(response);
  w->req.data = c;
  uv_buf_t b = uv_buf_init(w->data.data(), w->data.size());
  // Written, then FIN (shutdown); the connection closes when the client closes its side
  // (EOF in OnRead) or at the sweep.
  int rc = uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&c->tcp), &b, 1, [](uv_write_t* req, int status) {
    auto* c = static_cast<Conn*>(req->data);
    delete reinterpret_cast<Req*>(req);
    if (status < 0 || c->closing) return c->admin->CloseConn(c);
    c->shutdown.data = c;
    if (uv_shutdown(&c->shutdown, reinterpret_cast<uv_stream_t*>(&c->tcp), [](uv_shutdown_t* s, int st) {
          if (st < 0) {
            auto* c = static_cast<Conn*>(s->data);
            c->admin->CloseConn(c);
          }
        }) != 0) {
      c->admin->CloseConn(c);
    }
  });
  if (rc != 0) {
    delete w;
    CloseConn(c);
  }
}

void UvAdmin::CloseConn(Conn* c) {
  if (c->closing) return;
  c->closing = true;
  uv_close(AsHandle(&c->tcp), [](uv_handle_t* h) {
    auto* c = static_cast<Conn*>(h->data);
    c->admin->conns_.erase(c);
    delete c;
  });
}

void UvAdmin::Sweep() {
  const uint64_t now = SteadyMs();
  std::vector<Conn*> stale;
  for (Conn* c : conns_)
    if (!c->closing && now - c->opened_ms >= config_.handshake_timeout_ms) stale.push_back(c);
  for (Conn* c : stale) CloseConn(c);
}

void UvAdmin::Close() {
  if (closed_) return;
  closed_ = true;
  if (listening_) {
    uv_close(AsHandle(&listener_), nullptr);
    uv_close(AsHandle(&sweep_), nullptr);
  }
  std::vector<Conn*> open(conns_.begin(), conns_.end());
  for (Conn* c : open) CloseConn(c);
}

}  // namespace tern::server
