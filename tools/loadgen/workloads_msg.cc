// The message workloads: pairs, latency, drain, durability (see tools/loadgen/main.cc); fanout
// is in workloads_fanout.cc.
#include <algorithm>
#include <atomic>
#include <barrier>
#include <mutex>
#include <thread>

#include "tools/loadgen/proc.h"
#include "tools/loadgen/workload_util.h"
#include "tools/loadgen/workloads.h"

namespace tern::loadgen {
namespace {

// pairs (paced = false) and latency (paced = true).
Report Pairs(Backend& b, const WorkloadOptions& o, bool paced) {
  Report r;
  const uint32_t n = o.pairs;
  Population pop;
  if (Status st = RegisterAll(b, 2 * n, [](uint32_t) { return 1u; }, o.setup_threads, &pop);
      !st.ok()) {
    r.error = st.ToString();
    return r;
  }
  std::vector<SenderState> state(n);
  std::barrier<> go(2 * n + 1);
  std::mutex mu;
  Status first;
  const int64_t interval = paced ? kSec * n / std::max<uint32_t>(o.rate, 1) : 0;
  int64_t t0 = 0, deadline = 0;
  std::vector<std::thread> threads;
  for (uint32_t i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      Endpoint& ep = *pop.dev(i).ep;
      go.arrive_and_wait();
      Status st;
      if (!paced) {
        st = SenderLoop(ep, UINT64_MAX, deadline, o.window,
                        [&](uint64_t j) { return SendNext(ep, i, n + i, j, o.text_bytes); });
      } else {
        int64_t due = t0 + interval * i / n;  // staggered starts
        for (uint64_t j = 0; st.ok() && due < deadline; ) {
          const int64_t wait_ms = (due - NowNs()) / 1'000'000;
          if (wait_ms >= 1) {
            st = ep.Poll(static_cast<int>(wait_ms));
            continue;
          }
          st = SendNext(ep, i, n + i, j++, o.text_bytes);
          due += interval;
          if (st.ok()) st = ep.Poll(0);
        }
        if (st.ok()) st = WaitAcks(ep, NowNs() + kTailNs);
      }
      KeepFirstError(mu, &first, st, "sender " + std::to_string(i));
      state[i].acked = ep.acked();
      state[i].done = true;
    });
    threads.emplace_back([&, i] {
      Device& d = pop.dev(n + i);
      go.arrive_and_wait();
      Status st = ReceiveLoop(
          *d.ep, [&] { return state[i].done && d.inbox.count_from(i) >= state[i].acked; },
          deadline + kTailNs);
      KeepFirstError(mu, &first, st, "recipient " + std::to_string(n + i));
    });
  }
  CpuPair cpu(b.server_pid());
  t0 = NowNs();
  deadline = t0 + static_cast<int64_t>(o.seconds * 1e9);
  cpu.Start();
  go.arrive_and_wait();
  for (std::thread& t : threads) t.join();
  Tally tally;
  std::vector<int64_t> lat;
  int64_t last = t0;
  for (uint32_t i = 0; i < n; ++i) {
    Inbox& in = pop.dev(n + i).inbox;
    tally.Check(in, i, state[i].acked);
    tally.AddCounts(in);
    lat.insert(lat.end(), in.latency_ns.begin(), in.latency_ns.end());
    last = std::max(last, in.last_ns);
  }
  const double secs = static_cast<double>(last - t0) / 1e9;
  r.ran = true;
  r.error = first.ok() ? "" : first.ToString();
  if (paced) {
    r.describe = std::to_string(n) + " pairs, " + std::to_string(o.rate) +
                 " msgs/s in total (paced), " + std::to_string(o.text_bytes) +
                 "-byte texts; latency = send call to delivery callback";
    r.Add("target_msgs_per_s", o.rate, true);
    r.Add("msgs_per_s", secs > 0 ? static_cast<double>(tally.delivered) / secs : 0, true);
    AddLatencyFigures(r, lat, true);
  } else {
    r.describe = std::to_string(n) + " sender->recipient pairs, window " +
                 std::to_string(o.window) + " unacked sends each, " +
                 std::to_string(o.text_bytes) + "-byte texts, " + std::to_string(o.seconds) +
                 " s";
    r.Add("msgs_per_s", secs > 0 ? static_cast<double>(tally.delivered) / secs : 0, true, true);
    AddLatencyFigures(r, lat, false);
  }
  cpu.Stop(r);
  tally.Into(r);
  return r;
}

