// The connection workloads (idle, churn), the dispatcher and the report printer.
#include <poll.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <cstdio>
#include <mutex>
#include <thread>

#include "tools/loadgen/proc.h"
#include "tools/loadgen/workload_util.h"
#include "tools/loadgen/workloads.h"

namespace tern::loadgen {

Report RunMessageWorkload(const std::string& name, Backend& b, const WorkloadOptions& o);

namespace {

// idle: C registered devices hold a connection each and do nothing.
Report Idle(Backend& b, const WorkloadOptions& o) {
  Report r;
  const uint32_t c = o.connections;
  const uint64_t nofile = RaiseFileLimit();
  if (nofile < uint64_t{c} + 100) {
    r.error = "open file limit " + std::to_string(nofile) + " is too low for " +
              std::to_string(c) + " connections";
    return r;
  }
  Population pop;  // user c is the one that sends the final check messages
  if (Status st = RegisterAll(b, c + 1, [](uint32_t) { return 1u; }, o.setup_threads, &pop);
      !st.ok()) {
    r.error = st.ToString();
    return r;
  }
  for (uint32_t u = 0; u < c; ++u) pop.dev(u).ep->Close();
  const pid_t spid = b.server_pid();
  ::poll(nullptr, 0, 500);  // let the server finish closing them
  const uint64_t rss0 = spid > 0 ? RssBytes(spid) : 0;
  const int64_t t0 = NowNs();
  Status st = ParallelFor(c, o.setup_threads, [&](size_t u) {
    return pop.dev(static_cast<uint32_t>(u)).ep->Connect();
  });
  const double connect_s = static_cast<double>(NowNs() - t0) / 1e9;
  if (!st.ok()) {
    r.error = "connect: " + st.ToString();
    return r;
  }
  ::poll(nullptr, 0, 1000);  // idle
  const uint64_t rss1 = spid > 0 ? RssBytes(spid) : 0;
  // Every idle connection still works: one message to each, received once.
  Endpoint& sender = *pop.dev(c).ep;
  for (uint32_t u = 0; u < c && st.ok(); ++u) {
    st = SendNext(sender, c, u, 0, o.text_bytes);
    if (st.ok() && u % 64 == 63) st = sender.Poll(0);
  }
  while (st.ok() && sender.acked() + sender.refused() < sender.sent()) st = sender.Poll(50);
  const int64_t deadline = NowNs() + 30 * kSec;
  if (st.ok()) {
    st = ParallelFor(c, o.setup_threads, [&](size_t u) -> Status {
      Device& d = pop.dev(static_cast<uint32_t>(u));
      while (d.inbox.count_from(c) < 1) {
        if (NowNs() > deadline) return Status(Code::kTimeout, "idle check message missing");
        TERN_RETURN_IF_ERROR(d.ep->Poll(50));
      }
      return Status::Ok();
    });
  }
  Tally tally;
  for (uint32_t u = 0; u < c; ++u) {
    tally.Check(pop.dev(u).inbox, c, sender.acked() == sender.sent() ? 1 : 0);
    tally.AddCounts(pop.dev(u).inbox);
  }
  r.ran = true;
  r.error = st.ok() ? "" : st.ToString();
  r.describe = std::to_string(c) + " registered devices connected and idle (server RSS before "
               "and after they connect; then one message to each)";
  if (spid > 0) {
    r.Add("rss_per_conn_bytes",
          static_cast<double>(rss1 > rss0 ? rss1 - rss0 : 0) / static_cast<double>(c), false, true);
    r.Add("rss_before_bytes", static_cast<double>(rss0), false);
    r.Add("rss_connected_bytes", static_cast<double>(rss1), false);
  }
  r.Add("connects_per_s", connect_s > 0 ? c / connect_s : 0, true);
  tally.Into(r);
  return r;
}

// churn: each client loops connect+resume, one send (waits for its ack), disconnect.
Report Churn(Backend& b, const WorkloadOptions& o) {
  Report r;
  const uint32_t n = std::max<uint32_t>(o.clients, 2);
  Population pop;
  if (Status st = RegisterAll(b, n, [](uint32_t) { return 1u; }, o.setup_threads, &pop);
      !st.ok()) {
    r.error = st.ToString();
    return r;
  }
  for (uint32_t u = 0; u < n; ++u) pop.dev(u).ep->Close();
  std::barrier<> go(n + 1);
  std::mutex mu;
  Status first;
  std::vector<uint64_t> cycles(n, 0), acked(n, 0);
  std::vector<std::vector<int64_t>> connect_ns(n);
  int64_t deadline = 0;
  std::vector<std::thread> threads;
  for (uint32_t i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      Device& d = pop.dev(i);
      d.inbox.record_latency = false;
      go.arrive_and_wait();
      Status st;
      for (uint64_t k = 0; st.ok() && NowNs() < deadline; ++k) {
        const int64_t c0 = NowNs();
        st = d.ep->Connect();
        if (!st.ok()) break;
        connect_ns[i].push_back(NowNs() - c0);
        st = SendNext(*d.ep, i, (i + 1) % n, k, o.text_bytes);
        const int64_t ack_deadline = NowNs() + 10 * kSec;
        while (st.ok() && d.ep->acked() + d.ep->refused() < d.ep->sent()) {
          st = NowNs() > ack_deadline ? Status(Code::kTimeout, "ack") : d.ep->Poll(50);
        }
        if (st.ok()) st = d.ep->Poll(0);  // take what else came
        d.ep->Close();
        ++cycles[i];
      }
      acked[i] = d.ep->acked();
      if (!st.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        if (first.ok()) first = Status(st.code(), "client " + std::to_string(i) + ": " + st.message());
      }
      go.arrive_and_wait();  // every sender done: acked[] final
      Status rs = d.ep->Connect();
      const uint32_t from = (i + n - 1) % n;
      const int64_t end = NowNs() + 30 * kSec;
      while (rs.ok() && d.inbox.count_from(from) < acked[from]) {
        rs = NowNs() > end ? Status(Code::kTimeout, "churn deliveries") : d.ep->Poll(50);
      }
      d.ep->Close();
      if (!rs.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        if (first.ok()) first = Status(rs.code(), "client " + std::to_string(i) + ": " + rs.message());
      }
    });
  }
  CpuPair cpu(b.server_pid());
  const int64_t t0 = NowNs();
  deadline = t0 + static_cast<int64_t>(o.seconds * 1e9);
  cpu.Start();
  go.arrive_and_wait();
  go.arrive_and_wait();
  const double secs = static_cast<double>(NowNs() - t0) / 1e9;
  cpu.Stop(r);
  for (std::thread& t : threads) t.join();
  uint64_t total = 0;
  std::vector<int64_t> conn;
  Tally tally;
  for (uint32_t i = 0; i < n; ++i) {
    total += cycles[i];
    conn.insert(conn.end(), connect_ns[i].begin(), connect_ns[i].end());
    tally.Check(pop.dev(i).inbox, (i + n - 1) % n, acked[(i + n - 1) % n]);
    tally.AddCounts(pop.dev(i).inbox);
  }
  r.ran = true;
  r.error = first.ok() ? "" : first.ToString();
  r.describe = std::to_string(n) + " clients each looping: connect+resume, send one message "
               "and wait for its ack, disconnect; messages checked at the end";
  r.figures.insert(r.figures.begin(),
                   {Figure{"cycles_per_s", secs > 0 ? static_cast<double>(total) / secs : 0, true, true},
                    Figure{"connect_p50_ms", PercentileMs(conn, 50), false, false},
                    Figure{"connect_p99_ms", PercentileMs(conn, 99), false, false}});
  tally.Into(r);
  return r;
}

