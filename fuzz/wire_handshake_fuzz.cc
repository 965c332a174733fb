// Fuzz target: the handshake and compression negotiation on a client/server Session pair.
//
// A FuzzedDataProvider builds the client's first frame (RequestCode, Verify, Link or Resume
// with fuzzed fields and dict_ids), the server's answer (Welcome with a dict_id the fuzzer may
// pick outside the offer, CodeSent or Error), the byte splits, and then raw pre-auth bytes.
// Invariants:
//  * the server session decodes the client's frame to the same message (re-encode equal);
//  * the client accepts a Welcome iff its dict_id is 0, or offered and known; once accepted,
//    both sides use the same dictionary and a compressed post-auth frame round-trips both ways;
//  * pre-auth frames are never compressed, and a body over the pre-auth limit fails the
//    server session with kFrameTooLarge before it is buffered;
//  * a failed session is sticky and consumes nothing more.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <variant>
#include <vector>

#include "wire/compress.h"
#include "wire/frame.h"
#include "wire/session.h"

namespace {

using namespace tern::wire;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Feeds `bytes` in fuzz-chosen pieces; returns the first non-ok status.
tern::Status FeedSplit(Session& s, const std::string& bytes, FuzzedDataProvider& in) {
  size_t pos = 0;
  tern::Status st;
  while (pos < bytes.size()) {
    size_t n = std::min(bytes.size() - pos, in.ConsumeIntegralInRange<size_t>(1, 64));
    tern::Status r = s.Feed(Bytes(bytes.substr(pos, n)));
    if (st.ok()) st = r;
    pos += n;
  }
  return st;
}

std::vector<uint32_t> Ids(FuzzedDataProvider& in) {
  std::vector<uint32_t> ids;
  const size_t n = in.ConsumeIntegralInRange<size_t>(0, 4);
  for (size_t i = 0; i < n; ++i) {
    switch (in.ConsumeIntegralInRange<int>(0, 4)) {
      case 0: ids.push_back(kDictPlainZstd); break;
      case 1: ids.push_back(1001); break;
      case 2: ids.push_back(0); break;
      case 3: ids.push_back(1002); break;
      default: ids.push_back(in.ConsumeIntegral<uint32_t>());
    }
  }
  return ids;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  Session client(Session::Role::kClient, Session::Options{});
  Session server(Session::Role::kServer, Session::Options{});
  Message first;
  std::vector<uint32_t> offer = Ids(in);
  switch (in.ConsumeIntegralInRange<int>(0, 3)) {
    case 0: first = RequestCode{in.ConsumeIntegral<uint16_t>(), in.ConsumeRandomLengthString(40)}; break;
    case 1: {
      Verify v{1, in.ConsumeRandomLengthString(20), in.ConsumeRandomLengthString(8),
               in.ConsumeRandomLengthString(80), in.ConsumeIntegral<uint32_t>()};
      v.dict_ids = offer;
      first = v;
      break;
    }
    case 2: {
      Link l{1, in.ConsumeRandomLengthString(16), in.ConsumeRandomLengthString(80),
             in.ConsumeIntegral<uint32_t>()};
      l.dict_ids = offer;
      first = l;
      break;
    }
    default: {
      Resume r{1, in.ConsumeIntegral<uint64_t>(), in.ConsumeIntegral<uint32_t>(),
               in.ConsumeRandomLengthString(80), in.ConsumeIntegral<uint32_t>(),
               in.ConsumeIntegral<uint64_t>(), in.ConsumeIntegral<uint64_t>(),
               in.ConsumeIntegral<uint32_t>()};
      r.dict_ids = offer;
      first = r;
    }
  }
  const bool offers = !std::holds_alternative<RequestCode>(first);
  if (!offers) offer.clear();
  client.Send(first);
  const std::string hello = client.TakeOutput();
  auto header = ParseFrameHeader(Bytes(hello), SIZE_MAX);
  Check(header.ok() && header.value() && header.value()->flags == 0,
        "a pre-auth frame was compressed");
  const std::string body = EncodeMessage(first);
  tern::Status st = FeedSplit(server, hello, in);
  if (body.size() > 1024) {
    Check(st.code() == tern::Code::kFrameTooLarge, "oversized pre-auth frame accepted");
    return 0;
  }
  Check(st.ok(), "a well-formed handshake frame was refused");
  auto got = server.NextEvent();
  Check(got.has_value() && EncodeMessage(*got) == body, "handshake frame changed in transit");

  // The server's answer: usually its real choice, sometimes any id.
  Welcome w{7, 2, "", 3, false, 0, 270000, 1, 256 * 1024, 64};
  w.dict_id = in.ConsumeBool() ? ChooseDict(offer) : in.ConsumeIntegral<uint32_t>();
  const bool server_knows = FindDict(w.dict_id) != nullptr;
  server.Send(w);
  Check(server.dict_id() == (server_knows ? w.dict_id : kDictNone), "server dictionary");
  st = FeedSplit(client, server.TakeOutput(), in);
  const bool acceptable =
      w.dict_id == kDictNone ||
      (std::find(offer.begin(), offer.end(), w.dict_id) != offer.end() && server_knows);
  Check(st.ok() == acceptable, "client accepted a Welcome it should refuse, or the reverse");
  if (!st.ok()) {
    Check(client.failed() && client.Feed(Bytes(std::string(3, '\0'))).code() == st.code(),
          "failure not sticky");
    return 0;
  }
  Check(client.dict_id() == server.dict_id(), "the two sides disagree on the dictionary");
  const std::string text = in.ConsumeRandomLengthString(300);
  client.Send(Send{1, 2, text, in.ConsumeIntegral<uint64_t>()});
  Check(server.Feed(Bytes(client.TakeOutput())).ok(), "post-auth Send refused");
  auto s = server.NextEvent();
  Check(s && std::get<Send>(*s).text == text, "post-auth Send changed");
  server.Send(Deliver{{InboxItem{1, ItemKind::kMessage, 9, 5, 1, 7, 1, 1, text}}});
  Check(client.Feed(Bytes(server.TakeOutput())).ok(), "post-auth Deliver refused");
  // Raw pre-auth bytes into a fresh server session: never a crash; failure is sticky.
  Session raw(Session::Role::kServer, Session::Options{});
  const std::string rest = in.ConsumeRemainingBytesAsString();
  tern::Status r = raw.Feed(Bytes(rest));
  Check(r.ok() == !raw.failed(), "Feed status disagrees with state");
  Check(raw.bytes_in() == rest.size(), "bytes_in does not match");
  return 0;
}
