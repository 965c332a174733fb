// e2e_conns: ternd's resident memory per idle connection, plain TCP and TLS 1.3.
//
// Workload, once per transport (plain: ternd --plain-tcp; TLS: ternd's default):
//   * a fresh ternd with limits opened up for one address (max_connections,
//     max_connections_per_ip, accept_rate) and a handshake timeout long enough to keep
//     unauthenticated connections open;
//   * VmRSS of ternd (/proc/PID/status) after 20 warm-up connections came and went: baseline;
//   * --connections N (default 10000) connections opened one after the other from this
//     process; on each: (TLS handshake,) one Ping frame, its Pong read back. Then idle;
//   * VmRSS again once all N are open and answered: per connection = (open - baseline) / N;
//   * all N closed; VmRSS once ternd has closed them all (a last Ping round trip on a new
//     connection orders that) and trimmed its heap (it does on a timer tick after the count
//     fell below half its peak; polled for up to 3 s), to show memory going back.
// The connections are unauthenticated (a handshake needs a registered device each); what an
// idle authenticated connection adds is its device key, window and unacked deque: tens of bytes.
//
// Output: a table and one JSON line:
//   {"bench":"conns","connections":N,"rss_baseline_bytes":..,"rss_per_plain_conn_bytes":..,
//    "rss_per_tls_conn_bytes":..,"rss_after_close_plain_bytes":..,"rss_after_close_tls_bytes":..}
// The open file limit is raised to its hard limit (each side needs N descriptors).
//
// Usage: tern_e2e_conns [--connections N]
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "bench/e2e_util.h"
#include "wire/frame.h"
#include "wire/messages.h"

namespace tern::bench {
namespace {

constexpr int kStartTimeoutMs = 10000;
constexpr int kIoTimeoutMs = 5000;

uint64_t RssBytes(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10) * 1024;
  return 0;
}

int ConnectTo(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{kIoTimeoutMs / 1000, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

std::string PingFrame() { return wire::EncodeFrame(0, wire::EncodeMessage(wire::Ping{42})); }

// One idle connection: the socket and, for TLS, its SSL.
struct Conn {
  int fd = -1;
  SSL* ssl = nullptr;
};

// Reads until one whole frame arrived (the Pong). Returns false on error/EOF/timeout.
bool ReadFrame(Conn& c) {
  std::string buf;
  char tmp[512];
  while (true) {
    auto h = wire::ParseFrameHeader(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(buf.data()), buf.size()), 1024);
    if (!h.ok()) return false;
    if (h->has_value() && buf.size() >= (*h)->header_len + (*h)->body_len) return true;
    int n = c.ssl != nullptr ? SSL_read(c.ssl, tmp, sizeof tmp) : static_cast<int>(::recv(c.fd, tmp, sizeof tmp, 0));
    if (n <= 0) return false;
    buf.append(tmp, static_cast<size_t>(n));
  }
}

bool Open(Conn& c, uint16_t port, SSL_CTX* ctx) {
  c.fd = ConnectTo(port);
  if (c.fd < 0) return false;
  std::string ping = PingFrame();
  if (ctx != nullptr) {
    c.ssl = SSL_new(ctx);
    SSL_set_fd(c.ssl, c.fd);
    if (SSL_connect(c.ssl) != 1) return false;
    if (SSL_write(c.ssl, ping.data(), static_cast<int>(ping.size())) != static_cast<int>(ping.size())) return false;
  } else if (::send(c.fd, ping.data(), ping.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(ping.size())) {
    return false;
  }
  return ReadFrame(c);
}

void CloseAll(std::vector<Conn>& conns) {
  for (Conn& c : conns) {
    if (c.ssl != nullptr) SSL_free(c.ssl);
    if (c.fd >= 0) ::close(c.fd);
  }
  conns.clear();
}

struct Measure {
  uint64_t baseline = 0, open = 0, after = 0;
  int opened = 0;
};

bool Run(const char* label, bool tls, int n, Measure* r) {
  std::vector<std::string> flags = {"--max-connections", std::to_string(n + 100), "--max-connections-per-ip",
                                    std::to_string(n + 100), "--accept-rate", "1000000",
                                    "--handshake-timeout-ms", "600000"};
  BenchServer server(TERND_PATH, flags, tls);
  if (Status st = server.Start(kStartTimeoutMs); !st.ok()) {
    std::fprintf(stderr, "%s: ternd: %s\n", label, st.ToString().c_str());
    return false;
  }
  SSL_CTX* ctx = nullptr;
  if (tls) {
    ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    static const unsigned char alpn[] = {6, 't', 'e', 'r', 'n', '/', '1'};
    SSL_CTX_set_alpn_protos(ctx, alpn, sizeof alpn);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);  // loopback, our own ternd
  }
  std::vector<Conn> conns;
  conns.reserve(static_cast<size_t>(n));
  bool ok = true;
  for (int i = 0; i < 20 && ok; ++i) {  // warm-up: allocator, TLS tables, code pages
    conns.emplace_back();
    ok = Open(conns.back(), server.port(), ctx);
  }
  CloseAll(conns);
  Conn probe;
  ok = ok && Open(probe, server.port(), ctx);  // ternd has processed the closes before this
  std::vector<Conn> tmp{probe};
  CloseAll(tmp);
  Conn probe2;
  ok = ok && Open(probe2, server.port(), ctx);
  r->baseline = RssBytes(server.pid());
  for (int i = 0; i < n && ok; ++i) {
    conns.emplace_back();
    ok = Open(conns.back(), server.port(), ctx);
    if (!ok) std::fprintf(stderr, "%s: connection %d failed\n", label, i);
  }
  r->opened = static_cast<int>(conns.size());
  r->open = RssBytes(server.pid());
  CloseAll(conns);
  tmp = {probe2};
  CloseAll(tmp);
  Conn last;
  ok = Open(last, server.port(), ctx) && ok;
  // ternd trims its heap on a timer tick once the connections are gone: allow it 3 s.
  for (int i = 0; i < 30; ++i) {
    r->after = RssBytes(server.pid());
    if (r->after < r->baseline + r->baseline / 2) break;
    ::usleep(100 * 1000);
  }
  tmp = {last};
  CloseAll(tmp);
  if (ctx != nullptr) SSL_CTX_free(ctx);
  tern::Result<int> rc = server.Stop(10000);
  if (!rc.ok() || *rc != 0) {
    std::fprintf(stderr, "%s: ternd did not exit 0\n%s\n", label, server.LogTail(2000).c_str());
    ok = false;
  }
  return ok;
}

}  // namespace
}  // namespace tern::bench

