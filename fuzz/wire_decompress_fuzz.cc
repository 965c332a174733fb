// Fuzz target: zstd frame-body decompression with limits (wire/compress.h).
//
// Input: byte 0 picks the dictionary (plain zstd, tern-v1, tern-v2, an unknown id), byte 1 the limit
// (up to 64 KiB), the rest is a compressed body. Invariants:
//  * DecompressBody never returns more than min(limit, kMaxDecompressedBody) bytes, and fails
//    only with kProtocol;
//  * what it returns compresses (CompressBody) and decompresses back to the same bytes;
//  * the rest taken as a plain body round-trips through CompressBody/DecompressBody.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>

#include "wire/compress.h"

namespace {
void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}
std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  static const uint32_t kIds[] = {tern::wire::kDictPlainZstd, 1001, 1002, 4242};
  const uint32_t dict = kIds[data[0] % 4];
  const size_t limit = static_cast<size_t>(data[1]) * 256 + 1;
  const std::span<const uint8_t> body(data + 2, size - 2);
  auto out = tern::wire::DecompressBody(body, dict, limit);
  if (!out.ok()) {
    Check(out.status().code() == tern::Code::kProtocol, "error other than kProtocol");
  } else {
    Check(dict != 4242, "an unknown dictionary decompressed");
    Check(out->size() <= limit, "output over the limit");
    if (auto z = tern::wire::CompressBody(*out, dict)) {
      auto back = tern::wire::DecompressBody(Bytes(*z), dict, limit);
      Check(back.ok() && *back == *out, "recompressed output does not round-trip");
    }
  }
  const std::string plain(reinterpret_cast<const char*>(body.data()), body.size());
  if (auto z = tern::wire::CompressBody(plain, dict)) {
    Check(z->size() < plain.size(), "compressed is not smaller");
    auto back = tern::wire::DecompressBody(Bytes(*z), dict, plain.size());
    Check(back.ok() && *back == plain, "plain body does not round-trip");
  }
  return 0;
}
