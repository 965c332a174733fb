#include "tools/client/blob_client.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "tools/client/tcp_transport.h"

namespace tern::tools {
namespace {

constexpr size_t kMaxHead = 16 * 1024;

struct Conn {
  std::unique_ptr<TlsClientContext> tls;  // outlives the transport (declared first)
  std::unique_ptr<Transport> t;
  std::string buf;  // bytes read past the last parsed point
};

struct Reply {
  int status = 0;
  std::string head;
  uint64_t length = 0;
  std::string Header(const std::string& name) const {
    std::string lower_head = head;
    for (char& ch : lower_head) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    std::string key = "\r\n" + name + ":";
    size_t p = lower_head.find(key);
    if (p == std::string::npos) return "";
    p += key.size();
    while (p < head.size() && head[p] == ' ') ++p;
    return head.substr(p, head.find("\r\n", p) - p);
  }
};

Result<std::unique_ptr<Conn>> Connect(const BlobUrl& u, const BlobOptions& o) {
  auto c = std::make_unique<Conn>();
  if (u.https) {
    TlsOptions to = o.tls;
    to.enabled = true;
    to.alpn = "http/1.1";
    to.early_data = false;  // HTTP requests are not replay-safe
    to.session_path.clear();
    auto ctx = TlsClientContext::Create(to);
    if (!ctx.ok()) return ctx.status();
    c->tls = std::move(ctx).value();
    auto t = TlsTransport::Connect(*c->tls, u.host, u.port, o.io_timeout_ms);
    if (!t.ok()) return t.status();
    c->t = std::move(t).value();
  } else {
    auto t = TcpTransport::Connect(u.host, u.port, o.io_timeout_ms);
    if (!t.ok()) return t.status();
    c->t = std::move(t).value();
  }
  return c;
}

Status SendAll(Conn& c, std::string_view data, int timeout_ms) {
  while (!data.empty()) {
    auto n = c.t->WriteSome(data);
    if (!n.ok()) return n.status();
    data.remove_prefix(*n);
    if (*n == 0) {
      auto r = c.t->Wait(true, timeout_ms);
      if (!r.ok()) return r.status();
      if (!r->writable && !r->readable) return Status(Code::kTimeout, "blob: write stalled");
      if (!r->writable && r->readable) {
        // The server answered early (e.g. 403/413 before reading the body): stop writing.
        char tmp[16384];
        bool eof = false;
        auto got = c.t->ReadSome(tmp, sizeof tmp, &eof);
        if (!got.ok()) return got.status();
        c.buf.append(tmp, *got);
        if (eof) return Status(Code::kUnavailable, "blob: connection closed while sending");
        if (c.buf.find("\r\n\r\n") != std::string::npos) return Status::Ok();
      }
    }
  }
  return Status::Ok();
}

// Reads more into c.buf. Errors: kUnavailable (EOF), kTimeout.
Status ReadMore(Conn& c, int timeout_ms) {
  auto r = c.t->Wait(false, timeout_ms);
  if (!r.ok()) return r.status();
  if (!r->readable) return Status(Code::kTimeout, "blob: no response");
  char tmp[65536];
  bool eof = false;
  auto n = c.t->ReadSome(tmp, sizeof tmp, &eof);
  if (!n.ok()) return n.status();
  if (*n == 0 && eof) return Status(Code::kUnavailable, "blob: connection closed");
  c.buf.append(tmp, *n);
  return Status::Ok();
}

Result<Reply> ReadHead(Conn& c, int timeout_ms) {
  while (true) {
    size_t end = c.buf.find("\r\n\r\n");
    if (end != std::string::npos) {
      Reply r;
      r.head = c.buf.substr(0, end + 2);
      c.buf.erase(0, end + 4);
      if (r.head.size() < 12 || r.head.compare(0, 5, "HTTP/") != 0)
        return Status(Code::kInternal, "blob: not an HTTP response");
      r.status = std::atoi(r.head.c_str() + 9);
      if (r.status == 100) continue;
      r.length = std::strtoull(r.Header("content-length").c_str(), nullptr, 10);
      return r;
    }
    if (c.buf.size() > kMaxHead) return Status(Code::kInternal, "blob: response head too large");
    TERN_RETURN_IF_ERROR(ReadMore(c, timeout_ms));
  }
}

// Reads and drops a small body (error responses).
std::string ReadSmallBody(Conn& c, const Reply& r, int timeout_ms) {
  while (c.buf.size() < r.length && r.length < kMaxHead)
    if (!ReadMore(c, timeout_ms).ok()) break;
  std::string body = c.buf.substr(0, std::min<uint64_t>(r.length, c.buf.size()));
  c.buf.erase(0, body.size());
  return body;
}

Status StatusFor(int status, const std::string& body) {
  const std::string why = "blob store answered " + std::to_string(status) + (body.empty() ? "" : ": " + body);
  switch (status) {
    case 403: return Status(Code::kForbidden, why);
    case 404: return Status(Code::kNotFound, why);
    case 400: return Status(Code::kInvalidArgument, why);
    case 408:
    case 409:
    case 500:
    case 503: return Status(Code::kUnavailable, why);
    default: return Status(Code::kInternal, why);
  }
}

std::string RequestHead(const std::string& method, const BlobUrl& u, const BlobHeaders& headers,
                        const std::string& extra) {
  std::string h = method + " " + u.target + " HTTP/1.1\r\nHost: " + u.authority + "\r\n";
  for (const auto& [n, v] : headers) h += n + ": " + v + "\r\n";
  return h + extra + "\r\n";
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

Result<BlobUrl> ParseBlobUrl(const std::string& url) {
  BlobUrl u;
  std::string rest;
  if (url.rfind("https://", 0) == 0) {
    u.https = true;
    rest = url.substr(8);
  } else if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else {
    return Status(Code::kInvalidArgument, "blob URL must be http:// or https://");
  }
  size_t slash = rest.find('/');
  u.authority = rest.substr(0, slash);
  u.target = slash == std::string::npos ? "/" : rest.substr(slash);
  std::string hostport = u.authority;
  if (hostport.find(':') == std::string::npos || (hostport.front() == '[' && hostport.back() == ']'))
    hostport += u.https ? ":443" : ":80";
  TERN_RETURN_IF_ERROR(ParseHostPort(hostport, &u.host, &u.port));
  return u;
}

Result<std::string> Sha256File(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return Status(Code::kNotFound, "cannot open " + path + ": " + std::strerror(errno));
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  EVP_DigestInit_ex(md, EVP_sha256(), nullptr);
  std::string buf(1 << 16, '\0');
  while (true) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      EVP_MD_CTX_free(md);
      return Status(Code::kUnavailable, "read " + path);
    }
    if (n == 0) break;
    EVP_DigestUpdate(md, buf.data(), static_cast<size_t>(n));
  }
  unsigned char out[32];
  unsigned int len = 0;
  EVP_DigestFinal_ex(md, out, &len);
  EVP_MD_CTX_free(md);
  return std::string(reinterpret_cast<char*>(out), len);
}

Result<uint64_t> UploadFile(const std::string& url, const BlobHeaders& headers, const std::string& file, uint64_t size,
                            const BlobOptions& o) {
  auto u = ParseBlobUrl(url);
  if (!u.ok()) return u.status();
  Fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return Status(Code::kNotFound, "cannot open " + file);
  auto c = Connect(*u, o);
  if (!c.ok()) return c.status();
  // How far did an earlier attempt get?
  TERN_RETURN_IF_ERROR(SendAll(**c, RequestHead("PUT", *u, headers,
                                                "Content-Range: bytes */" + std::to_string(size) +
                                                    "\r\nContent-Length: 0\r\n"),
                               o.io_timeout_ms));
  auto q = ReadHead(**c, o.io_timeout_ms);
  if (!q.ok()) return q.status();
  std::string qbody = ReadSmallBody(**c, *q, o.io_timeout_ms);
  uint64_t landed = 0;
  bool resumable = true;
  if (q->status == 200) {
    if (o.progress) o.progress(size, size);
    return uint64_t{0};  // already complete
  } else if (q->status == 308) {
    std::string range = q->Header("range");  // "bytes=0-N"
    if (range.rfind("bytes=0-", 0) == 0) landed = std::strtoull(range.c_str() + 8, nullptr, 10) + 1;
    if (landed >= size) landed = 0;  // all bytes but never finished (e.g. a crash): start over
  } else if (q->status == 403) {
    return StatusFor(q->status, qbody);
  } else {
    resumable = false;  // a store without the resume protocol (e.g. S3): one whole PUT
  }
  if (!resumable || q->Header("connection") == "close") {
    auto again = Connect(*u, o);
    if (!again.ok()) return again.status();
    c = std::move(again);
  }
  std::string extra = "Content-Length: " + std::to_string(size - landed) + "\r\n";
  if (resumable)
    extra += "Content-Range: bytes " + std::to_string(landed) + "-" + std::to_string(size - 1) + "/" +
             std::to_string(size) + "\r\n";
  TERN_RETURN_IF_ERROR(SendAll(**c, RequestHead("PUT", *u, headers, extra), o.io_timeout_ms));
  uint64_t pos = landed, sent = 0;
  std::string chunk(o.chunk_bytes, '\0');
  if (o.progress) o.progress(pos, size);
  while (pos < size && (*c)->buf.find("\r\n\r\n") == std::string::npos) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(chunk.size(), size - pos));
    if (o.cut_after_bytes > 0) want = static_cast<size_t>(std::min<uint64_t>(want, o.cut_after_bytes - sent));
    ssize_t n = ::pread(fd.get(), chunk.data(), want, static_cast<off_t>(pos));
    if (n <= 0) return Status(Code::kUnavailable, "read " + file + " (did it shrink?)");
    TERN_RETURN_IF_ERROR(SendAll(**c, std::string_view(chunk.data(), static_cast<size_t>(n)), o.io_timeout_ms));
    pos += static_cast<uint64_t>(n);
    sent += static_cast<uint64_t>(n);
    if (o.progress) o.progress(pos, size);
    if (o.cut_after_bytes > 0 && sent >= o.cut_after_bytes && pos < size) {
      (*c)->t->Abort(true);
      return Status(Code::kUnavailable, "blob: upload cut (testing)");
    }
  }
  auto r = ReadHead(**c, o.io_timeout_ms);
  if (!r.ok()) return r.status();
  std::string body = ReadSmallBody(**c, *r, o.io_timeout_ms);
  if (r->status == 200 || r->status == 201) return sent;
  if (r->status == 308) return Status(Code::kUnavailable, "blob: upload incomplete");
  return StatusFor(r->status, body);
}