// drain (crash = false) and durability (crash = true).
Report Drain(Backend& b, const WorkloadOptions& o, bool crash) {
  Report r;
  if (crash && !b.can_crash()) {
    r.error = "durability needs a spawned server (kill -9)";
    return r;
  }
  const uint32_t n = o.recipients;
  const uint64_t total = crash ? std::max<uint64_t>(o.messages / 10, n) : o.messages;
  const uint64_t per = total / n;
  Population pop;
  if (Status st = RegisterAll(b, 2 * n, [](uint32_t) { return 1u; }, o.setup_threads, &pop);
      !st.ok()) {
    r.error = st.ToString();
    return r;
  }
  for (uint32_t i = 0; i < n; ++i) pop.dev(n + i).ep->Close();  // recipients go offline
  const pid_t spid = b.server_pid();
  const uint64_t rss0 = spid > 0 ? RssBytes(spid) : 0;
  std::mutex mu;
  Status first;
  const int64_t q0 = NowNs();
  std::vector<uint64_t> acked(n, 0);
  {
    std::vector<std::thread> threads;
    for (uint32_t i = 0; i < n; ++i) {
      threads.emplace_back([&, i] {
        Endpoint& ep = *pop.dev(i).ep;
        Status st = SenderLoop(ep, per, NowNs() + kTailNs, std::max<uint32_t>(o.window, 64),
                               [&](uint64_t j) { return SendNext(ep, i, n + i, j, o.text_bytes); });
        KeepFirstError(mu, &first, st, "sender " + std::to_string(i));
        acked[i] = ep.acked();
      });
    }
    for (std::thread& t : threads) t.join();
  }
  const double queue_s = static_cast<double>(NowNs() - q0) / 1e9;
  const uint64_t rss1 = spid > 0 ? RssBytes(spid) : 0;
  uint64_t acked_total = 0;
  for (uint64_t a : acked) acked_total += a;
  if (crash) {
    if (Status st = b.CrashAndRestart(); !st.ok()) {
      r.error = "restart after kill -9: " + st.ToString();
      return r;
    }
  }
  const pid_t dpid = b.server_pid();
  CpuPair cpu(dpid);
  cpu.Start();
  const int64_t t0 = NowNs();
  {
    std::vector<std::thread> threads;
    for (uint32_t i = 0; i < n; ++i) {
      threads.emplace_back([&, i] {
        Device& d = pop.dev(n + i);
        d.inbox.record_latency = false;
        Status st = d.ep->Connect();
        if (st.ok() && !crash) {
          st = ReceiveLoop(*d.ep, [&] { return d.inbox.count_from(i) >= acked[i]; },
                           t0 + kTailNs);
        } else if (st.ok()) {
          // After a crash some may never come: stop after 3 s without progress.
          int64_t quiet_since = NowNs();
          uint64_t seen = d.inbox.received;
          while (st.ok() && d.inbox.count_from(i) < acked[i] && NowNs() - quiet_since < 3 * kSec) {
            st = d.ep->Poll(50);
            if (d.inbox.received != seen) {
              seen = d.inbox.received;
              quiet_since = NowNs();
            }
          }
        }
        KeepFirstError(mu, &first, st, "recipient " + std::to_string(n + i));
      });
    }
    for (std::thread& t : threads) t.join();
  }
  Tally tally;
  int64_t last = t0;
  for (uint32_t i = 0; i < n; ++i) {
    Inbox& in = pop.dev(n + i).inbox;
    tally.Check(in, i, acked[i]);
    tally.AddCounts(in);
    last = std::max(last, in.last_ns);
  }
  r.ran = true;
  r.error = first.ok() ? "" : first.ToString();
  if (crash) {
    r.describe = std::to_string(acked_total) + " messages to " + std::to_string(n) +
                 " offline recipients; kill -9 right after the last ack; restart; reconnect";
    r.Add("delivered_after_kill9_pct",
          acked_total > 0 ? 100.0 * static_cast<double>(acked_total - tally.missing) /
                                static_cast<double>(acked_total)
                          : 0,
          true, true);
  } else {
    const double secs = static_cast<double>(last - t0) / 1e9;
    r.describe = std::to_string(acked_total) + " messages queued for " + std::to_string(n) +
                 " offline recipients, then all reconnect at once";
    r.Add("msgs_per_s", secs > 0 ? static_cast<double>(tally.delivered) / secs : 0, true, true);
    r.Add("drain_s", secs, false);
    r.Add("queue_msgs_per_s", queue_s > 0 ? static_cast<double>(acked_total) / queue_s : 0, true);
    if (spid > 0 && acked_total > 0) {
      r.Add("rss_per_queued_msg_bytes",
            static_cast<double>(rss1 > rss0 ? rss1 - rss0 : 0) / static_cast<double>(acked_total),
            false);
    }
    cpu.Stop(r);
  }
  tally.Into(r);
  return r;
}

}  // namespace

Report RunMessageWorkload(const std::string& name, Backend& b, const WorkloadOptions& o) {
  if (name == "pairs") return Pairs(b, o, false);
  if (name == "latency") return Pairs(b, o, true);
  if (name == "drain") return Drain(b, o, false);
  if (name == "durability") return Drain(b, o, true);
  if (name == "fanout") return Fanout(b, o);  // workloads_fanout.cc
  Report r;
  r.error = "unknown workload " + name;
  return r;
}

}  // namespace tern::loadgen
