// Frame-body compression (wire/compress.h): magicless zstd frames, per-thread contexts.
#define ZSTD_STATIC_LINKING_ONLY  // ZSTD_c_format / ZSTD_f_zstd1_magicless (zstd 1.5 experimental)
#include "wire/compress.h"

#include <zdict.h>
#include <zstd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>

#include "wire/compress_embedded.h"

namespace tern::wire {
namespace {

// Level 3: with the dictionary it costs ~1 us per small frame and ~0.16 ms per 256-item Deliver
// (tern_micro_bench --benchmark_filter=Compress/dict); level 19 took 13-52 us per small frame and
// 15 ms per 256 items, ~77% of ternd's CPU under load, for 3-9% fewer bytes.
constexpr int kLevel = 3;
// Bodies this small never shrink: the zstd frame header and block header alone take 4+ bytes.
constexpr size_t kMinCompressible = 16;

Status Bad(std::string what) { return Status(Code::kProtocol, std::move(what)); }

std::vector<DictInfo> BuildRegistry() {
  std::vector<DictInfo> all;
  for (const internal::EmbeddedDict& e : internal::EmbeddedDicts()) {
    DictInfo d;
    d.id = ZDICT_getDictID(e.data, e.size);
    d.name = e.name;
    d.bytes = std::span<const uint8_t>(e.data, e.size);
    if (d.id <= kDictPlainZstd) {
      // Invariant: a dictionary in wire/dict/ must carry its own id (trained with --dict-id).
      std::fprintf(stderr, "wire: dictionary %s has no usable id\n", e.name);
      std::abort();
    }
    all.push_back(std::move(d));
  }
  all.push_back(DictInfo{kDictPlainZstd, "zstd", {}});
  std::sort(all.begin(), all.end(), [](const DictInfo& a, const DictInfo& b) { return a.id > b.id; });
  return all;
}

[[noreturn]] void OutOfMemory() {
  std::fprintf(stderr, "wire: out of memory creating zstd state\n");
  std::abort();
}

// The per-thread zstd state: one compression and one decompression context, and each
// dictionary digested once per thread on first use.
struct ThreadZstd {
  ZSTD_CCtx* cctx = nullptr;
  ZSTD_DCtx* dctx = nullptr;
  std::map<uint32_t, ZSTD_CDict*> cdicts;
  std::map<uint32_t, ZSTD_DDict*> ddicts;

  ThreadZstd() {
    cctx = ZSTD_createCCtx();
    dctx = ZSTD_createDCtx();
    if (cctx == nullptr || dctx == nullptr) OutOfMemory();
  }
  ~ThreadZstd() {
    for (auto& [id, d] : cdicts) ZSTD_freeCDict(d);
    for (auto& [id, d] : ddicts) ZSTD_freeDDict(d);
    ZSTD_freeCCtx(cctx);
    ZSTD_freeDCtx(dctx);
  }
  ThreadZstd(const ThreadZstd&) = delete;
  ThreadZstd& operator=(const ThreadZstd&) = delete;

  ZSTD_CDict* CDict(const DictInfo& d) {
    auto it = cdicts.find(d.id);
    if (it != cdicts.end()) return it->second;
    // Parameters for ~1 KiB inputs: the match tables stay sized to dictionary + frame instead
    // of level 19's defaults for large inputs (tens of MiB per thread).
    ZSTD_compressionParameters cp = ZSTD_getCParams(kLevel, 1024, d.bytes.size());
    ZSTD_CDict* cd = ZSTD_createCDict_advanced(d.bytes.data(), d.bytes.size(), ZSTD_dlm_byRef,
                                               ZSTD_dct_auto, cp, ZSTD_defaultCMem);
    if (cd == nullptr) OutOfMemory();
    cdicts[d.id] = cd;
    return cd;
  }
  ZSTD_DDict* DDict(const DictInfo& d) {
    auto it = ddicts.find(d.id);
    if (it != ddicts.end()) return it->second;
    ZSTD_DDict* dd = ZSTD_createDDict_byReference(d.bytes.data(), d.bytes.size());
    if (dd == nullptr) OutOfMemory();
    ddicts[d.id] = dd;
    return dd;
  }
};

ThreadZstd& Zstd() {
  thread_local ThreadZstd z;
  return z;
}

}  // namespace

const std::vector<DictInfo>& KnownDicts() {
  static const std::vector<DictInfo> all = BuildRegistry();
  return all;
}

const DictInfo* FindDict(uint32_t id) {
  for (const DictInfo& d : KnownDicts())
    if (d.id == id) return &d;
  return nullptr;
}

std::vector<uint32_t> DefaultDictOffer() {
  std::vector<uint32_t> ids;
  for (const DictInfo& d : KnownDicts()) ids.push_back(d.id);
  return ids;
}

uint32_t ChooseDict(std::span<const uint32_t> offered, std::span<const uint32_t> allowed) {
  for (const DictInfo& d : KnownDicts()) {  // newest first
    if (std::find(offered.begin(), offered.end(), d.id) == offered.end()) continue;
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), d.id) == allowed.end())
      continue;
    return d.id;
  }
  return kDictNone;
}

