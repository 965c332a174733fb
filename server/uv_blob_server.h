// UvBlobServer: the built-in blob store's HTTP/1.1 endpoint (TLS unless plain), run by ternd on
// its own port, its own libuv loop and its own thread.
//
// Why a thread of its own and not the chat loop: blob traffic is bulk disk IO (writes of
// megabytes, an fsync per completed object, reads to serve downloads) while the chat loop's
// promise is latency (a *sent* ack right after its group commit). On a shared loop one large
// upload's fsync or a burst of page-cache misses would stall every chat connection. The two
// share nothing mutable: the blob side has its own FileStore view of <data>/blobs and only
// immutable settings and credentials; the chat side deletes expired objects through
// FileStore::Delete, which is safe from any thread.
//
// Per connection: a Transport (TLS over memory BIOs, or plain) and a blob::BlobConn (the HTTP
// logic). Output is pulled from BlobConn while less than 256 KiB is queued in libuv, so a
// download never buffers more than that per connection however large the object. Timeouts
// (header_timeout_ms, idle_timeout_ms) are checked every 250 ms. Connections beyond
// max_connections are closed at accept.
//
// Thread safety: Start and Stop from the owning (main) thread; everything else runs on the
// blob thread.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "server/blob/blob_conn.h"
#include "server/blob/file_store.h"
#include "server/tls_context.h"

namespace tern::server {

class UvBlobServer {
 public:
  // `store` and `tls` (null: plain HTTP) must outlive the server.
  UvBlobServer(const blob::BlobOptions& options, blob::FileStore& store, const TlsServerContext* tls,
               std::string listen, uint32_t max_connections);
  ~UvBlobServer();  // stops and joins if still running

  // Binds `listen` and starts the thread. Errors: kInvalidArgument (address), kUnavailable.
  Status Start();
  std::string bound_address() const { return bound_; }
  // Closes every connection and the listener, then joins the thread. Idempotent.
  void Stop();

 private:
  struct Conn;
  void OnConnection(int status);
  void OnRead(Conn* c, ssize_t nread, const uv_buf_t* buf);
  void Pump(Conn* c);
  void Write(Conn* c, std::string bytes);
  void CloseConn(Conn* c);
  void OnTimer();
  void Shutdown();

  blob::BlobOptions options_;
  blob::FileStore& store_;
  const TlsServerContext* tls_;
  std::string listen_;
  uint32_t max_connections_;
  std::string bound_;
  uv_loop_t loop_;
  uv_tcp_t listener_;
  uv_timer_t timer_;
  uv_async_t stop_;
  std::thread thread_;
  bool running_ = false;
  std::unordered_set<Conn*> conns_;
  std::unordered_map<std::string, blob::BlobConn*> busy_;  // key -> connection uploading it
  std::string scratch_;
  char read_buf_[64 * 1024];
};

}  // namespace tern::server
