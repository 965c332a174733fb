#include "tools/client/tcp_transport.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>

namespace tern::tools {
namespace {

Status ErrnoStatus(std::string_view what, int err) {
  return Status(Code::kUnavailable, std::string(what) + ": " + std::strerror(err));
}

int RemainingMs(uint64_t deadline_ms) {
  uint64_t now = SteadyNowMs();
  return now >= deadline_ms ? 0 : static_cast<int>(deadline_ms - now);
}

}  // namespace

uint64_t SteadyNowMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

Status ParseHostPort(std::string_view spec, std::string* host, uint16_t* port) {
  size_t colon = spec.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == spec.size()) {
    return Status(Code::kInvalidArgument, "expected HOST:PORT, got '" + std::string(spec) + "'");
  }
  std::string_view h = spec.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  std::string_view p = spec.substr(colon + 1);
  uint32_t v = 0;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
  if (ec != std::errc() || end != p.data() + p.size() || v == 0 || v > 65535) {
    return Status(Code::kInvalidArgument, "bad port in '" + std::string(spec) + "'");
  }
  *host = std::string(h);
  *port = static_cast<uint16_t>(v);
  return Status::Ok();
}

Result<std::unique_ptr<TcpTransport>> TcpTransport::Connect(const std::string& host,
                                                            uint16_t port, int timeout_ms) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string service = std::to_string(port);
  int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
  if (rc != 0) {
    return Status(Code::kUnavailable, "resolve " + host + ": " + ::gai_strerror(rc));
  }
  const uint64_t deadline = SteadyNowMs() + static_cast<uint64_t>(timeout_ms);
  Status last(Code::kUnavailable, "no address for " + host);
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                      ai->ai_protocol);
    if (fd < 0) {
      last = ErrnoStatus("socket", errno);
      continue;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
      last = ErrnoStatus("connect " + host + ":" + service, errno);
      ::close(fd);
      continue;
    }
    pollfd pfd{fd, POLLOUT, 0};
    int n;
    do {
      n = ::poll(&pfd, 1, RemainingMs(deadline));
    } while (n < 0 && errno == EINTR);
    if (n == 0) {
      ::close(fd);
      ::freeaddrinfo(res);
      return Status(Code::kTimeout, "connect " + host + ":" + service + ": timed out");
    }
    int err = 0;
    socklen_t len = sizeof err;
    if (n < 0) err = errno;
    else ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      last = ErrnoStatus("connect " + host + ":" + service, err);
      ::close(fd);
      continue;
    }
    ::freeaddrinfo(res);
    return std::unique_ptr<TcpTransport>(new TcpTransport(fd));
  }
  ::freeaddrinfo(res);
  return last;
}

TcpTransport::~TcpTransport() { Abort(false); }

Result<TcpTransport::Ready> TcpTransport::Wait(bool want_write, int timeout_ms) {
  if (fd_ < 0) return Status(Code::kUnavailable, "connection closed");
  pollfd pfd{fd_, static_cast<short>(POLLIN | (want_write ? POLLOUT : 0)), 0};
  int n;
  do {
    n = ::poll(&pfd, 1, timeout_ms);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return ErrnoStatus("poll", errno);
  Ready r;
  // Errors and hang-ups surface through the next read, so report them as readable.
  r.readable = (pfd.revents & (POLLIN | POLLHUP | POLLERR)) != 0;
  r.writable = (pfd.revents & POLLOUT) != 0;
  return r;
}

Result<size_t> TcpTransport::WriteSome(std::string_view data) {
  if (fd_ < 0) return Status(Code::kUnavailable, "connection closed");
  while (true) {
    ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return size_t{0};
    return ErrnoStatus("send", errno);
  }
}

Status TcpTransport::WriteAll(std::string_view data, int timeout_ms) {
  const uint64_t deadline = SteadyNowMs() + static_cast<uint64_t>(timeout_ms);
  while (!data.empty()) {
    Result<size_t> n = WriteSome(data);
    if (!n.ok()) return n.status();
    data.remove_prefix(*n);
    if (data.empty()) break;
    int left = RemainingMs(deadline);
    if (left == 0) return Status(Code::kTimeout, "write timed out");
    pollfd pfd{fd_, POLLOUT, 0};
    if (::poll(&pfd, 1, left) < 0 && errno != EINTR) return ErrnoStatus("poll", errno);
  }
  return Status::Ok();
}

Result<size_t> TcpTransport::ReadSome(char* buf, size_t cap, bool* eof) {
  *eof = false;
  if (fd_ < 0) return Status(Code::kUnavailable, "connection closed");
  while (true) {
    ssize_t n = ::recv(fd_, buf, cap, 0);
    if (n > 0) return static_cast<size_t>(n);
    if (n == 0) {
      *eof = true;
      return size_t{0};
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return size_t{0};
    return ErrnoStatus("recv", errno);
  }
}

void TcpTransport::Close(int drain_timeout_ms) {
  if (fd_ < 0) return;
  // close() with unread input sends a RST, which may destroy our own last bytes in flight:
  // half-close, then read until the peer's EOF (bounded) before closing.
  ::shutdown(fd_, SHUT_WR);
  const uint64_t deadline = SteadyNowMs() + static_cast<uint64_t>(drain_timeout_ms);
  char buf[4096];
  while (true) {
    int left = RemainingMs(deadline);
    pollfd pfd{fd_, POLLIN, 0};
    int n = ::poll(&pfd, 1, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    ssize_t r = ::recv(fd_, buf, sizeof buf, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
  }
  ::close(fd_);
  fd_ = -1;
}

void TcpTransport::Abort(bool rst) {
  if (fd_ < 0) return;
  if (rst) {
    linger lg{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  }
  ::close(fd_);
  fd_ = -1;
}

}  // namespace tern::tools
