// BlobClient: moves media bytes between a file and blob storage with presigned URLs (from the
// asset service's tickets, wire/PROTOCOL.md §5). HTTP/1.1 over the SDK's own transports (plain
// TCP, or TLS 1.3 with ALPN http/1.1 and the same pin/CA options as the chat connection).
//
// Upload (resumable): asks the store how many bytes of this object already landed ("PUT
// Content-Range: bytes */total", answered 308 + "Range: bytes=0-(n-1)", or 200 when complete),
// then PUTs the rest as "Content-Range: bytes n-(total-1)/total". A store that does not speak
// this (an external S3) answers the query otherwise, and the whole file is PUT at once. After
// a drop, call Upload again (with a fresh ticket if the URL expired): it continues from what
// landed. The store checks size and SHA-256 (x-amz-checksum-sha256) before the object becomes
// readable.
//
// Download (resumable): writes <dest>.part; when it exists, asks for "Range: bytes=n-" and
// appends (206), or starts over (200). When complete, the SHA-256 of the whole file is checked
// against the expected one and <dest>.part is renamed to <dest>; a mismatch deletes the part.
//
// Every wait is bounded by io_timeout_ms (no progress for that long = kTimeout). The clock is
// read only to turn timeouts into poll deadlines (as in tcp_transport.h).
// Thread safety: plain functions; one call per thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "tools/client/tls_transport.h"
#include "wire/status.h"

namespace tern::tools {

struct BlobUrl {
  bool https = false;
  std::string host;       // without brackets
  uint16_t port = 0;
  std::string authority;  // the Host header: host[:port] as in the URL
  std::string target;     // path?query
};
// Parses "http[s]://host[:port]/path?query". Errors: kInvalidArgument.
Result<BlobUrl> ParseBlobUrl(const std::string& url);

struct BlobOptions {
  TlsOptions tls;            // for https URLs (alpn/early_data are set by the client)
  int io_timeout_ms = 30000; // no progress for this long: kTimeout
  size_t chunk_bytes = 64 * 1024;
  // Called after every chunk: bytes done (including any resumed prefix) and the total.
  std::function<void(uint64_t done, uint64_t total)> progress;
  // Testing: abort the connection (as a network drop would) after this many body bytes of
  // this call have been sent or received (0 = never). The call then returns kUnavailable.
  uint64_t cut_after_bytes = 0;
};

using BlobHeaders = std::vector<std::pair<std::string, std::string>>;

// Uploads `file` (its whole content, `size` bytes) to the presigned PUT `url` with `headers`
// (the ticket's signed headers, sent verbatim). Returns the bytes sent by this call.
// Errors: kNotFound (file), kForbidden (403: signature/expiry — get a new ticket),
// kInvalidArgument (400 BadDigest: the file is not what the ticket declared), kUnavailable
// (connection lost: call again to resume), kTimeout, kInternal (other statuses).
Result<uint64_t> UploadFile(const std::string& url, const BlobHeaders& headers, const std::string& file, uint64_t size,
                            const BlobOptions& options);

// Downloads the presigned GET `url` into `dest` (via dest + ".part"), resuming a part left by
// an earlier attempt, then checks `size` and `sha256` (32 raw bytes; empty: not checked).
// Returns the bytes received by this call. Errors: kForbidden (403), kNotFound (404: not
// uploaded yet), kCorrupt (size or SHA-256 mismatch: the part is deleted), kUnavailable,
// kTimeout, kInternal.
Result<uint64_t> DownloadFile(const std::string& url, const std::string& dest, uint64_t size,
                              const std::string& sha256, const BlobOptions& options);

// SHA-256 of a file's content (32 raw bytes). Errors: kNotFound, kUnavailable.
Result<std::string> Sha256File(const std::string& path);

}  // namespace tern::tools
