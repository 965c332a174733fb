// BlobConn: one HTTP/1.1 connection of the built-in blob store, without the socket. Plaintext
// in (Feed), plaintext out (TakeOutput), timeouts judged against a `now` passed in. It parses
// with Debian's http-parser, authorises every request by its SigV4 presigned URL
// (server/blob/sigv4.h), and reads and writes objects through FileStore on the calling thread
// (the blob loop's own thread, so disk IO never stalls the chat loop).
//
// Requests (path-style: /<bucket>/<key>):
//   GET    presigned GET: the object (200), or one byte range (206; "Range: bytes=a-b",
//          "a-", "-n"; 416 when unsatisfiable). Streamed from disk as the socket drains.
//   HEAD   presigned HEAD: as GET without the body.
//   PUT    presigned PUT (a new PUT of a key takes the upload over from any connection still
//          writing it, which is closed: on a phone network the old one is usually dead but
//          not yet noticed): a whole object (Content-Length), or a resumable upload
//          ("Content-Range: bytes a-b/total" appends at a, which must be where the upload
//          ends; "Content-Range: bytes */total" with an empty body asks how far it got:
//          308 with "Range: bytes=0-(n-1)", or 200 once complete). An x-amz-checksum-sha256
//          header (base64) is checked before the object becomes readable (400 BadDigest).
//          Protocol: wire/PROTOCOL.md §5.
//   DELETE presigned DELETE: removes the object (204).
// Refusals: 400 (bad request line, path tricks: "..", ".", "//", encoded '/' or '\', control
// bytes; Content-Length disagreeing with Content-Range), 403 (signature, expiry, method, key),
// 404, 405, 408 (headers not complete within header_timeout_ms), 409 (an upload of that key
// resume at the wrong offset), 411 (PUT without
// Content-Length), 413 (over max_object_bytes), 431 (headers over max_header_bytes). A
// refused request that carries a body closes the connection (the body is not read).
//
// Thread safety: one connection, the blob loop thread.
#pragma once

#include <http_parser.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>

#include "server/blob/file_store.h"
#include "server/blob/sigv4.h"

namespace tern::server::blob {

struct BlobOptions {
  Credentials credentials;              // the store's one key pair
  std::string bucket = "tern";          // the only bucket
  uint64_t max_object_bytes = 64ull << 20;
  uint32_t max_header_bytes = 8192;     // request line + headers
  uint32_t header_timeout_ms = 10000;   // a request's headers must be complete by then
  uint32_t idle_timeout_ms = 30000;     // no byte moved either way for this long: close
};

class BlobConn {
 public:
  // `store` and `busy` (keys with an upload in progress -> the connection doing it, shared by
  // the loop's connections) must outlive the connection.
  BlobConn(const BlobOptions& options, FileStore& store, std::unordered_map<std::string, BlobConn*>& busy, uint64_t now_ms);
  ~BlobConn();
  BlobConn(const BlobConn&) = delete;
  BlobConn& operator=(const BlobConn&) = delete;

  // Plaintext from the socket. Input beyond what the current request needs is kept (bounded)
  // until its response has been sent (pipelining).
  void Feed(std::span<const uint8_t> in, uint64_t now_ms);
  // Up to about `max` bytes to send next (response heads, then body bytes read from disk).
  std::string TakeOutput(size_t max);
  bool has_output() const;
  // Some bytes were written to the socket (progress for the idle timeout).
  void OnWritten(uint64_t now_ms) { last_io_ms_ = now_ms; }
  // Checks the header and idle deadlines; on expiry queues a 408 where a request is half read
  // and marks the connection for closing. Returns true when it expired.
  bool CheckTimeouts(uint64_t now_ms);
  // The connection should be closed once has_output() is false.
  bool close_after_output() const { return close_; }
  uint64_t requests() const { return requests_; }
  // Another connection took over this connection's upload (a client resuming after a drop
  // this side has not noticed yet): stop writing it and close.
  void Preempt();

 private:
  static int OnUrl(http_parser* p, const char* at, size_t n);
  static int OnHeaderField(http_parser* p, const char* at, size_t n);
  static int OnHeaderValue(http_parser* p, const char* at, size_t n);
  static int OnHeadersComplete(http_parser* p);
  static int OnBody(http_parser* p, const char* at, size_t n);
  static int OnMessageComplete(http_parser* p);
  static int OnMessageBegin(http_parser* p);
  static const http_parser_settings& Settings();

  void Pump();
  bool CountHeaderBytes(size_t n);
  const std::string* Header(std::string_view lower_name) const;
  // Decides the request once its headers are in. Returns false to stop parsing.
  bool Route();
  bool StartPut(const std::string& name);
  void StartGet(const std::string& name, bool head);
  void FinishPut();
  // Queues a response; `close` ends the connection after it.
  void Respond(int status, const std::string& extra_headers, const std::string& body, bool close);
  void Error(int status, const char* code, const std::string& message, bool close,
             const std::string& extra_headers = "");
  void ReleaseUpload();

  const BlobOptions& options_;
  FileStore& store_;
  std::unordered_map<std::string, BlobConn*>& busy_;
  http_parser parser_;
  std::string pending_;    // input not yet parsed
  std::string out_;        // queued response bytes
  // Request being read.
  std::string url_;
  Headers headers_;
  bool in_value_ = false;
  size_t header_bytes_ = 0;
  bool header_overflow_ = false;
  bool in_headers_ = false;  // a request has begun and its headers are not complete
  uint64_t request_start_ms_ = 0;
  bool responded_ = false;   // a response to the current request is queued
  // PUT in progress.
  std::unique_ptr<Upload> upload_;
  std::string upload_name_;
  std::optional<std::string> expected_sha256_;
  // GET body being streamed.
  std::unique_ptr<ObjectReader> reader_;
  uint64_t send_pos_ = 0, send_end_ = 0;
  bool close_ = false;
  uint64_t last_io_ms_;
  uint64_t now_ms_;
  uint64_t requests_ = 0;
};

}  // namespace tern::server::blob