int main(int argc, char** argv) {
  using namespace tern::bench;
  int n = 10000;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--connections") == 0 && i + 1 < argc) {
      n = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: tern_e2e_conns [--connections N]\n");
      return 2;
    }
  }
  rlimit rl{};
  ::getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &rl);  // ternd inherits it
  if (rl.rlim_cur < static_cast<rlim_t>(n) + 200) {
    n = static_cast<int>(rl.rlim_cur) - 200;
    std::fprintf(stderr, "open file limit %llu: measuring %d connections\n",
                 static_cast<unsigned long long>(rl.rlim_cur), n);
  }
  Measure plain, tls;
  bool ok = Run("plain", false, n, &plain);
  ok = Run("tls", true, n, &tls) && ok;
  auto per = [n](const Measure& r) { return r.open > r.baseline ? (r.open - r.baseline) / static_cast<uint64_t>(n) : 0; };
  std::printf("%-6s %12s %14s %14s %16s %14s\n", "", "connections", "baseline KiB", "open KiB", "per conn bytes", "closed KiB");
  for (auto [name, r] : {std::pair{"plain", &plain}, std::pair{"tls", &tls}})
    std::printf("%-6s %12d %14llu %14llu %16llu %14llu\n", name, r->opened,
                static_cast<unsigned long long>(r->baseline / 1024), static_cast<unsigned long long>(r->open / 1024),
                static_cast<unsigned long long>(per(*r)), static_cast<unsigned long long>(r->after / 1024));
  std::printf(
      "{\"bench\":\"conns\",\"connections\":%d,\"rss_baseline_bytes\":%llu,\"rss_per_plain_conn_bytes\":%llu,"
      "\"rss_per_tls_conn_bytes\":%llu,\"rss_after_close_plain_bytes\":%llu,\"rss_after_close_tls_bytes\":%llu}\n",
      n, static_cast<unsigned long long>(plain.baseline), static_cast<unsigned long long>(per(plain)),
      static_cast<unsigned long long>(per(tls)), static_cast<unsigned long long>(plain.after),
      static_cast<unsigned long long>(tls.after));
  return ok ? 0 : 1;
}
