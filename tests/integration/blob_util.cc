#include "tests/integration/blob_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>

namespace tern::testing {
namespace {

int64_t NowS() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\r')) s.pop_back();
  while (!s.empty() && s.front() == ' ') s.erase(0, 1);
  return s;
}

}  // namespace

Result<server::blob::Credentials> BlobCredentials(const TestServer& server) {
  std::ifstream in(server.blob_credentials_path());
  server::blob::Credentials c;
  std::string line;
  while (std::getline(in, line)) {
    size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string k = Trim(line.substr(0, eq)), v = Trim(line.substr(eq + 1));
    if (k == "aws_access_key_id") c.access_key_id = v;
    if (k == "aws_secret_access_key") c.secret_access_key = v;
  }
  if (c.access_key_id.empty()) return Status(Code::kNotFound, "no credentials in " + server.blob_credentials_path());
  return c;
}

std::string BlobUrl(const TestServer& server, const std::string& method, const std::string& key,
                    const server::blob::Headers& extra, int64_t now_s, uint32_t expires_s) {
  const std::string host = "127.0.0.1:" + std::to_string(server.blob_port());
  return server::blob::Presign(BlobCredentials(server).value(), method,
                               (server.tls() ? "https://" : "http://") + host, host, "/tern/" + key,
                               now_s == 0 ? NowS() : now_s, expires_s, extra);
}

std::string BlobTarget(const TestServer& server, const std::string& method, const std::string& key,
                       const server::blob::Headers& extra, int64_t now_s, uint32_t expires_s) {
  std::string url = BlobUrl(server, method, key, extra, now_s, expires_s);
  return url.substr(url.find('/', url.find("://") + 3));
}

std::string HttpReply::Header(const std::string& name) const {
  size_t p = head.find("\r\n" + name + ": ");
  if (p == std::string::npos) return "";
  p += name.size() + 4;
  return head.substr(p, head.find("\r\n", p) - p);
}

Result<std::unique_ptr<RawHttp>> RawHttp::Connect(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return Status(Code::kUnavailable, "connect failed");
  }
  return std::unique_ptr<RawHttp>(new RawHttp(fd));
}

RawHttp::~RawHttp() { ::close(fd_); }

Status RawHttp::Send(const std::string& bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return Status(Code::kUnavailable, "send failed");
    off += static_cast<size_t>(n);
  }
  return Status::Ok();
}

HttpReply RawHttp::Read(int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  HttpReply r;
  while (true) {
    size_t end = buf_.find("\r\n\r\n");
    if (end != std::string::npos) {
      std::string head = buf_.substr(0, end + 2);
      int status = std::stoi(buf_.substr(9, 3));
      if (status == 100) {
        buf_.erase(0, end + 4);
        continue;
      }
      r.head = head;
      size_t len = std::stoull("0" + r.Header("Content-Length"));
      if (buf_.size() >= end + 4 + len) {
        r.status = status;
        r.body = buf_.substr(end + 4, len);
        buf_.erase(0, end + 4 + len);
        return r;
      }
    }
    int left = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count());
    if (left <= 0) return r;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, left) <= 0) return r;
    char tmp[65536];
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) return r;
    buf_.append(tmp, static_cast<size_t>(n));
  }
}

bool RawHttp::ClosedWithin(int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    int left = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count());
    if (left <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, left) <= 0) return false;
    char tmp[65536];
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) return true;
    buf_.append(tmp, static_cast<size_t>(n));
  }
}

HttpReply OneShot(uint16_t port, const std::string& bytes, int timeout_ms) {
  auto c = RawHttp::Connect(port);
  if (!c.ok()) return {};
  if (!(*c)->Send(bytes).ok()) return {};
  return (*c)->Read(timeout_ms);
}

}  // namespace tern::testing
