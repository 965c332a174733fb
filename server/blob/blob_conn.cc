#include "server/blob/blob_conn.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>

namespace tern::server::blob {
namespace {

constexpr size_t kMaxPending = 64 * 1024;  // pipelined input kept while a response streams

const char* Reason(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 308: return "Resume Incomplete";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 416: return "Range Not Satisfiable";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 507: return "Insufficient Storage";
  }
  return "Error";
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& ch : out)
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  return out;
}

bool ParseU64(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 19) return false;
  uint64_t v = 0;
  for (char ch : s) {
    if (ch < '0' || ch > '9') return false;
    v = v * 10 + static_cast<uint64_t>(ch - '0');
  }
  *out = v;
  return true;
}

// 32 raw bytes from standard base64 (44 characters with one '='), or nullopt.
std::optional<std::string> DecodeSha256B64(std::string_view s) {
  if (s.size() != 44 || s[43] != '=' || s[42] == '=') return std::nullopt;
  unsigned char out[34];
  int n = EVP_DecodeBlock(out, reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
  if (n != 33) return std::nullopt;
  return std::string(reinterpret_cast<char*>(out), 32);
}

// Refuses path tricks on the raw request path before anything else looks at it.
const char* PathTrick(std::string_view raw, const std::string& decoded) {
  std::string l = Lower(raw);
  if (l.find("%2f") != std::string::npos || l.find("%5c") != std::string::npos) return "encoded path separator";
  for (unsigned char ch : decoded)
    if (ch < 0x20 || ch == 0x7f || ch == '\\') return "control byte or backslash in path";
  size_t pos = 1;
  while (pos <= decoded.size()) {
    size_t slash = decoded.find('/', pos);
    if (slash == std::string::npos) slash = decoded.size();
    std::string_view seg(decoded.data() + pos, slash - pos);
    if (seg.empty() || seg == "." || seg == "..") return "empty, '.' or '..' path segment";
    pos = slash + 1;
  }
  return nullptr;
}

}  // namespace

const http_parser_settings& BlobConn::Settings() {
  static const http_parser_settings s = [] {
    http_parser_settings x;
    http_parser_settings_init(&x);
    x.on_message_begin = OnMessageBegin;
    x.on_url = OnUrl;
    x.on_header_field = OnHeaderField;
    x.on_header_value = OnHeaderValue;
    x.on_headers_complete = OnHeadersComplete;
    x.on_body = OnBody;
    x.on_message_complete = OnMessageComplete;
    return x;
  }();
  return s;
}

BlobConn::BlobConn(const BlobOptions& options, FileStore& store, std::unordered_map<std::string, BlobConn*>& busy,
                   uint64_t now_ms)
    : options_(options), store_(store), busy_(busy), last_io_ms_(now_ms), now_ms_(now_ms) {
  http_parser_init(&parser_, HTTP_REQUEST);
  parser_.data = this;
}

BlobConn::~BlobConn() { ReleaseUpload(); }

void BlobConn::Preempt() {
  ReleaseUpload();
  close_ = true;
  pending_.clear();
}

void BlobConn::ReleaseUpload() {
  if (upload_) busy_.erase(upload_name_);
  upload_.reset();  // bytes that landed stay in the part file: the client may resume
}

void BlobConn::Feed(std::span<const uint8_t> in, uint64_t now_ms) {
  now_ms_ = now_ms;
  last_io_ms_ = now_ms;
  if (close_) return;  // a refused request's body, or bytes after a fatal error: not read
  if (pending_.size() + in.size() > kMaxPending && (reader_ || !out_.empty())) {
    close_ = true;  // a client that pipelines more than this while a response streams
    return;
  }
  pending_.append(reinterpret_cast<const char*>(in.data()), in.size());
  Pump();
}

void BlobConn::Pump() {
  while (!pending_.empty() && !close_ && !reader_ && out_.size() < kMaxPending) {
    size_t n = http_parser_execute(&parser_, &Settings(), pending_.data(), pending_.size());
    http_errno err = HTTP_PARSER_ERRNO(&parser_);
    pending_.erase(0, n);
    if (err == HPE_PAUSED) {
      http_parser_pause(&parser_, 0);  // paused at the end of a request: take the next one
      continue;
    }
    if (err != HPE_OK) {
      if (close_) break;  // a callback already answered (and chose to close)
      if (header_overflow_ || err == HPE_HEADER_OVERFLOW)
        Error(431, "RequestHeaderSectionTooLarge", "request headers over the limit", true);
      else
        Error(400, "BadRequest", std::string("malformed HTTP: ") + http_errno_name(err), true);
      break;
    }
    if (n == 0) break;
  }
}