Result<uint64_t> DownloadFile(const std::string& url, const std::string& dest, uint64_t size,
                              const std::string& sha256, const BlobOptions& o) {
  auto u = ParseBlobUrl(url);
  if (!u.ok()) return u.status();
  const std::string part = dest + ".part";
  Fd fd(::open(part.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (fd.get() < 0) return Status(Code::kUnavailable, "cannot open " + part + ": " + std::strerror(errno));
  struct stat st {};
  ::fstat(fd.get(), &st);
  uint64_t have = static_cast<uint64_t>(st.st_size);
  if (size > 0 && have > size) {
    if (::ftruncate(fd.get(), 0) != 0) return Status(Code::kUnavailable, "truncate " + part);
    have = 0;
  }
  uint64_t received = 0;
  if (size == 0 || have < size) {
    auto c = Connect(*u, o);
    if (!c.ok()) return c.status();
    std::string extra = have > 0 ? "Range: bytes=" + std::to_string(have) + "-\r\n" : "";
    TERN_RETURN_IF_ERROR(SendAll(**c, RequestHead("GET", *u, {}, extra), o.io_timeout_ms));
    auto r = ReadHead(**c, o.io_timeout_ms);
    if (!r.ok()) return r.status();
    uint64_t pos = 0;
    if (r->status == 206) {
      std::string cr = r->Header("content-range");  // "bytes a-b/total"
      pos = std::strtoull(cr.c_str() + (cr.rfind("bytes ", 0) == 0 ? 6 : 0), nullptr, 10);
      if (pos != have) return Status(Code::kInternal, "blob: the store resumed at another offset: " + cr);
    } else if (r->status == 200) {
      pos = 0;  // the whole object: start over
      if (::ftruncate(fd.get(), 0) != 0) return Status(Code::kUnavailable, "truncate " + part);
    } else if (r->status != 416) {
      return StatusFor(r->status, ReadSmallBody(**c, *r, o.io_timeout_ms));
    }
    const uint64_t total = r->status == 416 ? have : pos + r->length;
    if (o.progress) o.progress(pos, total);
    uint64_t left = r->status == 416 ? 0 : r->length;
    while (left > 0) {
      if ((*c)->buf.empty()) TERN_RETURN_IF_ERROR(ReadMore(**c, o.io_timeout_ms));
      size_t n = static_cast<size_t>(std::min<uint64_t>(left, (*c)->buf.size()));
      if (o.cut_after_bytes > 0) n = static_cast<size_t>(std::min<uint64_t>(n, o.cut_after_bytes - received));
      if (::pwrite(fd.get(), (*c)->buf.data(), n, static_cast<off_t>(pos)) != static_cast<ssize_t>(n))
        return Status(Code::kUnavailable, "write " + part + ": " + std::strerror(errno));
      (*c)->buf.erase(0, n);
      pos += n;
      left -= n;
      received += n;
      if (o.progress) o.progress(pos, total);
      if (o.cut_after_bytes > 0 && received >= o.cut_after_bytes && left > 0) {
        (*c)->t->Abort(true);
        return Status(Code::kUnavailable, "blob: download cut (testing)");
      }
    }
    have = pos;
  }
  if (size > 0 && have != size) {
    ::unlink(part.c_str());
    return Status(Code::kCorrupt, "downloaded " + std::to_string(have) + " bytes, expected " + std::to_string(size));
  }
  if (!sha256.empty()) {
    auto got = Sha256File(part);
    if (!got.ok()) return got.status();
    if (*got != sha256) {
      ::unlink(part.c_str());
      return Status(Code::kCorrupt, "the downloaded file's SHA-256 does not match the message's");
    }
  }
  if (::fsync(fd.get()) != 0 || ::rename(part.c_str(), dest.c_str()) != 0)
    return Status(Code::kUnavailable, "cannot finish " + dest + ": " + std::strerror(errno));
  return received;
}

}  // namespace tern::tools
