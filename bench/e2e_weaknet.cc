// e2e_weaknet: end-to-end latency, reconnect cost and bytes per message over a shaped 2G/3G
// link (tern-weaknet's Proxy, run in-process on its own thread) against the real ternd.
//
// Workload, for each profile (default 2g, then 3g; no drops in either):
//   * a fresh ternd (default config: durable acks); users A and B register directly, then
//     reconnect (Resume) through the proxy, each on its own shaped connection;
//   * latency: --messages (default 40) messages A -> B, one at a time (the next one leaves once
//     B holds the previous one and A holds its SendAck), ~100-byte texts; latency = A's Send
//     call to the item decoded at B (both clients polled by one thread, 1 ms slices);
//   * path_ms = the propagation delay of the path, sender -> server one way plus server ->
//     recipient one way (the profile's delay_ms up + down); serialisation_ms = the bytes of one
//     message's Send frame up and Deliver frame down at the profile's rate. Goal: p50 close to
//     path + serialisation (+ mean jitter): no extra round trips on the message path;
//   * wire_bytes_per_msg: all bytes through the proxy (both connections, both directions:
//     Send, SendAck, Deliver, InboxAck) during the latency phase / messages, plus an estimate of
//     TCP/IP headers: 52 bytes (IPv4 20 + TCP 20 + timestamps 12) per data segment, and one pure
//     ACK of 52 bytes per two data segments (delayed ACKs);
//   * reconnect: B drops (abort), A sends --queued (default 20) messages that wait in B's queue,
//     then B reconnects through the proxy; reconnect_to_first_msg_ms = from the start of B's
//     reconnect to its first queued item, plus one modelled round trip for the TCP handshake
//     (the proxy accepts on loopback, so SYN/SYN-ACK cross no shaped link); reconnect_bytes =
//     the bytes of that exchange through the proxy plus header estimate and the TCP handshake
//     (3 segments of 60 bytes).
//
// Output: one JSON line per profile:
//   {"profile":"2g","p50_ms":..,"p99_ms":..,"path_ms":600,"serialisation_ms":..,
//    "reconnect_to_first_msg_ms":..,"reconnect_bytes":..,"wire_bytes_per_msg":..,"messages":40}
// Figures are printed, never asserted. Exit 1 on a failure (setup, a lost, duplicated or late
// message), 2 on bad flags.
//
// Usage: tern_e2e_weaknet [--profiles 2g,3g] [--messages 40] [--queued 20] [--seed 1]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/e2e_util.h"
#include "tools/client/client.h"
#include "tools/weaknet/proxy.h"

