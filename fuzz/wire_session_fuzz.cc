// Fuzz target: a server-role Session fed arbitrary client bytes in chunks.
//
// Input layout: byte 0 = chunk size (0 = whole input at once), byte 1 bit 0 = authenticate
// (Send a Welcome) after the first decoded Resume/Verify/Link, the rest = the client's bytes.
// The harness plays a minimal server: it answers Ping with Pong and drains every event.
// Invariants (abort on violation):
//  * everything the session writes decodes as well-formed frames of server->client (or
//    either-way) messages, and after a failure the last frame written is an Error (unless the
//    client's own Error ended the session);
//  * a failed session stays failed with the same code, and consumes nothing more;
//  * counters match: bytes_in == bytes fed before failure, bytes_out == bytes taken.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <variant>

#include "wire/frame.h"
#include "wire/messages.h"
#include "wire/session.h"

namespace {

using tern::wire::Message;
using tern::wire::Session;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

// Verifies the server's output stream; returns whether it ended with an Error frame.
bool CheckOutput(const std::string& out) {
  tern::wire::FrameDecoder dec(1 << 20);
  dec.Feed({reinterpret_cast<const uint8_t*>(out.data()), out.size()});
  bool last_is_error = false;
  for (;;) {
    auto f = dec.Next();
    Check(f.ok(), "output is not well-formed frames");
    if (!f.value().has_value()) break;
    Check(f.value()->flags == 0, "output frame has flags");
    const std::string& body = f.value()->body;
    auto m = tern::wire::DecodeMessage({reinterpret_cast<const uint8_t*>(body.data()),
                                        body.size()});
    Check(m.ok(), "output frame does not decode");
    Check(tern::wire::DirectionOf(m.value()) != tern::wire::Direction::kClientToServer,
          "server wrote a client->server message");
    last_is_error = std::holds_alternative<tern::wire::Error>(m.value());
  }
  Check(dec.buffered() == 0, "output ends in a partial frame");
  return last_is_error;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t chunk = data[0] == 0 ? size : data[0];
  const bool authenticate = (data[1] & 1) != 0;
  std::span<const uint8_t> in(data + 2, size - 2);

  Session s(Session::Role::kServer, Session::Options{});
  std::string out;
  uint64_t fed_ok = 0;
  bool peer_error = false;  // a client Error fails the session without an Error reply
  for (size_t pos = 0; pos < in.size(); pos += chunk) {
    const auto piece = in.subspan(pos, std::min(chunk, in.size() - pos));
    const bool was_failed = s.failed();
    const tern::Code code_before = s.failure().code();
    tern::Status st = s.Feed(piece);
    if (was_failed) {
      Check(!st.ok() && st.code() == code_before, "failure is not sticky");
      Check(s.bytes_in() == fed_ok, "a failed session counted input");
    } else {
      fed_ok += piece.size();
      Check(s.bytes_in() == fed_ok, "bytes_in does not match");
    }
    Check(st.ok() == !s.failed(), "Feed status disagrees with state");
    while (auto m = s.NextEvent()) {
      peer_error |= std::holds_alternative<tern::wire::Error>(*m);
      if (const auto* ping = std::get_if<tern::wire::Ping>(&*m)) {
        s.Send(tern::wire::Pong{ping->nonce});
      } else if (authenticate && !s.authenticated() &&
                 (std::holds_alternative<tern::wire::Resume>(*m) ||
                  std::holds_alternative<tern::wire::Verify>(*m) ||
                  std::holds_alternative<tern::wire::Link>(*m))) {
        s.Send(tern::wire::Welcome{1, 1, "t", 1, false, 0, 1000, 0, 256 * 1024, 8});
      }
    }
    out += s.TakeOutput();
  }
  Check(s.bytes_out() == out.size(), "bytes_out does not match the output");
  const bool ends_with_error = CheckOutput(out);
  if (s.failed() && !peer_error) Check(ends_with_error, "failed server session did not queue an Error");
  return 0;
}
