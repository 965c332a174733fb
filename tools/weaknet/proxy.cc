#include "tools/weaknet/proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <list>
#include <vector>

namespace tern::weaknet {
namespace {

uint64_t NowUs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

// Reading side i feeds this direction; writing side i drains the other one.
Dir FromSide(int side) { return side == 0 ? Dir::kUp : Dir::kDown; }
Dir ToSide(int side) { return side == 0 ? Dir::kDown : Dir::kUp; }

bool MakeAddr(const std::string& host, uint16_t port, sockaddr_in* a) {
  std::memset(a, 0, sizeof *a);
  a->sin_family = AF_INET;
  a->sin_port = htons(port);
  return ::inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host.c_str(), &a->sin_addr) == 1;
}

void SetNonBlockingNoDelay(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

void CloseFd(int fd, bool rst) {
  if (rst) {
    linger l{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  }
  ::close(fd);
}

void AppendDir(std::string* out, const char* name, const DirStats& d) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "\"%s\":{\"bytes\":%llu,\"segments\":%llu,\"stalls\":%llu,\"stall_ms\":%llu,"
                "\"dropped\":%llu}",
                name, static_cast<unsigned long long>(d.bytes_out),
                static_cast<unsigned long long>(d.segments),
                static_cast<unsigned long long>(d.stalls),
                static_cast<unsigned long long>(d.stall_ms),
                static_cast<unsigned long long>(d.dropped));
  *out += buf;
}

}  // namespace

std::string StatsJson(const ProxyStats& s, const std::string& profile) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "{\"event\":\"report\",\"profile\":\"%s\",\"connections\":%llu,\"live\":%llu,"
                "\"resets\":%llu,\"half_opens\":%llu,\"cuts\":%llu,",
                profile.c_str(), static_cast<unsigned long long>(s.connections),
                static_cast<unsigned long long>(s.live),
                static_cast<unsigned long long>(s.resets),
                static_cast<unsigned long long>(s.half_opens),
                static_cast<unsigned long long>(s.cuts));
  std::string out = buf;
  AppendDir(&out, "up", s.up);
  out += ",";
  AppendDir(&out, "down", s.down);
  out += "}";
  return out;
}

struct Proxy::Pair {
  Pair(uint64_t id_, const Profile& profile, uint64_t seed, uint64_t now_us)
      : id(id_), core(profile, seed, now_us), opened_us(now_us) {}
  struct Side {
    int fd = -1;
    bool eof = false;   // read EOF (or error) from this socket
    bool shut = false;  // we sent FIN on this socket
    std::string out;    // due bytes not yet written to this socket
  };
  uint64_t id;
  Side s[2];  // 0: client, 1: upstream server
  bool connecting = true;
  ConnCore core;
  uint64_t opened_us;
  uint64_t reset_by_us = kNever;  // a pending reset happens by then at the latest
  uint64_t hole_until_us = kNever;
  bool accounted = false;  // the drop/cut was counted
  bool failed = false;     // a socket error: reset the other end
};

struct Proxy::Impl {
  sockaddr_in upstream{};
  std::list<Pair> pairs;
  uint64_t next_id = 0;
  ProxyStats closed;  // totals of finished connections (and the counters)
  uint64_t next_report_us = kNever;
  bool stop = false;
};

Proxy::Proxy(ProxyOptions options) : options_(std::move(options)), impl_(new Impl) {}

Proxy::~Proxy() {
  for (Pair& p : impl_->pairs) {
    for (auto& s : p.s) {
      if (s.fd >= 0) CloseFd(s.fd, true);
    }
  }
  if (listen_fd_ >= 0) ::close(listen_fd_);
  for (int fd : wake_) {
    if (fd >= 0) ::close(fd);
  }
}

Result<std::unique_ptr<Proxy>> Proxy::Listen(ProxyOptions options) {
  std::unique_ptr<Proxy> p(new Proxy(std::move(options)));
  sockaddr_in la;
  if (!MakeAddr(p->options_.listen_host, p->options_.listen_port, &la)) {
    return Status(Code::kInvalidArgument, "listen address must be IPv4: " + p->options_.listen_host);
  }
  if (!MakeAddr(p->options_.upstream_host, p->options_.upstream_port, &p->impl_->upstream)) {
    return Status(Code::kInvalidArgument,
                  "upstream address must be IPv4: " + p->options_.upstream_host);
  }
  if (::pipe2(p->wake_, O_CLOEXEC | O_NONBLOCK) != 0) {
    return Status(Code::kUnavailable, std::string("pipe: ") + std::strerror(errno));
  }
  p->listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (p->listen_fd_ < 0) return Status(Code::kUnavailable, std::strerror(errno));
  int one = 1;
  ::setsockopt(p->listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(p->listen_fd_, reinterpret_cast<sockaddr*>(&la), sizeof la) != 0 ||
      ::listen(p->listen_fd_, 512) != 0) {
    return Status(Code::kUnavailable, std::string("bind/listen: ") + std::strerror(errno));
  }
  socklen_t len = sizeof la;
  ::getsockname(p->listen_fd_, reinterpret_cast<sockaddr*>(&la), &len);
  p->port_ = ntohs(la.sin_port);
  return p;
}

