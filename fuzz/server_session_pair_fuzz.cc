// Fuzz target: two real clients (tools/client ClientCore on client-role wire::Sessions) and the
// real server core (server::Core on an in-memory store), connected by byte pipes the fuzzer
// controls. A FuzzedDataProvider picks the actions: send a message, move some bytes in either
// direction (any split), run a server loop turn, advance time (heartbeats, timeouts), drop a
// connection, resume it (with or without compression), flip a byte in flight.
// At the end the network heals: both clients resume and everything settles.
//
// Invariants (abort on violation):
//  * no acknowledged message is lost or duplicated: every Send whose final SendAck was ok
//    reached the peer's inbox exactly once (by msg_id), and the peer got nothing else from it;
//  * each inbox is in chat order without duplicates, and every pending send gets answered.
//    A flipped byte that still decodes is an undetectable change to what that client sent (a
//    different client_seq or recipient: TCP checksums and TLS make this impossible for real);
//    such a "tampered" client is treated as a hostile one: its sends need not be answered or
//    arrive, and what it acked need not have reached it, but every inbox must still be ordered
//    and duplicate-free, and an honest client's sends are still all answered;
//  * consumed <= input: a session never counts more bytes than it was fed;
//  * re-encoding a decoded message decodes to the same bytes.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "server/core.h"
#include "store/mem_env.h"
#include "tools/client/client_core.h"
#include "wire/compress.h"
#include "wire/session.h"

namespace {

using namespace tern;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

class Rng : public server::Entropy {
 public:
  void Fill(void* out, size_t n) override {
    auto* p = static_cast<uint8_t*>(out);
    for (size_t i = 0; i < n; ++i) {
      x_ ^= x_ << 13, x_ ^= x_ >> 7, x_ ^= x_ << 17;
      p[i] = static_cast<uint8_t>(x_);
    }
  }

 private:
  uint64_t x_ = 88172645463325252ull;
};

class Sink : public server::CodeSink {
 public:
  void Deliver(const std::string& phone, const std::string& code) override { codes[phone] = code; }
  std::map<std::string, std::string> codes;
};

struct Peer {
  std::unique_ptr<tools::StateStore> store = std::make_unique<tools::StateStore>("");
  std::unique_ptr<tools::ClientCore> core;
  std::unique_ptr<wire::Session> session;
  server::ConnId id = 0;
  bool connected = false;
  bool closing = false;  // the server closes after the bytes in s2c
  bool tampered = false; // a byte of this client's stream was flipped (see the invariants)
  std::string c2s, s2c;
  uint64_t fed = 0;
  std::vector<uint32_t> dicts = wire::DefaultDictOffer();
};

struct World {
  server::Config config;
  std::unique_ptr<store::KvEnv> env = store::NewMemEnv();
  Rng rng;
  Sink sink;
  std::unique_ptr<server::Core> core;
  uint64_t now = 1'700'000'000'000;
  Peer p[2];

  World() {
    config.heartbeat_ms = 60000;
    config.max_inflight = 64;
    config.deliver_max_items = 8;
    core = std::make_unique<server::Core>(config, *env, rng, sink);
    for (Peer& x : p) {
      tools::ClientCore::Options o;
      o.max_inflight = 16;
      x.core = std::make_unique<tools::ClientCore>(x.store.get(), tools::ClientState{}, o);
    }
  }