int BlobConn::OnMessageBegin(http_parser* p) {
  auto* c = static_cast<BlobConn*>(p->data);
  c->url_.clear();
  c->headers_.clear();
  c->in_value_ = false;
  c->header_bytes_ = 0;
  c->in_headers_ = true;
  c->responded_ = false;
  c->request_start_ms_ = c->now_ms_;
  return 0;
}

bool BlobConn::CountHeaderBytes(size_t n) {
  header_bytes_ += n;
  if (header_bytes_ > options_.max_header_bytes) header_overflow_ = true;
  return !header_overflow_;
}

int BlobConn::OnUrl(http_parser* p, const char* at, size_t n) {
  auto* c = static_cast<BlobConn*>(p->data);
  if (!c->CountHeaderBytes(n + (c->url_.empty() ? 16 : 0))) return 1;
  c->url_.append(at, n);
  return 0;
}

int BlobConn::OnHeaderField(http_parser* p, const char* at, size_t n) {
  auto* c = static_cast<BlobConn*>(p->data);
  if (!c->CountHeaderBytes(n + (c->in_value_ || c->headers_.empty() ? 4 : 0))) return 1;
  if (c->in_value_ || c->headers_.empty()) c->headers_.emplace_back();
  c->in_value_ = false;
  c->headers_.back().first.append(at, n);
  return 0;
}

int BlobConn::OnHeaderValue(http_parser* p, const char* at, size_t n) {
  auto* c = static_cast<BlobConn*>(p->data);
  if (!c->CountHeaderBytes(n)) return 1;
  if (c->headers_.empty()) return 1;
  c->in_value_ = true;
  c->headers_.back().second.append(at, n);
  return 0;
}

int BlobConn::OnHeadersComplete(http_parser* p) {
  auto* c = static_cast<BlobConn*>(p->data);
  c->in_headers_ = false;
  ++c->requests_;
  return c->Route() ? 0 : -1;  // http-parser: any other value than 0/1 is an error; we answered
}

int BlobConn::OnBody(http_parser* p, const char* at, size_t n) {
  auto* c = static_cast<BlobConn*>(p->data);
  if (!c->upload_) return 0;  // e.g. a body on GET: ignored
  Status st = c->upload_->Append(std::string_view(at, n));
  if (!st.ok()) {
    c->ReleaseUpload();
    if (st.code() == Code::kNoSpace) c->Error(507, "InsufficientStorage", st.message(), true);
    else c->Error(500, "InternalError", st.message(), true);
    return 1;
  }
  return 0;
}

int BlobConn::OnMessageComplete(http_parser* p) {
  auto* c = static_cast<BlobConn*>(p->data);
  if (c->upload_) c->FinishPut();
  if (!c->responded_) c->Error(500, "InternalError", "no response", true);
  if (!http_should_keep_alive(p)) c->close_ = true;
  http_parser_pause(p, 1);
  return 0;
}

const std::string* BlobConn::Header(std::string_view lower_name) const {
  for (const auto& [n, v] : headers_)
    if (n.size() == lower_name.size() && Lower(n) == lower_name) return &v;
  return nullptr;
}

void BlobConn::Respond(int status, const std::string& extra_headers, const std::string& body, bool close) {
  responded_ = true;
  std::string h = "HTTP/1.1 " + std::to_string(status) + " " + Reason(status) + "\r\n";
  h += "Server: ternd\r\n";
  h += extra_headers;
  if (extra_headers.find("Content-Length:") == std::string::npos)
    h += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  if (close) h += "Connection: close\r\n";
  h += "\r\n";
  out_ += h;
  out_ += body;
  if (close) close_ = true;
}

void BlobConn::Error(int status, const char* code, const std::string& message, bool close,
                     const std::string& extra_headers) {
  std::string body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>" + std::string(code) +
                     "</Code><Message>" + message + "</Message></Error>\n";
  Respond(status, "Content-Type: application/xml\r\n" + extra_headers, body, close);
}

