// Fuzz target: the frame decoder and the message decoder on arbitrary bytes.
//
// The first input byte picks a body limit and a feeding split, so one corpus explores both the
// whole-buffer and the chunked paths. Invariants (abort on violation):
//  * FrameDecoder never returns more bytes than it was fed, and buffered() never exceeds input;
//  * once Next() fails it keeps failing with the same code;
//  * a decoded message re-encodes to a body that decodes again, and that re-encoding is a
//    fixed point (Encode(Decode(Encode(Decode(x)))) == Encode(Decode(x)));
//  * a decoded frame re-frames to exactly the bytes it was read from.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>

#include "wire/frame.h"
#include "wire/messages.h"

namespace {

using tern::wire::DecodeMessage;
using tern::wire::EncodeFrame;
using tern::wire::EncodeMessage;
using tern::wire::FrameDecoder;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

std::span<const uint8_t> AsBytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

void CheckMessage(const std::string& body) {
  auto m = DecodeMessage(AsBytes(body));
  if (!m.ok()) {
    Check(tern::IsProtocolViolation(m.status().code()), "decode error is not a protocol code");
    return;
  }
  const std::string once = EncodeMessage(m.value());
  auto again = DecodeMessage(AsBytes(once));
  Check(again.ok(), "re-encoded message does not decode");
  Check(again.value().index() == m.value().index(), "re-decoded message changed type");
  Check(EncodeMessage(again.value()) == once, "re-encoding is not a fixed point");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  std::span<const uint8_t> in(data + 1, size - 1);
  const size_t max_body = (mode & 1) ? 1024 : 256 * 1024;
  const size_t chunk = (mode >> 1) == 0 ? in.size() + 1 : (mode >> 1);  // 1..127 or whole

  FrameDecoder dec(max_body);
  size_t fed = 0, returned = 0;
  bool failed = false;
  tern::Code failed_code = tern::Code::kOk;
  while (fed < in.size() || fed == 0) {
    const size_t n = std::min(chunk, in.size() - fed);
    dec.Feed(in.subspan(fed, n));
    fed += n;
    Check(dec.buffered() <= fed - returned, "buffered more than was fed");
    for (;;) {
      auto f = dec.Next();
      if (!f.ok()) {
        if (failed) Check(f.status().code() == failed_code, "error changed");
        failed = true;
        failed_code = f.status().code();
        break;
      }
      Check(!failed, "decoder recovered after an error");
      if (!f.value().has_value()) break;
      const tern::wire::Frame& frame = *f.value();
      Check(frame.body.size() <= max_body, "frame over the limit");
      const std::string reframed = EncodeFrame(frame.flags, frame.body);
      Check(std::string(reinterpret_cast<const char*>(in.data()) + returned, reframed.size()) ==
                reframed,
            "frame does not re-frame to its input bytes");
      returned += reframed.size();
      Check(returned <= fed, "returned more bytes than fed");
      CheckMessage(frame.body);
    }
    if (n == 0) break;
  }
  // The body without framing, too: the message decoder alone sees every input.
  CheckMessage(std::string(reinterpret_cast<const char*>(in.data()), in.size()));
  return 0;
}