void Proxy::Stop() { (void)!::write(wake_[1], "q", 1); }
void Proxy::RequestReport() { (void)!::write(wake_[1], "r", 1); }
void Proxy::ForceDrop(bool black_hole) { (void)!::write(wake_[1], black_hole ? "h" : "d", 1); }

ProxyStats Proxy::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return published_;
}

void Proxy::Accept(uint64_t now_us) {
  for (;;) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, or EMFILE and friends: try again next turn
    int up = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (up < 0) {
      CloseFd(fd, true);
      continue;
    }
    SetNonBlockingNoDelay(fd);
    SetNonBlockingNoDelay(up);
    int rc = ::connect(up, reinterpret_cast<sockaddr*>(&impl_->upstream), sizeof impl_->upstream);
    if (rc != 0 && errno != EINPROGRESS) {
      CloseFd(fd, true);
      ::close(up);
      continue;
    }
    uint64_t id = impl_->next_id++;
    Pair& p = impl_->pairs.emplace_back(id, options_.profile, DeriveSeed(options_.seed, id),
                                        now_us);
    p.s[0].fd = fd;
    p.s[1].fd = up;
    p.connecting = rc != 0;
    ++impl_->closed.connections;
    if (options_.verbose) std::fprintf(stderr, "conn %llu: open\n", (unsigned long long)id);
  }
}

void Proxy::CloseSide(Pair& p, int side, bool rst) {
  if (p.s[side].fd < 0) return;
  CloseFd(p.s[side].fd, rst);
  p.s[side].fd = -1;
}

void Proxy::Finish(Pair& p, bool rst) {
  CloseSide(p, 0, rst);
  CloseSide(p, 1, rst);
}

void Proxy::Account(Pair& p) {
  if (p.accounted || p.core.state() == ConnCore::State::kForwarding) return;
  p.accounted = true;
  const char* what = "reset";
  if (p.core.reason() == ConnCore::Reason::kCut) {
    ++impl_->closed.cuts;
    what = "cut";
  } else if (p.core.state() == ConnCore::State::kBlackHole) {
    ++impl_->closed.half_opens;
    what = "black hole";
  } else {
    ++impl_->closed.resets;
  }
  if (options_.verbose) {
    std::fprintf(stderr, "conn %llu: %s\n", (unsigned long long)p.id, what);
  }
}

void Proxy::ReadSide(Pair& p, int side, uint64_t now_us) {
  Pair::Side& s = p.s[side];
  char buf[16384];
  // Bounded per turn so one busy connection cannot starve the others.
  for (int i = 0; i < 8 && s.fd >= 0 && !s.eof; ++i) {
    ssize_t n = ::recv(s.fd, buf, sizeof buf, 0);
    if (n > 0) {
      p.core.OnData(FromSide(side), now_us, std::string_view(buf, static_cast<size_t>(n)));
      if (static_cast<size_t>(n) < sizeof buf) return;
      continue;
    }
    if (n == 0) {
      s.eof = true;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
      return;
    } else {
      s.eof = true;
      p.failed = true;
    }
  }
}

void Proxy::WriteSide(Pair& p, int side) {
  Pair::Side& s = p.s[side];
  while (s.fd >= 0 && !s.out.empty()) {
    ssize_t n = ::send(s.fd, s.out.data(), s.out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      s.out.erase(0, static_cast<size_t>(n));
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      return;
    } else {
      p.failed = true;
      s.out.clear();
      return;
    }
  }
}

// One turn's worth of work for a pair after its IO events; false when it is finished.
bool Proxy::Service(Pair& p, uint64_t now_us) {
  if (p.connecting) return true;
  p.core.Tick(now_us);
  Account(p);
  using State = ConnCore::State;
  if (p.failed && p.core.state() != State::kBlackHole) {
    Finish(p, true);  // a reset (or a vanished peer) on one end resets the other
    return false;
  }
  for (int side = 0; side < 2; ++side) {
    p.s[side].out += p.core.TakeOutput(ToSide(side), now_us);
    WriteSide(p, side);
  }
  Account(p);  // the byte cut may have been reached just now
  switch (p.core.state()) {
    case State::kForwarding:
      for (int side = 0; side < 2; ++side) {
        // Pass a FIN on once everything sent before it was delivered.
        int other = 1 - side;
        if (p.s[side].eof && !p.s[other].shut && p.core.held(FromSide(side)) == 0 &&
            p.s[other].out.empty() && p.s[other].fd >= 0) {
          ::shutdown(p.s[other].fd, SHUT_WR);
          p.s[other].shut = true;
        }
      }
      if (p.s[0].eof && p.s[1].eof && p.s[0].shut && p.s[1].shut) {
        Finish(p, false);
        return false;
      }
      return true;
    case State::kReset:
      if (p.reset_by_us == kNever) p.reset_by_us = now_us + 1000000;
      if ((p.s[0].out.empty() && p.s[1].out.empty()) || now_us >= p.reset_by_us || p.failed) {
        Finish(p, true);
        return false;
      }
      return true;
    case State::kBlackHole:
      if (p.hole_until_us == kNever) {
        p.hole_until_us = now_us + uint64_t{options_.profile.faults.half_open_hold_ms} * 1000;
        p.s[0].out.clear();
        p.s[1].out.clear();
      }
      // Each end goes away on its own; the other never hears of it.
      for (int side = 0; side < 2; ++side) {
        if (p.s[side].eof) CloseSide(p, side, false);
      }
      if (now_us >= p.hole_until_us) Finish(p, true);
      return p.s[0].fd >= 0 || p.s[1].fd >= 0;
  }
  return true;
}

