#include "tools/loadgen/client_mux.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <span>
#include <utility>

#include "tools/client/tcp_transport.h"

namespace tern::loadgen {
namespace {

constexpr size_t kReadBuffer = 256 * 1024;
constexpr size_t kMaxFrame = 16 << 20;  // as tools::Client::Options::max_frame

Status Errno(const char* what) {
  return Status(Code::kUnavailable, std::string(what) + ": " + std::strerror(errno));
}

}  // namespace

ClientMux::Device::Device(tools::ClientState state, tools::ClientCore::Options options)
    : store(std::make_unique<tools::StateStore>("")),
      core(store.get(), std::move(state), std::move(options)) {}

ClientMux::ClientMux(std::string ipv4, uint16_t port)
    : ip_(std::move(ipv4)), port_(port), buf_(kReadBuffer) {}

ClientMux::~ClientMux() {
  for (auto& d : devices_) {
    if (d->fd >= 0) ::close(d->fd);
  }
}

size_t ClientMux::Add(tools::ClientState state, tools::ClientCore::Options options) {
  devices_.push_back(std::make_unique<Device>(std::move(state), std::move(options)));
  return devices_.size() - 1;
}

Status ClientMux::Connect(size_t i) {
  Device& d = *devices_[i];
  if (d.fd >= 0) Drop(d, Status(Code::kUnavailable, "reconnecting"));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port_);
  if (::inet_pton(AF_INET, ip_.c_str(), &addr.sin_addr) != 1) {
    return Status(Code::kInvalidArgument, "not an IPv4 address: " + ip_);
  }
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Errno("socket");
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 &&
      errno != EINPROGRESS) {
    Status st = Errno("connect");
    ::close(fd);
    return st;
  }
  d.fd = fd;
  d.connecting = true;
  d.closing = false;
  d.error = Status::Ok();
  wire::Session::Options so;
  so.max_frame = kMaxFrame;
  d.session = std::make_unique<wire::Session>(wire::Session::Role::kClient, so);
  d.core.OnConnected(tools::SteadyNowMs());
  d.session->Send(d.core.MakeResume());
  d.out = d.session->TakeOutput();
  return Status::Ok();
}

void ClientMux::Close(size_t i) {
  Device& d = *devices_[i];
  if (d.fd < 0 || d.closing) return;
  if (!d.connecting) Stage(d, tools::SteadyNowMs());  // e.g. the last InboxAck
  d.closing = true;
  if (!d.connecting) WriteSome(d);  // half-closes once `out` is written
}

void ClientMux::Stage(Device& d, uint64_t now_ms) {
  if (d.fd < 0 || d.closing || !d.session) return;
  for (wire::Message& m : d.core.TakeOutgoing(now_ms)) d.session->Send(m);
  if (d.session->has_output()) d.out += d.session->TakeOutput();
}

void ClientMux::WriteSome(Device& d) {
  while (d.fd >= 0 && !d.connecting && !d.out.empty()) {
    const ssize_t n = ::send(d.fd, d.out.data(), d.out.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      Drop(d, Errno("send"));
      return;
    }
    d.out.erase(0, static_cast<size_t>(n));
  }
  if (d.fd >= 0 && d.closing && d.out.empty()) ::shutdown(d.fd, SHUT_WR);  // repeat is harmless
}

void ClientMux::ReadSome(Device& d) {
  while (d.fd >= 0) {
    const ssize_t n = ::recv(d.fd, buf_.data(), buf_.size(), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) Drop(d, Errno("recv"));
      return;
    }
    if (n == 0) {
      if (d.closing) {
        Drop(d, Status::Ok());
      } else {
        Dispatch(d);  // frames that arrived before the close still count
        Drop(d, Status(Code::kUnavailable, "connection closed by server"));
      }
      return;
    }
    // After Close() the input is discarded, not handled: what it carried was never acked and
    // the server delivers it again on the next connection.
    if (!d.closing) {
      Status fed = d.session->Feed(std::span<const uint8_t>(
          reinterpret_cast<const uint8_t*>(buf_.data()), static_cast<size_t>(n)));
      if (!fed.ok()) {
        Dispatch(d);
        Drop(d, fed);
        return;
      }
    }
    if (static_cast<size_t>(n) < buf_.size()) return;
  }
}

void ClientMux::Dispatch(Device& d) {
  if (d.fd < 0 || !d.session) return;
  const uint64_t now = tools::SteadyNowMs();
  while (std::optional<wire::Message> m = d.session->NextEvent()) {
    Status st = d.core.OnMessage(*m, now);
    if (!st.ok()) {
      Drop(d, st);
      return;
    }
  }
  if (Status st = d.core.PersistIfDirty(); !st.ok()) {
    Drop(d, st);
    return;
  }
  if (d.session->failed()) Drop(d, d.session->failure());
}

void ClientMux::Drop(Device& d, const Status& why) {
  if (d.fd < 0) return;
  ::close(d.fd);
  d.fd = -1;
  d.connecting = false;
  d.closing = false;
  d.out.clear();
  d.session.reset();
  d.error = why;
  d.core.OnDisconnected(why.ok() ? Status(Code::kUnavailable, "closed by the client") : why);
}

Status ClientMux::Turn(int timeout_ms) {
  uint64_t now = tools::SteadyNowMs();
  std::vector<pollfd> fds;
  std::vector<Device*> owners;
  fds.reserve(devices_.size());
  owners.reserve(devices_.size());
  for (auto& p : devices_) {
    Device& d = *p;
    if (d.fd < 0) continue;
    if (!d.connecting && !d.closing) {
      d.core.Tick(now);
      Stage(d, now);
      WriteSome(d);  // try the write first; poll only for what the kernel did not take
      if (d.fd < 0) continue;
    }
    const short events = POLLIN | (d.connecting || !d.out.empty() ? POLLOUT : 0);
    fds.push_back(pollfd{d.fd, events, 0});
    owners.push_back(&d);
  }
  if (fds.empty()) {
    if (timeout_ms > 0) ::poll(nullptr, 0, timeout_ms);
    return Status::Ok();
  }
  const int rc = ::poll(fds.data(), fds.size(), timeout_ms);
  if (rc < 0) {
    if (errno == EINTR) return Status::Ok();
    return Status(Code::kInternal, std::string("poll: ") + std::strerror(errno));
  }
  now = tools::SteadyNowMs();
  for (size_t k = 0; k < fds.size() && rc > 0; ++k) {
    const short re = fds[k].revents;
    if (re == 0) continue;
    Device& d = *owners[k];
    if (d.connecting) {
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(d.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        Drop(d, Status(Code::kUnavailable, std::string("connect: ") + std::strerror(err)));
        continue;
      }
      if ((re & POLLOUT) == 0) continue;
      d.connecting = false;
    }
    if ((re & (POLLIN | POLLHUP | POLLERR)) != 0) ReadSome(d);
    if (d.fd < 0) continue;
    if (!d.closing) {
      Dispatch(d);
      Stage(d, now);
    }
    WriteSome(d);
  }
  return Status::Ok();
}

}  // namespace tern::loadgen