std::optional<std::string> CompressBody(std::string_view body, uint32_t dict_id) {
  const DictInfo* d = FindDict(dict_id);
  if (d == nullptr || body.size() < kMinCompressible) return std::nullopt;
  ThreadZstd& z = Zstd();
  ZSTD_CCtx_reset(z.cctx, ZSTD_reset_session_and_parameters);
  ZSTD_CCtx_setParameter(z.cctx, ZSTD_c_format, ZSTD_f_zstd1_magicless);
  ZSTD_CCtx_setParameter(z.cctx, ZSTD_c_checksumFlag, 0);
  ZSTD_CCtx_setParameter(z.cctx, ZSTD_c_dictIDFlag, 0);
  ZSTD_CCtx_setParameter(z.cctx, ZSTD_c_contentSizeFlag, 1);
  if (d->bytes.empty()) {
    ZSTD_CCtx_setParameter(z.cctx, ZSTD_c_compressionLevel, kLevel);
  } else {
    ZSTD_CCtx_refCDict(z.cctx, z.CDict(*d));
  }
  // Only a strictly smaller result is useful: give zstd exactly that much room.
  std::string out(body.size() - 1, '\0');
  size_t n = ZSTD_compress2(z.cctx, out.data(), out.size(), body.data(), body.size());
  if (ZSTD_isError(n)) return std::nullopt;  // dstSize_tooSmall: not smaller
  out.resize(n);
  return out;
}

Result<std::string> DecompressBody(std::span<const uint8_t> compressed, uint32_t dict_id,
                                   size_t max_body) {
  const DictInfo* d = FindDict(dict_id);
  if (d == nullptr) return Bad("compressed frame with an unknown dictionary");
  ZSTD_frameHeader h;
  size_t r = ZSTD_getFrameHeader_advanced(&h, compressed.data(), compressed.size(),
                                          ZSTD_f_zstd1_magicless);
  if (ZSTD_isError(r)) return Bad("bad zstd frame header");
  if (r != 0) return Bad("truncated zstd frame header");
  if (h.frameType != ZSTD_frame) return Bad("zstd skippable frame");
  if (h.frameContentSize == ZSTD_CONTENTSIZE_UNKNOWN) return Bad("zstd frame without content size");
  const size_t limit = std::min(max_body, kMaxDecompressedBody);
  if (h.frameContentSize > limit) {
    return Bad("compressed frame declares " + std::to_string(h.frameContentSize) +
               " bytes, over the limit of " + std::to_string(limit));
  }
  if (h.dictID != 0 && h.dictID != dict_id) return Bad("zstd frame names another dictionary");
  ThreadZstd& z = Zstd();
  ZSTD_DCtx_reset(z.dctx, ZSTD_reset_session_and_parameters);
  ZSTD_DCtx_setParameter(z.dctx, ZSTD_d_format, ZSTD_f_zstd1_magicless);
  // The whole output buffer is provided up front: zstd needs no window buffer of its own.
  ZSTD_DCtx_setParameter(z.dctx, ZSTD_d_stableOutBuffer, 1);
  ZSTD_DCtx_setParameter(z.dctx, ZSTD_d_windowLogMax, 23);
  if (!d->bytes.empty()) ZSTD_DCtx_refDDict(z.dctx, z.DDict(*d));
  std::string out(static_cast<size_t>(h.frameContentSize), '\0');
  ZSTD_inBuffer in{compressed.data(), compressed.size(), 0};
  ZSTD_outBuffer o{out.data(), out.size(), 0};
  size_t ret = ZSTD_decompressStream(z.dctx, &o, &in);
  if (ZSTD_isError(ret)) return Bad(std::string("zstd: ") + ZSTD_getErrorName(ret));
  if (ret != 0) return Bad("truncated zstd frame");
  if (in.pos != in.size) return Bad("bytes after the zstd frame");
  if (o.pos != out.size()) return Bad("zstd frame shorter than its content size");
  return out;
}

}  // namespace tern::wire