void Proxy::PublishStats() {
  ProxyStats s = impl_->closed;
  s.live = impl_->pairs.size();
  for (const Pair& p : impl_->pairs) {
    s.up += p.core.stats(Dir::kUp);
    s.down += p.core.stats(Dir::kDown);
  }
  std::lock_guard<std::mutex> lock(mu_);
  published_ = s;
}

void Proxy::Run() {
  Impl& im = *impl_;
  if (options_.report_ms != 0) im.next_report_us = NowUs() + uint64_t{options_.report_ms} * 1000;
  std::vector<pollfd> fds;
  std::vector<std::pair<Pair*, int>> owners;  // fds[i + 2] belongs to (pair, side)
  while (!im.stop) {
    uint64_t now = NowUs();
    // Work due now, then the next deadline.
    uint64_t deadline = im.next_report_us;
    for (auto it = im.pairs.begin(); it != im.pairs.end();) {
      if (!Service(*it, now)) {
        im.closed.up += it->core.stats(Dir::kUp);
        im.closed.down += it->core.stats(Dir::kDown);
        if (options_.verbose) {
          std::fprintf(stderr, "conn %llu: closed after %llu ms\n", (unsigned long long)it->id,
                       (unsigned long long)((now - it->opened_us) / 1000));
        }
        it = im.pairs.erase(it);
        continue;
      }
      deadline = std::min({deadline, it->core.NextDeadline(), it->reset_by_us, it->hole_until_us});
      ++it;
    }
    PublishStats();
    if (now >= im.next_report_us) {
      im.next_report_us = now + uint64_t{options_.report_ms} * 1000;
      if (on_report) on_report(Stats());
      continue;
    }

    fds.clear();
    owners.clear();
    fds.push_back({wake_[0], POLLIN, 0});
    fds.push_back({listen_fd_, POLLIN, 0});
    for (Pair& p : im.pairs) {
      for (int side = 0; side < 2; ++side) {
        Pair::Side& s = p.s[side];
        if (s.fd < 0) continue;
        short ev = 0;
        if (p.connecting) {
          if (side == 1) ev = POLLOUT;
        } else if (!s.eof) {
          bool hole = p.core.state() == ConnCore::State::kBlackHole;
          bool fwd = p.core.state() == ConnCore::State::kForwarding;
          size_t buffered = p.core.held(FromSide(side)) + p.s[1 - side].out.size();
          if (hole || (fwd && buffered < options_.max_buffered)) ev |= POLLIN;
        }
        if (!s.out.empty()) ev |= POLLOUT;
        if (ev == 0) continue;
        fds.push_back({s.fd, ev, 0});
        owners.emplace_back(&p, side);
      }
    }
    int timeout = -1;
    if (deadline != kNever) {
      timeout = deadline <= now ? 0 : static_cast<int>(std::min<uint64_t>((deadline - now + 999) / 1000, 60000));
    }
    int rc = ::poll(fds.data(), fds.size(), timeout);
    if (rc < 0 && errno != EINTR) {
      std::fprintf(stderr, "tern-weaknet: poll: %s\n", std::strerror(errno));
      break;
    }
    now = NowUs();
    if (rc <= 0) continue;
    if (fds[0].revents & POLLIN) {
      char cmd[64];
      ssize_t n;
      while ((n = ::read(wake_[0], cmd, sizeof cmd)) > 0) {
        for (ssize_t i = 0; i < n; ++i) {
          if (cmd[i] == 'q') im.stop = true;
          if (cmd[i] == 'r' && on_report) {
            PublishStats();
            on_report(Stats());
          }
          if (cmd[i] == 'd' || cmd[i] == 'h') {
            for (Pair& p : im.pairs) p.core.ForceDrop(cmd[i] == 'h');
          }
        }
      }
    }
    if (fds[1].revents & POLLIN) Accept(now);
    for (size_t i = 2; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      auto [p, side] = owners[i - 2];
      if (p->connecting) {
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(p->s[1].fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
          p->failed = true;  // upstream refused: the client sees a reset
          p->connecting = false;
        } else {
          p->connecting = false;
        }
        continue;
      }
      if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) ReadSide(*p, side, now);
      if (fds[i].revents & POLLOUT) WriteSide(*p, side);
    }
  }
  PublishStats();
  if (on_report) on_report(Stats());
  for (Pair& p : im.pairs) Finish(p, true);
  im.pairs.clear();
}

}  // namespace tern::weaknet