std::string JsonEscape(const std::string& s) {
  std::string out;
  for (char ch : s) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (static_cast<unsigned char>(ch) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", ch);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out;
}

}  // namespace

const std::vector<std::string>& WorkloadNames() {
  static const std::vector<std::string> names = {"pairs", "latency", "drain", "fanout",
                                                 "idle",  "churn",   "durability"};
  return names;
}

Report RunWorkload(const std::string& name, Backend& b, const WorkloadOptions& o) {
  Report r;
  if (name == "idle") {
    r = Idle(b, o);
  } else if (name == "churn") {
    r = Churn(b, o);
  } else {
    r = RunMessageWorkload(name, b, o);
  }
  r.workload = name;
  r.backend = b.name();
  return r;
}

void PrintReport(const Report& r) {
  std::printf("\n== %s on %s: %s\n", r.workload.c_str(), r.backend.c_str(), r.describe.c_str());
  for (const Figure& f : r.figures) {
    std::printf("  %-28s %14.3f  %s%s\n", f.metric.c_str(), f.value,
                f.higher_is_better ? "(higher is better)" : "(lower is better)",
                f.headline ? "  *" : "");
  }
  if (r.ran) std::printf("  %s\n", r.verify_text.c_str());
  for (const std::string& n : r.notes) std::printf("  note: %s\n", n.c_str());
  if (!r.error.empty()) std::printf("  ERROR: %s\n", r.error.c_str());
  std::string j = "{\"workload\":\"" + r.workload + "\",\"backend\":\"" + r.backend +
                  "\",\"ok\":" + (r.ran && r.error.empty() ? "true" : "false") +
                  ",\"verified\":" + (r.verified ? "true" : "false") + ",\"verify\":\"" +
                  JsonEscape(r.verify_text) + "\",\"figures\":{";
  std::string better = "\"better\":{", headline = "\"headline\":[";
  bool first_h = true;
  for (size_t k = 0; k < r.figures.size(); ++k) {
    const Figure& f = r.figures[k];
    char v[64];
    std::snprintf(v, sizeof v, "%.6g", f.value);
    j += (k ? "," : "") + ("\"" + f.metric + "\":") + v;
    better += (k ? "," : "") + ("\"" + f.metric + "\":\"") + (f.higher_is_better ? "higher" : "lower") + "\"";
    if (f.headline) {
      headline += (first_h ? "\"" : ",\"") + f.metric + "\"";
      first_h = false;
    }
  }
  j += "}," + better + "}," + headline + "],\"notes\":[";
  for (size_t k = 0; k < r.notes.size(); ++k) j += (k ? ",\"" : "\"") + JsonEscape(r.notes[k]) + "\"";
  j += "],\"describe\":\"" + JsonEscape(r.describe) + "\",\"error\":\"" + JsonEscape(r.error) + "\"}";
  std::printf("%s\n", j.c_str());
  std::fflush(stdout);
}

}  // namespace tern::loadgen