bool BlobConn::Route() {
  // A body we are not going to read forces a close after the answer.
  const bool has_body = (parser_.flags & F_CHUNKED) != 0 ||
                        (parser_.content_length > 0 && parser_.content_length != ULLONG_MAX);
  if (header_overflow_) {
    Error(431, "RequestHeaderSectionTooLarge", "request headers over the limit", true);
    return false;
  }
  const std::string method = http_method_str(static_cast<http_method>(parser_.method));
  if (url_.empty() || url_[0] != '/') {
    Error(400, "InvalidURI", "origin-form request target required", true);
    return false;
  }
  const size_t q = url_.find('?');
  const std::string raw_path = url_.substr(0, q);
  const std::string raw_query = q == std::string::npos ? "" : url_.substr(q + 1);
  auto decoded = UriDecode(raw_path);
  const char* trick = decoded.ok() ? PathTrick(raw_path, *decoded) : "bad percent escape";
  if (trick != nullptr) {
    Error(400, "InvalidURI", trick, has_body);
    return !has_body;
  }
  const std::string prefix = "/" + options_.bucket + "/";
  if (decoded->compare(0, prefix.size(), prefix) != 0 || decoded->size() == prefix.size()) {
    Error(404, "NoSuchBucket", "path-style /" + options_.bucket + "/<key> expected", has_body);
    return !has_body;
  }
  if (Header("host") == nullptr) {
    Error(400, "BadRequest", "Host header required", has_body);
    return !has_body;
  }
  RequestView view{method, raw_path, raw_query, &headers_};
  auto verified = VerifyPresigned(options_.credentials, view, static_cast<int64_t>(now_ms_ / 1000));
  if (!verified.ok()) {
    Error(403, "AccessDenied", verified.status().message(), has_body);
    return !has_body;
  }
  const std::string name = decoded->substr(1);  // "bucket/key"
  if (method == "GET" || method == "HEAD") {
    StartGet(name, method == "HEAD");
    return true;
  }
  if (method == "PUT") return StartPut(name);
  if (method == "DELETE") {
    Status st = store_.Delete(name);
    if (st.ok()) Respond(204, "", "", has_body);
    else Error(500, "InternalError", st.message(), has_body);
    return !has_body;
  }
  Error(405, "MethodNotAllowed", method + " is not supported", has_body);
  return !has_body;
}

void BlobConn::StartGet(const std::string& name, bool head) {
  auto r = store_.OpenRead(name);
  if (!r.ok()) {
    if (r.status().code() == Code::kNotFound) Error(404, "NoSuchKey", "no such object (or not yet complete)", false);
    else Error(500, "InternalError", r.status().message(), false);
    return;
  }
  const uint64_t size = (*r)->size();
  uint64_t first = 0, last = size == 0 ? 0 : size - 1;
  bool partial = false;
  if (const std::string* range = Header("range"); range != nullptr && range->rfind("bytes=", 0) == 0 &&
                                                   range->find(',') == std::string::npos) {
    std::string spec = range->substr(6);
    size_t dash = spec.find('-');
    uint64_t a = 0, b = 0;
    bool ok = dash != std::string::npos;
    if (ok && dash == 0) {  // suffix: the last n bytes
      ok = ParseU64(spec.substr(1), &b) && b > 0;
      if (ok) first = size > b ? size - b : 0;
    } else if (ok) {
      ok = ParseU64(spec.substr(0, dash), &a);
      if (ok && dash + 1 < spec.size()) ok = ParseU64(spec.substr(dash + 1), &b) && b >= a;
      else b = last;
      if (ok) {
        first = a;
        last = std::min(b, last);
      }
    }
    if (ok && (first >= size)) {
      Error(416, "InvalidRange", "range starts beyond the object", false,
            "Content-Range: bytes */" + std::to_string(size) + "\r\n");
      return;
    }
    partial = ok;  // an unparseable Range is ignored (RFC 9110): the whole object
  }
  const uint64_t len = size == 0 ? 0 : last - first + 1;
  std::string h = "Content-Type: application/octet-stream\r\nAccept-Ranges: bytes\r\n";
  h += "Content-Length: " + std::to_string(len) + "\r\n";
  if (partial)
    h += "Content-Range: bytes " + std::to_string(first) + "-" + std::to_string(last) + "/" + std::to_string(size) +
         "\r\n";
  Respond(partial ? 206 : 200, h, "", false);
  if (!head && len > 0) {
    reader_ = std::move(r).value();
    send_pos_ = first;
    send_end_ = first + len;
  }
}

