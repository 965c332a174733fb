// Helpers for the blob store's integration tests: the store's credentials, presigned request
// targets, and a raw TCP connection for hand-written (and hostile) HTTP.
//
// Thread safety: one test thread.
#pragma once

#include <cstdint>
#include <string>

#include "server/blob/sigv4.h"
#include "tests/integration/server_util.h"
#include "wire/status.h"

namespace tern::testing {

// The store's key pair from <data>/blobs/credentials. Errors: kNotFound.
Result<server::blob::Credentials> BlobCredentials(const TestServer& server);

// "/tern/<key>?X-Amz-...": the request target of a URL presigned now (or at `now_s`).
std::string BlobTarget(const TestServer& server, const std::string& method, const std::string& key,
                       const server::blob::Headers& extra = {}, int64_t now_s = 0, uint32_t expires_s = 300);
// The full URL ("http(s)://127.0.0.1:PORT/tern/<key>?...").
std::string BlobUrl(const TestServer& server, const std::string& method, const std::string& key,
                    const server::blob::Headers& extra = {}, int64_t now_s = 0, uint32_t expires_s = 300);

struct HttpReply {
  int status = 0;  // 0: no response (connection closed or timed out first)
  std::string head, body;
  std::string Header(const std::string& name) const;
};

// A blocking TCP connection to 127.0.0.1:port.
class RawHttp {
 public:
  static Result<std::unique_ptr<RawHttp>> Connect(uint16_t port);
  ~RawHttp();
  Status Send(const std::string& bytes);
  // Reads one response (Content-Length framed) within timeout_ms.
  HttpReply Read(int timeout_ms = 5000);
  // True when the peer closes (EOF or reset) within timeout_ms; bytes read meanwhile are kept.
  bool ClosedWithin(int timeout_ms);

 private:
  explicit RawHttp(int fd) : fd_(fd) {}
  int fd_;
  std::string buf_;
};

// One request on a fresh connection: sends `bytes`, returns the first response.
HttpReply OneShot(uint16_t port, const std::string& bytes, int timeout_ms = 5000);

}  // namespace tern::testing
