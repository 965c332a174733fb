// e2e_reconnect: what a reconnect costs a phone, per transport mode, through a fixed-delay
// proxy (every chunk is held --delay-ms in each direction: RTT = 2 x delay; loopback adds ~0).
// The proxy accepts at once, so the TCP handshake itself costs no delay here: on a real link
// add one round trip to every row.
//
// Workload: a TLS ternd (and a --plain-tcp one for the plain row); Alice registers with a state
// file (so the TLS ticket is kept in <state>.tls), reads once, disconnects. Then, --rounds times
// per mode: Bob sends Alice one message while she is away; Alice's client is created afresh
// from her files (an app restart) and reconnects through the proxy; the clock runs from the TCP
// connect to the first delivered inbox item, and the proxy counts the bytes both ways.
//   plain      TCP + Resume                     (ternd --plain-tcp)
//   tls-cold   TCP + full TLS 1.3 handshake + Resume (ticket file deleted first)
//   tls-ticket TCP + resumed TLS 1.3 (PSK, no certificate) + Resume (0-RTT off in the client)
//   tls-0rtt   TCP + resumed TLS 1.3 with the Resume in early data
// Round trips = elapsed / RTT, rounded to a tenth (the TCP handshake counts as one).
//
// Output: a table and one JSON line per mode:
//   {"bench":"reconnect","mode":"tls-0rtt","rtt_ms":200,"round_trips":2.0,"ms":401,
//    "bytes_up":..,"bytes_down":..}
// Usage: tern_e2e_reconnect [--delay-ms 100] [--rounds 3]
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <thread>
#include <vector>

#include "bench/e2e_util.h"
#include "tools/client/client.h"

namespace tern::bench {
namespace {

using tools::Client;

// One-connection-at-a-time TCP proxy that delays every chunk by `delay_ms` each way.
class DelayProxy {
 public:
  DelayProxy(uint16_t upstream, int delay_ms) : upstream_(upstream), delay_ms_(delay_ms) {
    lfd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(lfd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(lfd_, 8);
    socklen_t len = sizeof a;
    ::getsockname(lfd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { Loop(); });
  }
  ~DelayProxy() {
    stop_ = true;
    ::shutdown(lfd_, SHUT_RDWR);
    thread_.join();
    ::close(lfd_);
  }
  uint16_t port() const { return port_; }
  uint64_t up() const { return up_; }
  uint64_t down() const { return down_; }
  void ResetCounters() { up_ = down_ = 0; }

 private:
  struct Chunk {
    int64_t due_ns;
    std::string data;
  };
  void Loop() {
    while (!stop_) {
      int c = ::accept4(lfd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) return;
      int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(upstream_);
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      int one = 1;  // Nagle + delayed ACKs would add up to 200 ms per exchange
      ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      ::setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) Pump(c, s);
      ::close(c);
      ::close(s);
    }
  }
  // Both directions until either side closes (then the other is closed after its queue).
  void Pump(int c, int s) {
    std::deque<Chunk> to_s, to_c;
    bool c_open = true, s_open = true;
    char buf[65536];
    while (!stop_ && ((c_open && s_open) || !to_s.empty() || !to_c.empty())) {
      int64_t now = NowNs();
      auto deliver = [&](std::deque<Chunk>& q, int fd) {
        while (!q.empty() && q.front().due_ns <= now) {
          ::send(fd, q.front().data.data(), q.front().data.size(), MSG_NOSIGNAL);
          q.pop_front();
        }
      };
      deliver(to_s, s);
      deliver(to_c, c);
      if (!(c_open && s_open) && to_s.empty() && to_c.empty()) break;
      int64_t next = INT64_MAX;
      if (!to_s.empty()) next = std::min(next, to_s.front().due_ns);
      if (!to_c.empty()) next = std::min(next, to_c.front().due_ns);
      int timeout = next == INT64_MAX ? 100 : static_cast<int>(std::max<int64_t>(0, (next - now) / 1000000 + 1));
      pollfd p[2] = {{c, static_cast<short>(c_open && s_open ? POLLIN : 0), 0},
                     {s, static_cast<short>(c_open && s_open ? POLLIN : 0), 0}};
      ::poll(p, 2, std::min(timeout, 100));
      for (int i = 0; i < 2; ++i) {
        if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        ssize_t n = ::recv(p[i].fd, buf, sizeof buf, 0);
        if (n <= 0) {
          (i == 0 ? c_open : s_open) = false;
          continue;
        }
        // Counted when sent by their origin (not when delivered), so a measurement taken at
        // the first delivered message includes everything either side sent until then.
        (i == 0 ? up_ : down_) += static_cast<uint64_t>(n);
        (i == 0 ? to_s : to_c).push_back({NowNs() + int64_t{delay_ms_} * 1000000, std::string(buf, n)});
      }
    }
  }