namespace tern::bench {
namespace {

constexpr int kStartTimeoutMs = 10000;
constexpr int kWaitMs = 30000;
constexpr double kHeaderBytesPerSegment = 52 * 1.5;  // data segment + half a pure ACK
constexpr int kTcpHandshakeBytes = 3 * 60;

struct Flags {
  std::vector<std::string> profiles = {"2g", "3g"};
  int messages = 40;
  int queued = 20;
  uint64_t seed = 1;
};

struct Totals {
  uint64_t bytes = 0, segments = 0;
};
Totals Snapshot(const weaknet::Proxy& p) {
  weaknet::ProxyStats s = p.Stats();
  return {s.up.bytes_out + s.down.bytes_out, s.up.segments + s.down.segments};
}
double WireBytes(const Totals& a, const Totals& b) {
  return static_cast<double>(b.bytes - a.bytes) +
         static_cast<double>(b.segments - a.segments) * kHeaderBytesPerSegment;
}

Status Register(BenchServer& server, tools::Client& c, const std::string& phone) {
  Result<wire::CodeSent> sent = c.RequestCode(phone);
  if (!sent.ok()) return sent.status();
  Result<std::string> code = server.CodeFor(phone);
  if (!code.ok()) return code.status();
  Result<wire::Welcome> w = c.Verify(phone, *code, "bench");
  return w.ok() ? Status::Ok() : w.status();
}

// Polls both clients in 1 ms slices until done() or timeout.
Status PollBoth(tools::Client& a, tools::Client& b, const std::function<bool()>& done,
                int timeout_ms, const char* what) {
  const uint64_t deadline = tools::SteadyNowMs() + static_cast<uint64_t>(timeout_ms);
  while (!done()) {
    if (tools::SteadyNowMs() >= deadline) return Status(Code::kTimeout, what);
    if (a.connected()) a.Poll(0).IgnoreError();
    if (b.connected()) {
      Status st = b.Poll(1);
      if (!st.ok()) return st;
    }
  }
  return Status::Ok();
}

Status RunProfile(const Flags& f, const std::string& name, std::string* json) {
  weaknet::ProxyOptions po;
  if (!weaknet::NamedProfile(name, &po.profile)) {
    return Status(Code::kInvalidArgument, "unknown profile " + name);
  }
  BenchServer server(TERND_PATH);
  TERN_RETURN_IF_ERROR(server.Start(kStartTimeoutMs));
  tools::Client::Options o;
  o.port = server.port();
  o.io_timeout_ms = 15000;
  auto a = tools::Client::Create(o);
  auto b = tools::Client::Create(o);
  if (!a.ok() || !b.ok()) return Status(Code::kInternal, "Client::Create");
  tools::Client& A = **a;
  tools::Client& B = **b;
  TERN_RETURN_IF_ERROR(Register(server, A, "+15558800001"));
  TERN_RETURN_IF_ERROR(Register(server, B, "+15558800002"));
  const uint64_t to_b = B.state().user_id;

  po.upstream_port = server.port();
  po.seed = f.seed;
  auto proxy = weaknet::Proxy::Listen(po);
  if (!proxy.ok()) return proxy.status();
  weaknet::Proxy& P = **proxy;
  std::thread loop([&P] { P.Run(); });
  struct Joiner {
    weaknet::Proxy& p;
    std::thread& t;
    ~Joiner() {
      p.Stop();
      t.join();
    }
  } joiner{P, loop};

  for (tools::Client* c : {&A, &B}) {
    c->Abort(false);
    c->set_server("127.0.0.1", P.port());
    Result<wire::Welcome> w = c->Resume();
    if (!w.ok()) return Status(w.status().code(), "Resume via proxy: " + w.status().message());
  }

  // Latency, one message at a time.
  const std::string text(100, 'm');
  std::vector<int64_t> lat;
  Totals t0 = Snapshot(P);
  for (int i = 0; i < f.messages; ++i) {
    const size_t want = B.inbox().size() + 1;
    const int64_t start = NowNs();
    Result<uint64_t> seq = A.Send(to_b, text);
    if (!seq.ok()) return seq.status();
    int64_t arrived = 0;
    TERN_RETURN_IF_ERROR(PollBoth(
        A, B,
        [&] {
          if (arrived == 0 && B.inbox().size() >= want) arrived = NowNs();
          return arrived != 0 && A.core().ack_for(*seq) != nullptr;
        },
        kWaitMs, "message or ack"));
    if (B.inbox().size() != want || B.inbox().back().text != text) {
      return Status(Code::kInternal, "delivery mismatch");
    }
    lat.push_back((arrived - start) / 1000000);
  }
  // Let B's last InboxAck reach the server, so the phase's bytes include every frame.
  TERN_RETURN_IF_ERROR(B.RoundTrip(kWaitMs));
  Totals t1 = Snapshot(P);
  std::sort(lat.begin(), lat.end());
  const double per_msg = WireBytes(t0, t1) / f.messages;

  // Reconnect to the first queued message.
  B.Abort(false);
  std::vector<uint64_t> seqs;
  for (int i = 0; i < f.queued; ++i) {
    Result<uint64_t> seq = A.Send(to_b, text);
    if (!seq.ok()) return seq.status();
    seqs.push_back(*seq);
  }
  TERN_RETURN_IF_ERROR(A.WaitUntil(
      [&] {
        return std::all_of(seqs.begin(), seqs.end(),
                           [&](uint64_t s) { return A.core().ack_for(s) != nullptr; });
      },
      kWaitMs, "queued acks"));
  const size_t had = B.inbox().size();
  Totals r0 = Snapshot(P);
  const int64_t rs = NowNs();
  Result<wire::Welcome> w = B.Resume();
  if (!w.ok()) return w.status();
  TERN_RETURN_IF_ERROR(B.WaitUntil([&] { return B.inbox().size() > had; }, kWaitMs, "first"));
  const int64_t first_ns = NowNs() - rs;
  Totals r1 = Snapshot(P);
  TERN_RETURN_IF_ERROR(B.WaitForItems(had + static_cast<size_t>(f.queued), kWaitMs));

  const auto& pr = po.profile;
  const uint32_t path = pr.up.delay_ms + pr.down.delay_ms;
  double ser = 0;
  if (pr.up.rate_bps != 0 && pr.down.rate_bps != 0) {
    // One Send up, one Deliver down: about half the per-message payload bytes each way.
    double payload = static_cast<double>(t1.bytes - t0.bytes) / f.messages / 2;
    ser = payload * 8 * 1000 / static_cast<double>(pr.up.rate_bps) +
          payload * 8 * 1000 / static_cast<double>(pr.down.rate_bps);
  }
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "{\"profile\":\"%s\",\"p50_ms\":%lld,\"p99_ms\":%lld,\"path_ms\":%u,"
                "\"serialisation_ms\":%.0f,\"jitter_mean_ms\":%u,"
                "\"reconnect_to_first_msg_ms\":%lld,\"reconnect_bytes\":%.0f,"
                "\"wire_bytes_per_msg\":%.0f,\"messages\":%d}",
                name.c_str(), static_cast<long long>(Percentile(lat, 50)),
                static_cast<long long>(Percentile(lat, 99)), path, ser,
                (pr.up.jitter_ms + pr.down.jitter_ms) / 2,
                static_cast<long long>(first_ns / 1000000 + path),
                WireBytes(r0, r1) + kTcpHandshakeBytes, per_msg, f.messages);
  *json = buf;
  Result<int> rc = server.Stop(kStartTimeoutMs);
  if (!rc.ok() || *rc != 0) return Status(Code::kInternal, "ternd did not exit 0");
  return Status::Ok();
}

bool ParseFlags(int argc, char** argv, Flags* f) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) return false;
    std::string v = argv[++i];
    if (a == "--profiles") {
      f->profiles.clear();
      size_t pos = 0;
      while (pos <= v.size()) {
        size_t c = v.find(',', pos);
        if (c == std::string::npos) c = v.size();
        if (c > pos) f->profiles.push_back(v.substr(pos, c - pos));
        pos = c + 1;
      }
    } else if (a == "--messages") {
      f->messages = std::atoi(v.c_str());
    } else if (a == "--queued") {
      f->queued = std::atoi(v.c_str());
    } else if (a == "--seed") {
      f->seed = std::strtoull(v.c_str(), nullptr, 10);
    } else {
      return false;
    }
  }
  return f->messages > 0 && f->queued > 0 && !f->profiles.empty();
}

}  // namespace
}  // namespace tern::bench

int main(int argc, char** argv) {
  tern::bench::Flags f;
  if (!tern::bench::ParseFlags(argc, argv, &f)) {
    std::fprintf(stderr,
                 "usage: tern_e2e_weaknet [--profiles 2g,3g] [--messages 40] [--queued 20] "
                 "[--seed 1]\n");
    return 2;
  }
  int rc = 0;
  for (const std::string& p : f.profiles) {
    std::string json;
    tern::Status st = tern::bench::RunProfile(f, p, &json);
    if (!st.ok()) {
      std::fprintf(stderr, "e2e_weaknet %s: %s\n", p.c_str(), st.ToString().c_str());
      rc = 1;
      continue;
    }
    std::printf("%s\n", json.c_str());
    std::fflush(stdout);
  }
  return rc;
}
