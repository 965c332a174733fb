// Micro-benchmarks of per-frame compression (wire/compress.h), the cost every compressed frame
// pays on both sides:
//   BM_Compress/<dict>/N     CompressBody of an encoded Deliver of N items (1, 16, 256;
//                            100-byte texts) and of a SendAck (N = 0)
//   BM_Decompress/<dict>/N   DecompressBody of the same
// <dict> is "plain" (zstd without a dictionary, id 1) or "dict" (the newest trained dictionary,
// KnownDicts().front()). Bytes/s counts uncompressed body bytes; the "ratio" counter is
// compressed/uncompressed (1.0 when CompressBody declined: not smaller).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "wire/compress.h"
#include "wire/messages.h"

namespace tern::wire {
namespace {

std::string Body(int64_t items) {
  if (items == 0) return EncodeMessage(SendAck{42, Code::kOk, (uint64_t{1} << 48) + 77, 9, 1700000000000});
  Deliver d;
  for (int64_t i = 0; i < items; ++i) {
    InboxItem it;
    it.seq = 1000 + static_cast<uint64_t>(i);
    it.msg_id = (uint64_t{1} << 48) + 5000 + static_cast<uint64_t>(i);
    it.sender_user = 123456;
    it.sender_device = 1;
    it.to_user = 654321;
    it.chat_seq = 77 + static_cast<uint64_t>(i);
    it.server_ts_ms = 1700000000000 + static_cast<uint64_t>(i);
    it.text = "see you at the station at " + std::to_string(7 + i % 5) + " pm, bring the tickets #" +
              std::to_string(i);
    while (it.text.size() < 100) it.text += " ok";
    d.items.push_back(std::move(it));
  }
  return EncodeMessage(d);
}

uint32_t DictId(bool trained) { return trained ? KnownDicts().front().id : kDictPlainZstd; }

void BM_Compress(benchmark::State& state, bool trained) {
  const std::string body = Body(state.range(0));
  const uint32_t id = DictId(trained);
  size_t out = body.size();
  for (auto _ : state) {
    std::optional<std::string> c = CompressBody(body, id);
    out = c ? c->size() : body.size();
    benchmark::DoNotOptimize(c);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(body.size()));
  state.counters["ratio"] = static_cast<double>(out) / static_cast<double>(body.size());
  state.counters["body_bytes"] = static_cast<double>(body.size());
}

void BM_Decompress(benchmark::State& state, bool trained) {
  const std::string body = Body(state.range(0));
  const uint32_t id = DictId(trained);
  std::optional<std::string> c = CompressBody(body, id);
  if (!c) {
    state.SkipWithError("body does not compress");
    return;
  }
  std::span<const uint8_t> in(reinterpret_cast<const uint8_t*>(c->data()), c->size());
  for (auto _ : state) {
    Result<std::string> d = DecompressBody(in, id, 16 << 20);
    if (!d.ok()) {
      state.SkipWithError("decompress failed");
      return;
    }
    benchmark::DoNotOptimize(d);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(body.size()));
}

BENCHMARK_CAPTURE(BM_Compress, plain, false)->ArgName("items")->Arg(0)->Arg(1)->Arg(16)->Arg(256);
BENCHMARK_CAPTURE(BM_Compress, dict, true)->ArgName("items")->Arg(0)->Arg(1)->Arg(16)->Arg(256);
BENCHMARK_CAPTURE(BM_Decompress, plain, false)->ArgName("items")->Arg(1)->Arg(16)->Arg(256);
BENCHMARK_CAPTURE(BM_Decompress, dict, true)->ArgName("items")->Arg(1)->Arg(16)->Arg(256);

}  // namespace
}  // namespace tern::wire