  uint16_t upstream_;
  int delay_ms_;
  int lfd_;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> up_{0}, down_{0};
  std::thread thread_;
};

struct Row {
  std::string mode;
  double ms = 0, round_trips = 0;
  uint64_t up = 0, down = 0;
};

Client::Options Options(uint16_t port, const std::string& state, const BenchServer& server, bool tls,
                        bool early) {
  Client::Options o;
  o.port = port;
  o.state_path = state;
  o.io_timeout_ms = 20000;
  o.tls.enabled = tls;
  o.tls.pin_sha256 = server.fingerprint();
  o.tls.early_data = early;
  return o;
}

bool Measure(const std::string& mode, bool tls, int delay_ms, int rounds, Row* row) {
  BenchServer server(TERND_PATH, {}, tls);
  if (!server.Start(10000).ok()) return false;
  BenchDir dir;
  const std::string state = dir.Sub("alice.state");
  auto reg = [&](const std::string& phone, const std::string& path) -> std::unique_ptr<Client> {
    auto c = Client::Create(Options(server.port(), path, server, tls, true));
    if (!c.ok() || !(*c)->RequestCode(phone).ok()) return nullptr;
    auto code = server.CodeFor(phone);
    if (!code.ok() || !(*c)->Verify(phone, *code, "bench").ok()) return nullptr;
    return std::move(c).value();
  };
  auto alice = reg("+15559900001", state);
  auto bob = reg("+15559900002", "");
  if (!alice || !bob || !alice->RoundTrip(5000).ok()) return false;
  const uint64_t alice_id = alice->state().user_id;
  alice->Close();
  alice.reset();
  DelayProxy proxy(server.port(), delay_ms);
  row->mode = mode;
  for (int r = 0; r < rounds; ++r) {
    auto sent = bob->Send(alice_id, "while you were away " + std::to_string(r));
    if (!sent.ok() || !bob->WaitForAck(*sent, 5000).ok()) return false;
    if (mode == "tls-cold") std::remove((state + ".tls").c_str());
    auto c = Client::Create(Options(proxy.port(), state, server, tls, mode == "tls-0rtt"));
    if (!c.ok()) return false;
    proxy.ResetCounters();
    int64_t t0 = NowNs();
    if (!(*c)->Resume().ok() || !(*c)->WaitForItems(1, 20000).ok()) return false;
    int64_t t1 = NowNs();
    row->ms += (t1 - t0) / 1e6 / rounds;
    row->up += proxy.up() / rounds;
    row->down += proxy.down() / rounds;
    (*c)->RoundTrip(20000).IgnoreError();  // the InboxAck and the new ticket land before closing
    (*c)->Close();
  }
  row->round_trips = static_cast<int>(row->ms / (2.0 * delay_ms) * 10 + 0.5) / 10.0;
  return server.Stop(10000).ok();
}

}  // namespace
}  // namespace tern::bench

int main(int argc, char** argv) {
  using namespace tern::bench;
  int delay_ms = 100, rounds = 3;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--delay-ms") == 0 && i + 1 < argc) delay_ms = std::atoi(argv[++i]);
    else if (std::strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) rounds = std::atoi(argv[++i]);
    else {
      std::fprintf(stderr, "usage: tern_e2e_reconnect [--delay-ms 100] [--rounds 3]\n");
      return 2;
    }
  }
  std::vector<Row> rows;
  bool ok = true;
  for (auto [mode, tls] : {std::pair{"plain", false}, std::pair{"tls-cold", true},
                           std::pair{"tls-ticket", true}, std::pair{"tls-0rtt", true}}) {
    Row row;
    if (!Measure(mode, tls, delay_ms, rounds, &row)) {
      std::fprintf(stderr, "reconnect %s: failed\n", mode);
      ok = false;
      continue;
    }
    rows.push_back(row);
  }
  std::printf("RTT %d ms (proxy delay %d ms each way), reconnect to first delivered message:\n", 2 * delay_ms, delay_ms);
  std::printf("%-11s %12s %9s %10s %12s\n", "mode", "round trips", "ms", "bytes up", "bytes down");
  for (const Row& r : rows)
    std::printf("%-11s %12.1f %9.0f %10llu %12llu\n", r.mode.c_str(), r.round_trips, r.ms,
                static_cast<unsigned long long>(r.up), static_cast<unsigned long long>(r.down));
  for (const Row& r : rows)
    std::printf("{\"bench\":\"reconnect\",\"mode\":\"%s\",\"rtt_ms\":%d,\"round_trips\":%.1f,\"ms\":%.0f,"
                "\"bytes_up\":%llu,\"bytes_down\":%llu}\n",
                r.mode.c_str(), 2 * delay_ms, r.round_trips, r.ms, static_cast<unsigned long long>(r.up),
                static_cast<unsigned long long>(r.down));
  return ok ? 0 : 1;
}
