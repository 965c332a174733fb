// The message workloads: pairs, latency, drain, durability, fanout (see tools/loadgen/main.cc).
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

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kTailNs = 60 * kSec;  // bound on waiting for the last acks and deliveries

// Waits until every send was answered. Errors: the connection ended, kTimeout.
Status WaitAcks(Endpoint& ep, int64_t deadline) {
  while (ep.acked() + ep.refused() < ep.sent()) {
    if (NowNs() > deadline) return Status(Code::kTimeout, "acks did not arrive in time");
    TERN_RETURN_IF_ERROR(ep.Poll(50));
  }
  return Status::Ok();
}

// Send j goes to to_of(j) as that recipient's message n_of(j); at most `window` unanswered.
Status SenderLoop(Endpoint& ep, uint32_t from, uint64_t count, int64_t deadline, uint32_t window,
                  size_t bytes, const std::function<uint32_t(uint64_t)>& to_of,
                  const std::function<uint64_t(uint64_t)>& n_of) {
  for (uint64_t j = 0; j < count && NowNs() < deadline;) {
    while (j < count && ep.sent() - ep.acked() - ep.refused() < window) {
      TERN_RETURN_IF_ERROR(SendNext(ep, from, to_of(j), n_of(j), bytes));
      ++j;
    }
    TERN_RETURN_IF_ERROR(ep.Poll(100));
  }
  TERN_RETURN_IF_ERROR(WaitAcks(ep, std::max(deadline, NowNs()) + kTailNs));
  if (ep.refused() > 0) {
    return Status(Code::kInternal, std::to_string(ep.refused()) + " sends refused");
  }
  return Status::Ok();
}

// Polls until done() or the deadline. Errors: the connection ended, kTimeout.
Status ReceiveLoop(Endpoint& ep, const std::function<bool()>& done, int64_t deadline) {
  while (!done()) {
    if (NowNs() > deadline) return Status(Code::kTimeout, "deliveries did not arrive in time");
    TERN_RETURN_IF_ERROR(ep.Poll(50));
  }
  return Status::Ok();
}

struct SenderState {
  std::atomic<bool> done{false};
  std::atomic<uint64_t> acked{0};
};

void KeepFirstError(std::mutex& mu, Status* first, const Status& st, const std::string& who) {
  if (st.ok()) return;
  std::lock_guard<std::mutex> lock(mu);
  if (first->ok()) *first = Status(st.code(), who + ": " + st.message());
}

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
        st = SenderLoop(ep, i, UINT64_MAX, deadline, o.window, o.text_bytes,
                        [&](uint64_t) { return n + i; }, [](uint64_t j) { return j; });
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
        Status st = SenderLoop(ep, i, per, NowNs() + kTailNs, std::max<uint32_t>(o.window, 64),
                               o.text_bytes, [&](uint64_t) { return n + i; },
                               [](uint64_t j) { return j; });
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

// fanout: `senders` users each send `rounds` messages to every one of `members` users with
// `devices` devices each, as 1:1 sends (groups do not exist yet).
Report Fanout(Backend& b, const WorkloadOptions& o) {
  Report r;
  const uint32_t s = o.senders, m = o.members;
  Population pop;
  Status reg = RegisterAll(b, s + m, [&](uint32_t u) { return u < s ? 1u : o.devices; },
                           o.setup_threads, &pop);
  if (!reg.ok()) {
    r.error = reg.ToString();
    return r;
  }
  std::vector<SenderState> state(s);
  const uint64_t count = uint64_t{o.rounds} * m;
  std::barrier<> go(static_cast<ptrdiff_t>(pop.devices.size()) + 1);
  std::mutex mu;
  Status first;
  std::vector<std::thread> threads;
  // Member k (0-based) has received all of sender i's acked messages.
  auto caught_up = [&](const Inbox& in, uint32_t k) {
    for (uint32_t i = 0; i < s; ++i) {
      if (!state[i].done) return false;
      const uint64_t a = state[i].acked;
      if (in.count_from(i) < a / m + (k < a % m ? 1 : 0)) return false;
    }
    return true;
  };
  for (uint32_t i = 0; i < s; ++i) {
    threads.emplace_back([&, i] {
      Endpoint& ep = *pop.dev(i).ep;
      go.arrive_and_wait();
      Status st = SenderLoop(ep, i, count, NowNs() + kTailNs, std::max<uint32_t>(o.window, 64),
                             o.text_bytes, [&](uint64_t j) { return s + static_cast<uint32_t>(j % m); },
                             [&](uint64_t j) { return j / m; });
      KeepFirstError(mu, &first, st, "sender " + std::to_string(i));
      state[i].acked = ep.acked();
      state[i].done = true;
    });
  }
  for (size_t k = pop.first[s]; k < pop.devices.size(); ++k) {
    threads.emplace_back([&, k] {
      Device& d = *pop.devices[k];
      go.arrive_and_wait();
      Status st = ReceiveLoop(*d.ep, [&] { return caught_up(d.inbox, d.user - s); },
                              NowNs() + 2 * kTailNs);
      KeepFirstError(mu, &first, st, "member " + std::to_string(d.user));
    });
  }
  CpuPair cpu(b.server_pid());
  const int64_t t0 = NowNs();
  cpu.Start();
  go.arrive_and_wait();
  for (std::thread& t : threads) t.join();
  Tally tally;
  std::vector<int64_t> lat;
  int64_t last = t0;
  for (size_t k = pop.first[s]; k < pop.devices.size(); ++k) {
    Inbox& in = pop.devices[k]->inbox;
    const uint32_t mk = pop.devices[k]->user - s;
    for (uint32_t i = 0; i < s; ++i) {
      const uint64_t a = state[i].acked;
      tally.Check(in, i, a / m + (mk < a % m ? 1 : 0));
    }
    tally.AddCounts(in);
    lat.insert(lat.end(), in.latency_ns.begin(), in.latency_ns.end());
    last = std::max(last, in.last_ns);
  }
  const double secs = static_cast<double>(last - t0) / 1e9;
  r.ran = true;
  r.error = first.ok() ? "" : first.ToString();
  r.describe = std::to_string(s) + " senders x " + std::to_string(o.rounds) + " messages to " +
               std::to_string(m) + " members x " + std::to_string(o.devices) +
               " devices, as 1:1 sends (no groups yet: issue 4)";
  r.notes.push_back("fanout emulated with one 1:1 send per member until groups exist (issue 4)");
  r.Add("deliveries_per_s", secs > 0 ? static_cast<double>(tally.delivered) / secs : 0, true, true);
  AddLatencyFigures(r, lat, false);
  cpu.Stop(r);
  tally.Into(r);
  return r;
}

}  // namespace

Report RunMessageWorkload(const std::string& name, Backend& b, const WorkloadOptions& o) {
  if (name == "pairs") return Pairs(b, o, false);
  if (name == "latency") return Pairs(b, o, true);
  if (name == "drain") return Drain(b, o, false);
  if (name == "durability") return Drain(b, o, true);
  if (name == "fanout") return Fanout(b, o);
  Report r;
  r.error = "unknown workload " + name;
  return r;
}

}  // namespace tern::loadgen