  void Open(Peer& x) {
    x.id = core->OnOpen(now);
    x.session = std::make_unique<wire::Session>(wire::Session::Role::kClient, wire::Session::Options{});
    x.core->OnConnected(now);
    x.core->options().dict_ids = x.dicts;
    x.connected = true;
    x.closing = false;
    x.c2s.clear();
    x.s2c.clear();
    x.fed = 0;
  }
  void Drop(Peer& x) {
    if (!x.connected) return;
    core->OnClosed(x.id, now);
    x.core->OnDisconnected(Status(Code::kUnavailable, "dropped"));
    x.connected = false;
    x.c2s.clear();
    x.s2c.clear();
  }
  void Resume(Peer& x) {
    if (x.connected || !x.core->state().registered()) return;
    Open(x);
    x.session->Send(x.core->MakeResume());
  }
  // Client side: queue what the core wants to send, then move up to n bytes to the server.
  void Up(Peer& x, size_t n) {
    if (!x.connected) return;
    for (wire::Message& m : x.core->TakeOutgoing(now)) x.session->Send(m);
    x.c2s += x.session->TakeOutput();
    n = std::min(n, x.c2s.size());
    if (n == 0) return;
    std::string chunk = x.c2s.substr(0, n);
    x.c2s.erase(0, n);
    core->OnBytes(x.id, {reinterpret_cast<const uint8_t*>(chunk.data()), chunk.size()}, now);
  }
  void Turn() {
    core->EndTurn(now);
    for (auto& out : core->TakeOutgoing()) {
      for (Peer& x : p) {
        if (!x.connected || x.id != out.id) continue;
        x.s2c += out.bytes;
        if (out.close) x.closing = true;
      }
    }
  }
  // Server side: move up to n bytes to the client and let the core handle what decodes.
  void Down(Peer& x, size_t n) {
    if (!x.connected) return;
    n = std::min(n, x.s2c.size());
    std::string chunk = x.s2c.substr(0, n);
    x.s2c.erase(0, n);
    const bool was_failed = x.session->failed();
    Status fed = x.session->Feed({reinterpret_cast<const uint8_t*>(chunk.data()), chunk.size()});
    if (!was_failed) x.fed += n;
    Check(x.session->bytes_in() <= x.fed, "session consumed more than its input");
    while (auto m = x.session->NextEvent()) {
      std::string enc = wire::EncodeMessage(*m);
      auto again = wire::DecodeMessage({reinterpret_cast<const uint8_t*>(enc.data()), enc.size()});
      Check(again.ok() && wire::EncodeMessage(again.value()) == enc, "re-encode differs");
      if (!x.core->OnMessage(*m, now).ok()) {
        Drop(x);
        return;
      }
    }
    if (!fed.ok() || (x.closing && x.s2c.empty())) Drop(x);
  }
  void Settle(int rounds) {
    for (int i = 0; i < rounds; ++i) {
      for (Peer& x : p) Up(x, SIZE_MAX);
      Turn();
      for (Peer& x : p) Down(x, SIZE_MAX);
    }
  }
  bool Register(Peer& x, const std::string& phone) {
    Open(x);
    x.session->Send(wire::RequestCode{wire::kProtocolVersion, phone});
    Settle(2);
    if (!x.connected || !sink.codes.count(phone)) return false;
    x.session->Send(x.core->MakeVerify(phone, sink.codes[phone], "fuzz"));
    Settle(3);
    return x.connected && x.core->authenticated();
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  World w;
  if (!w.Register(w.p[0], "+15550000001") || !w.Register(w.p[1], "+15550000002")) {
    std::abort();  // registration on a clean link must work
  }
  const uint64_t uid[2] = {w.p[0].core->state().user_id, w.p[1].core->state().user_id};
  for (int step = 0; step < 256 && in.remaining_bytes() > 0; ++step) {
    Peer& x = w.p[in.ConsumeBool() ? 1 : 0];
    const int who = &x == &w.p[0] ? 0 : 1;
    switch (in.ConsumeIntegralInRange<int>(0, 8)) {
      case 0: {
        std::string text = in.ConsumeRandomLengthString(40);
        if (x.core->state().registered()) (void)x.core->Send(uid[1 - who], text);  // refusals are fine
        break;
      }
      case 1: w.Up(x, in.ConsumeIntegralInRange<size_t>(0, 300)); break;
      case 2: w.Down(x, in.ConsumeIntegralInRange<size_t>(0, 300)); break;
      case 3: w.Turn(); break;
      case 4:
        w.now += in.ConsumeIntegralInRange<uint64_t>(0, 120000);
        w.core->OnTick(w.now);
        for (Peer& y : w.p) y.core->Tick(w.now);
        break;
      case 5: w.Drop(x); break;
      case 6: w.Resume(x); break;
      case 7: {  // the next connection's compression offer
        const uint8_t pick = in.ConsumeIntegral<uint8_t>() % 4;
        x.dicts = pick == 0 ? std::vector<uint32_t>{} : pick == 1 ? std::vector<uint32_t>{1}
                : pick == 2 ? wire::DefaultDictOffer() : std::vector<uint32_t>{4242, 1001};
        break;
      }
      case 8:
        if (!x.c2s.empty()) {
          size_t at = in.ConsumeIntegralInRange<size_t>(0, x.c2s.size() - 1);
          x.c2s[at] = static_cast<char>(x.c2s[at] ^ (1 | in.ConsumeIntegral<uint8_t>()));
          x.tampered = true;
        }
        break;
    }
  }
  // Heal: clean links, both devices resume until every send is answered and every item is in.
  // A flipped byte can leave a connection that decodes nothing more (say a length prefix grew),
  // so the client's dead-link rule (tools/client/link_policy.h) applies: a send still unanswered
  // after two clean rounds with nothing left to write means the link is dead; drop and resume.
  int unanswered[2] = {0, 0};
  for (int round = 0; round < 40; ++round) {
    for (Peer& y : w.p) {
      y.dicts = wire::DefaultDictOffer();
      if (!y.connected) w.Resume(y);
    }
    w.Settle(2);
    for (int i = 0; i < 2; ++i) {
      Peer& y = w.p[i];
      const bool waiting = y.connected && !y.core->state().unacked.empty() && y.c2s.empty();
      unanswered[i] = waiting ? unanswered[i] + 1 : 0;
      if (unanswered[i] >= 2) {
        w.Drop(y);
        unanswered[i] = 0;
      }
    }
    bool done = true;
    for (Peer& y : w.p)
      done &= y.connected && y.core->authenticated() && (y.tampered || y.core->state().unacked.empty());
    if (done) {
      w.Settle(3);
      break;
    }
    w.now += 1000;
  }
  for (int i = 0; i < 2; ++i) {
    const tools::ClientCore& me = *w.p[i].core;
    const tools::ClientCore& peer = *w.p[1 - i].core;
    const bool honest = !w.p[i].tampered;
    Check(!honest || me.state().unacked.empty(), "a send was never answered after healing");
    std::map<uint64_t, int> sent_ok;  // msg_id -> count
    for (const auto& [seq, ack] : me.acks())
      if (ack.status == Code::kOk) ++sent_ok[ack.msg_id];
    std::map<uint64_t, int> got;
    uint64_t last_chat_seq = 0, last_seq = 0;
    for (const wire::InboxItem& it : peer.inbox()) {
      Check(it.seq > last_seq, "inbox seq not increasing");
      last_seq = it.seq;
      if (it.sender_user != uid[i] || it.kind != wire::ItemKind::kMessage) continue;
      Check(it.chat_seq > last_chat_seq, "chat order broken or duplicate");
      last_chat_seq = it.chat_seq;
      ++got[it.msg_id];
    }
    // A tampered receiver may have acked (deleted) items it never stored: exactness needs both.
    const bool exact = honest && !w.p[1 - i].tampered;
    for (const auto& [id, n] : got) Check(n == 1 && (!exact || sent_ok.count(id)), "duplicate or unacked item");
    if (exact)
      for (const auto& [id, n] : sent_ok) Check(got.count(id), "acked message lost");
  }
  return 0;
}
