// Micro-benchmarks of the wire codec: a whole frame (varint + flags + FlatBuffers body) for the
// two messages on the hot path.
//   BM_EncodeDeliver/N, BM_DecodeDeliver/N   a Deliver of N items (1, 16, 256; 100-byte texts)
//   BM_EncodeSend/B,    BM_DecodeSend/B      a Send with a B-byte text (16, 256, 4096)
// Encode = EncodeMessage + EncodeFrame; decode = FrameDecoder (Feed + Next) + DecodeMessage,
// exactly what a connection does per frame. Bytes/s counts frame bytes; items/s counts inbox
// items (Deliver) or messages (Send).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "wire/frame.h"
#include "wire/messages.h"

namespace tern::wire {
namespace {

constexpr size_t kMaxBody = 16 << 20;
constexpr size_t kDeliverTextBytes = 100;

std::string Text(size_t bytes) {
  std::string t(bytes, 'x');
  for (size_t i = 0; i < bytes; ++i) t[i] = static_cast<char>('a' + i % 26);
  return t;
}

Message MakeDeliver(size_t items) {
  Deliver d;
  for (size_t i = 0; i < items; ++i) {
    InboxItem it;
    it.seq = 1000 + i;
    it.kind = ItemKind::kMessage;
    it.msg_id = (uint64_t{1} << 48) + 5000 + i;
    it.sender_user = 123456;
    it.sender_device = 1;
    it.to_user = 654321;
    it.chat_seq = 77 + i;
    it.server_ts_ms = 1700000000000 + i;
    it.text = Text(kDeliverTextBytes);
    d.items.push_back(std::move(it));
  }
  return d;
}

Message MakeSend(size_t text_bytes) { return Send{42, 654321, Text(text_bytes)}; }

std::string EncodeWhole(const Message& m) { return EncodeFrame(0, EncodeMessage(m)); }

void RunEncode(benchmark::State& state, const Message& m, int64_t items_per_frame) {
  size_t frame_bytes = 0;
  for (auto _ : state) {
    std::string frame = EncodeFrame(0, EncodeMessage(m));
    frame_bytes = frame.size();
    benchmark::DoNotOptimize(frame.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(frame_bytes));
  state.SetItemsProcessed(state.iterations() * items_per_frame);
  state.counters["frame_bytes"] = static_cast<double>(frame_bytes);
}

void RunDecode(benchmark::State& state, const Message& m, int64_t items_per_frame) {
  const std::string frame = EncodeWhole(m);
  const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(frame.data()),
                                       frame.size());
  for (auto _ : state) {
    FrameDecoder dec(kMaxBody);
    dec.Feed(bytes);
    Result<std::optional<Frame>> f = dec.Next();
    if (!f.ok() || !f.value()) {
      state.SkipWithError("frame did not decode");
      break;
    }
    const std::string& body = (*f.value()).body;
    Result<Message> msg = DecodeMessage(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(body.data()), body.size()));
    if (!msg.ok()) {
      state.SkipWithError(msg.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(msg.value());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(frame.size()));
  state.SetItemsProcessed(state.iterations() * items_per_frame);
  state.counters["frame_bytes"] = static_cast<double>(frame.size());
}

void BM_EncodeDeliver(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  RunEncode(state, MakeDeliver(n), state.range(0));
}
void BM_DecodeDeliver(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  RunDecode(state, MakeDeliver(n), state.range(0));
}
void BM_EncodeSend(benchmark::State& state) {
  RunEncode(state, MakeSend(static_cast<size_t>(state.range(0))), 1);
}
void BM_DecodeSend(benchmark::State& state) {
  RunDecode(state, MakeSend(static_cast<size_t>(state.range(0))), 1);
}

BENCHMARK(BM_EncodeDeliver)->ArgName("items")->Arg(1)->Arg(16)->Arg(256)->MinTime(0.2);
BENCHMARK(BM_DecodeDeliver)->ArgName("items")->Arg(1)->Arg(16)->Arg(256)->MinTime(0.2);
BENCHMARK(BM_EncodeSend)->ArgName("text_bytes")->Arg(16)->Arg(256)->Arg(4096)->MinTime(0.2);
BENCHMARK(BM_DecodeSend)->ArgName("text_bytes")->Arg(16)->Arg(256)->Arg(4096)->MinTime(0.2);

}  // namespace
}  // namespace tern::wire