bool BlobConn::StartPut(const std::string& name) {
  if ((parser_.flags & F_CHUNKED) != 0 || parser_.content_length == ULLONG_MAX) {
    Error(411, "MissingContentLength", "PUT needs a Content-Length", true);
    return false;
  }
  const uint64_t length = parser_.content_length;
  expected_sha256_.reset();
  if (const std::string* sum = Header("x-amz-checksum-sha256")) {
    expected_sha256_ = DecodeSha256B64(*sum);
    if (!expected_sha256_) {
      Error(400, "InvalidDigest", "x-amz-checksum-sha256 is not a base64 SHA-256", length > 0);
      return length == 0;
    }
  }
  uint64_t offset = 0, total = length;
  bool query = false;
  if (const std::string* cr = Header("content-range")) {
    // "bytes a-b/total" or "bytes */total"
    bool ok = cr->rfind("bytes ", 0) == 0;
    size_t slash = cr->find('/');
    ok = ok && slash != std::string::npos && ParseU64(cr->substr(slash + 1), &total);
    std::string span = ok ? cr->substr(6, slash - 6) : "";
    if (ok && span == "*") {
      query = true;
      ok = length == 0;
    } else if (ok) {
      size_t dash = span.find('-');
      uint64_t last = 0;
      ok = dash != std::string::npos && ParseU64(span.substr(0, dash), &offset) &&
           ParseU64(span.substr(dash + 1), &last) && last >= offset && last < total && last - offset + 1 == length;
    }
    if (!ok) {
      Error(400, "InvalidRequest", "bad Content-Range (or Content-Length disagrees with it)", length > 0);
      return length == 0;
    }
  }
  if (total > options_.max_object_bytes) {
    Error(413, "EntityTooLarge", "object over max_object_bytes (" + std::to_string(options_.max_object_bytes) + ")",
          length > 0);
    return length == 0;
  }
  if (auto it = busy_.find(name); it != busy_.end() && it->second != this) it->second->Preempt();
  auto range_header = [](uint64_t landed) {
    return landed == 0 ? std::string() : "Range: bytes=0-" + std::to_string(landed - 1) + "\r\n";
  };
  if (query) {
    if (store_.Exists(name)) Respond(200, "", "", false);
    else Respond(308, range_header(store_.Landed(name, total)), "", false);
    return true;
  }
  auto up = store_.BeginUpload(name, total, offset);
  if (!up.ok()) {
    if (up.status().code() == Code::kInvalidArgument) {
      Respond(409, range_header(store_.Landed(name, total)), "", length > 0);
    } else {
      Error(500, "InternalError", up.status().message(), length > 0);
    }
    return length == 0;
  }
  upload_ = std::move(up).value();
  upload_name_ = name;
  busy_[name] = this;
  if (const std::string* expect = Header("expect"); expect != nullptr && Lower(*expect) == "100-continue")
    out_ += "HTTP/1.1 100 Continue\r\n\r\n";
  return true;
}

void BlobConn::FinishPut() {
  if (upload_->landed() < upload_->total()) {
    Respond(308, "Range: bytes=0-" + std::to_string(upload_->landed() - 1) + "\r\n", "", false);
    ReleaseUpload();
    return;
  }
  auto done = upload_->Finish(expected_sha256_);
  ReleaseUpload();
  if (done.ok()) Respond(200, "ETag: \"" + *done + "\"\r\n", "", false);
  else if (done.status().code() == Code::kForbidden) Error(400, "BadDigest", done.status().message(), false);
  else Error(500, "InternalError", done.status().message(), true);
}

bool BlobConn::has_output() const { return !out_.empty() || reader_ != nullptr; }

std::string BlobConn::TakeOutput(size_t max) {
  std::string out;
  out.swap(out_);
  if (reader_ && out.size() < max) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(max - out.size(), send_end_ - send_pos_));
    auto chunk = reader_->Read(send_pos_, n);
    if (!chunk.ok() || chunk->empty()) {
      // The file shrank or failed under us: the promised length cannot be met; close.
      reader_.reset();
      close_ = true;
      return out;
    }
    send_pos_ += chunk->size();
    out += *chunk;
    if (send_pos_ >= send_end_) reader_.reset();
  }
  if (!reader_ && !close_ && !pending_.empty()) Pump();  // the next pipelined request
  return out;
}

bool BlobConn::CheckTimeouts(uint64_t now_ms) {
  now_ms_ = now_ms;
  if (close_) return false;
  if (in_headers_ && now_ms >= request_start_ms_ + options_.header_timeout_ms) {
    Error(408, "RequestTimeout", "request headers not complete in time", true);
    return true;
  }
  if (now_ms >= last_io_ms_ + options_.idle_timeout_ms) {
    if (upload_) Error(408, "RequestTimeout", "no body bytes for too long", true);
    close_ = true;
    return true;
  }
  return false;
}

}  // namespace tern::server::blob
