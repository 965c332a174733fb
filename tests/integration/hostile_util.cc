#include "tests/integration/hostile_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "wire/frame.h"
#include "wire/session.h"

namespace tern::testing {

Result<std::unique_ptr<RawConn>> RawConn::Open(uint16_t port, const std::string& source_ip, int rcvbuf) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status(Code::kUnavailable, std::strerror(errno));
  if (rcvbuf > 0) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  if (!source_ip.empty()) {
    sockaddr_in src{};
    src.sin_family = AF_INET;
    inet_pton(AF_INET, source_ip.c_str(), &src.sin_addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) {
      ::close(fd);
      return Status(Code::kUnavailable, "bind " + source_ip + ": " + std::strerror(errno));
    }
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    int e = errno;
    ::close(fd);
    return Status(Code::kUnavailable, std::string("connect: ") + std::strerror(e));
  }
  return std::unique_ptr<RawConn>(new RawConn(fd));
}

RawConn::~RawConn() {
  if (fd_ >= 0) ::close(fd_);
}

Status RawConn::Write(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) return Status(Code::kUnavailable, std::string("send: ") + std::strerror(errno));
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Status RawConn::Authenticate(const wire::Resume& resume, int timeout_ms) {
  TERN_RETURN_IF_ERROR(Write(FrameOf(resume)));
  wire::Session s(wire::Session::Role::kClient, wire::Session::Options{});
  const uint64_t deadline = tools::SteadyNowMs() + static_cast<uint64_t>(timeout_ms);
  char buf[16384];
  while (tools::SteadyNowMs() < deadline) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return Status(Code::kUnavailable, "closed before Welcome");
    TERN_RETURN_IF_ERROR(s.Feed(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(buf), static_cast<size_t>(n))));
    while (auto m = s.NextEvent())
      if (std::holds_alternative<wire::Welcome>(*m)) return Status::Ok();
  }
  return Status(Code::kTimeout, "no Welcome");
}

Status RawConn::ReadUntilClosed(int timeout_ms, std::string* got) {
  const uint64_t deadline = tools::SteadyNowMs() + static_cast<uint64_t>(timeout_ms);
  char buf[16384];
  while (true) {
    uint64_t now = tools::SteadyNowMs();
    if (now >= deadline) return Status(Code::kTimeout, "peer still open after " + std::to_string(timeout_ms) + " ms");
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(deadline - now)) <= 0) continue;
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n == 0 || (n < 0 && errno == ECONNRESET)) return Status::Ok();
    if (n < 0) return Status(Code::kUnavailable, std::string("recv: ") + std::strerror(errno));
    got->append(buf, static_cast<size_t>(n));
  }
}

std::optional<Code> RawConn::ErrorIn(const std::string& bytes) {
  wire::Session s(wire::Session::Role::kClient, wire::Session::Options{});
  Status st = s.Feed(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
  while (auto m = s.NextEvent()) {
    if (auto* e = std::get_if<wire::Error>(&*m)) return e->code;
  }
  if (!st.ok()) return st.code();
  return std::nullopt;
}

std::string FrameOf(const wire::Message& m) { return wire::EncodeFrame(0, wire::EncodeMessage(m)); }

wire::Resume ResumeOf(const Client& c) {
  wire::Resume r;
  r.user_id = c.state().user_id;
  r.device_id = c.state().device_id;
  r.token = c.state().token;
  r.inbox_epoch = c.state().inbox_epoch;
  r.last_inbox_seq = c.state().last_inbox_seq;
  r.last_acked_client_seq = c.state().last_acked_client_seq;
  return r;
}

Result<std::unique_ptr<Chatters>> Chatters::Create(const TestServer& server, const std::string& prefix) {
  auto c = std::unique_ptr<Chatters>(new Chatters);
  auto a = RegisterUser(server, prefix + "1");
  if (!a.ok()) return a.status();
  auto b = RegisterUser(server, prefix + "2");
  if (!b.ok()) return b.status();
  c->a_ = std::move(a).value();
  c->b_ = std::move(b).value();
  return c;
}

Status Chatters::Exchange(int n) {
  const std::string tag = "round" + std::to_string(round_++);
  std::vector<std::string> texts = Texts(tag, n);
  const size_t had = b_->inbox().size();
  auto seqs = SendAll(*a_, b_->state().user_id, texts);
  if (!seqs.ok()) return seqs.status();
  auto acks = WaitForAcks(*a_, *seqs);
  if (!acks.ok()) return acks.status();
  for (const wire::SendAck& ack : *acks)
    if (ack.status != Code::kOk) return Status(ack.status, "a well-behaved send was refused");
  TERN_RETURN_IF_ERROR(b_->WaitForItems(had + texts.size(), kWaitMs));
  std::vector<std::string> got = InboxTexts(*b_);
  if (got.size() != had + texts.size() || !std::equal(texts.begin(), texts.end(), got.begin() + had))
    return Status(Code::kInternal, "bob's inbox is not exactly what alice sent, in order");
  const size_t a_had = a_->inbox().size();
  TERN_RETURN_IF_ERROR(b_->Send(a_->state().user_id, "back " + tag).status());
  return a_->WaitForItems(a_had + 1, kWaitMs);
}

uint64_t RssOf(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10) * 1024;
  return 0;
}

}  // namespace tern::testing
