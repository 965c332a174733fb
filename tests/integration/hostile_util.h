// Helpers for the hostile-input and authorization tests: raw connections that write exactly
// the bytes a test chooses, and a well-behaved pair of clients that keeps chatting through it.
//
// Every wait is bounded. Thread safety: one test thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "tests/integration/client_util.h"
#include "tests/integration/server_util.h"
#include "tools/client/tcp_transport.h"
#include "wire/messages.h"

namespace tern::testing {

// A TCP connection from `source_ip` (any 127.x address: per-address limits see it as another
// peer; empty = the kernel's choice) with raw reads and writes.
class RawConn {
 public:
  static Result<std::unique_ptr<RawConn>> Open(uint16_t port, const std::string& source_ip = "",
                                               int rcvbuf = 0);
  ~RawConn();
  Status Write(std::string_view bytes);
  // Sends `resume` and reads until the server's Welcome. Errors: the server's Error, kTimeout.
  Status Authenticate(const wire::Resume& resume, int timeout_ms);
  // Reads until the peer closes (ok, the bytes so far in *got) or timeout_ms (kTimeout).
  Status ReadUntilClosed(int timeout_ms, std::string* got);
  // The Error code in what the server sent (frames decoded as a client), nullopt if none.
  static std::optional<Code> ErrorIn(const std::string& bytes);
  int fd() const { return fd_; }

 private:
  explicit RawConn(int fd) : fd_(fd) {}
  int fd_;
};

// One frame holding `m` (uncompressed).
std::string FrameOf(const wire::Message& m);
// A Resume built from a client's stored state (with fields a test may then change).
wire::Resume ResumeOf(const Client& c);

// Two registered clients on `server` that keep chatting.
class Chatters {
 public:
  static Result<std::unique_ptr<Chatters>> Create(const TestServer& server, const std::string& prefix);
  // Alice sends n messages to Bob and Bob one back; every ack ok, every item arrives once, in
  // order, and neither client saw an error. Errors: what went wrong.
  Status Exchange(int n = 5);
  Client& alice() { return *a_; }
  Client& bob() { return *b_; }

 private:
  std::unique_ptr<Client> a_, b_;
  int round_ = 0;
};

// VmRSS of a process, bytes (0 if unreadable).
uint64_t RssOf(pid_t pid);

// Whether RSS bounds mean anything in this build: under AddressSanitizer (which also builds the
// ternd under test) freed memory sits in the quarantine, so RSS only grows.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kRssBoundsApply = false;
#else
inline constexpr bool kRssBoundsApply = true;
#endif

}  // namespace tern::testing
