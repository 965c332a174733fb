#include "tools/loadgen/workload_util.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <mutex>
#include <thread>

#include "tools/loadgen/proc.h"

namespace tern::loadgen {

std::string MakeText(uint32_t from, uint64_t n, int64_t t_ns, size_t bytes) {
  std::string t = "lg " + std::to_string(from) + " " + std::to_string(n) + " " +
                  std::to_string(t_ns) + " ";
  while (t.size() < bytes) t.push_back(static_cast<char>('a' + t.size() % 26));
  return t;
}

std::optional<TextFields> ParseText(std::string_view text) {
  if (text.substr(0, 3) != "lg ") return std::nullopt;
  TextFields f;
  const char* p = text.data() + 3;
  const char* end = text.data() + text.size();
  auto r1 = std::from_chars(p, end, f.from);
  if (r1.ec != std::errc() || r1.ptr == end || *r1.ptr != ' ') return std::nullopt;
  auto r2 = std::from_chars(r1.ptr + 1, end, f.n);
  if (r2.ec != std::errc() || r2.ptr == end || *r2.ptr != ' ') return std::nullopt;
  auto r3 = std::from_chars(r2.ptr + 1, end, f.t_ns);
  if (r3.ec != std::errc() || r3.ptr == end || *r3.ptr != ' ') return std::nullopt;
  return f;
}

void Inbox::On(std::string_view text) {
  const int64_t now = NowNs();
  ++received;
  last_ns = now;
  std::optional<TextFields> f = ParseText(text);
  if (!f) {
    ++foreign;
    return;
  }
  uint64_t& next = next_[f->from];
  if (f->n < next) {
    ++duplicates;
    return;
  }
  if (f->n > next) ++reordered;
  next = f->n + 1;
  if (record_latency) latency_ns.push_back(now - f->t_ns);
}

uint64_t Inbox::count_from(uint32_t from) const {
  auto it = next_.find(from);
  return it == next_.end() ? 0 : it->second;
}

void Tally::Check(const Inbox& inbox, uint32_t from, uint64_t acked) {
  expected += acked;
  const uint64_t got = inbox.count_from(from);
  if (got < acked) missing += acked - got;
}

void Tally::AddCounts(const Inbox& inbox) {
  delivered += inbox.received - inbox.duplicates;
  duplicates += inbox.duplicates;
  reordered += inbox.reordered;
  foreign += inbox.foreign;
}

std::string Tally::Text() const {
  std::string s;
  if (ok()) {
    s = "verified: all " + std::to_string(expected) +
        " acknowledged messages delivered exactly once, in order";
  } else {
    s = "NOT verified: " + std::to_string(expected) + " acknowledged, " +
        std::to_string(missing) + " missing, " + std::to_string(duplicates) + " duplicates, " +
        std::to_string(reordered) + " out of order, " + std::to_string(foreign) + " unknown";
  }
  if (delivered > expected) {
    s += " (plus " + std::to_string(delivered - expected) + " unacknowledged ones delivered)";
  }
  return s;
}

void Tally::Into(Report& r) const {
  r.verified = ok();
  r.verify_text = Text();
  r.Add("acked_msgs", static_cast<double>(expected), true);
  r.Add("delivered_msgs", static_cast<double>(delivered), true);
  r.Add("duplicates", static_cast<double>(duplicates), false);
  r.Add("missing", static_cast<double>(missing), false);
}

Status ParallelFor(size_t n, size_t threads, const std::function<Status(size_t)>& fn) {
  std::atomic<size_t> next{0};
  std::mutex mu;
  Status first;
  auto work = [&] {
    for (size_t i; (i = next.fetch_add(1)) < n;) {
      Status st = fn(i);
      if (!st.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        if (first.ok()) first = st;
        next.store(n);  // stop handing out work
      }
    }
  };
  std::vector<std::thread> pool;
  threads = std::max<size_t>(1, std::min(threads, n));
  for (size_t t = 0; t < threads; ++t) pool.emplace_back(work);
  for (std::thread& t : pool) t.join();
  return first;
}

Status RegisterAll(Backend& b, uint32_t users, const std::function<uint32_t(uint32_t)>& devices_of,
                   uint32_t threads, Population* pop) {
  pop->devices.clear();
  pop->first.assign(users, 0);
  for (uint32_t u = 0; u < users; ++u) {
    pop->first[u] = pop->devices.size();
    for (uint32_t d = 0; d < devices_of(u); ++d) {
      auto dev = std::make_unique<Device>();
      dev->user = u;
      pop->devices.push_back(std::move(dev));
    }
  }
  return ParallelFor(users, threads, [&](size_t i) -> Status {
    const auto u = static_cast<uint32_t>(i);
    for (uint32_t d = 0; d < devices_of(u); ++d) {
      Device& dev = pop->dev(u, d);
      Inbox* inbox = &dev.inbox;
      Result<std::unique_ptr<Endpoint>> ep =
          b.Register(u, d, d == 0 ? nullptr : pop->dev(u, 0).ep.get(),
                     [inbox](std::string_view text) { inbox->On(text); });
      if (!ep.ok()) {
        return Status(ep.status().code(), "register user " + std::to_string(u) + " device " +
                                              std::to_string(d) + ": " + ep.status().message());
      }
      dev.ep = std::move(ep).value();
    }
    return Status::Ok();
  });
}

double PercentileMs(std::vector<int64_t>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  rank = std::clamp<size_t>(rank, 1, v.size());
  return static_cast<double>(v[rank - 1]) / 1e6;
}

void AddLatencyFigures(Report& r, std::vector<int64_t>& lat, bool headline_p99) {
  r.Add("p50_ms", PercentileMs(lat, 50), false);
  r.Add("p99_ms", PercentileMs(lat, 99), false, headline_p99);
  r.Add("p99_9_ms", PercentileMs(lat, 99.9), false);
  r.Add("max_ms", PercentileMs(lat, 100), false);
}

Status SendNext(Endpoint& ep, uint32_t from, uint32_t to, uint64_t n, size_t bytes) {
  return ep.Send(to, MakeText(from, n, NowNs(), bytes));
}

Status WaitAcks(Endpoint& ep, int64_t deadline) {
  while (ep.acked() + ep.refused() < ep.sent()) {
    if (NowNs() > deadline) return Status(Code::kTimeout, "acks did not arrive in time");
    TERN_RETURN_IF_ERROR(ep.Poll(50));
  }
  return Status::Ok();
}

Status SenderLoop(Endpoint& ep, uint64_t count, int64_t deadline, uint32_t window,
                  const std::function<Status(uint64_t)>& send_one) {
  for (uint64_t j = 0; j < count && NowNs() < deadline;) {
    while (j < count && ep.sent() - ep.acked() - ep.refused() < window) {
      TERN_RETURN_IF_ERROR(send_one(j));
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

Status ReceiveLoop(Endpoint& ep, const std::function<bool()>& done, int64_t deadline) {
  while (!done()) {
    if (NowNs() > deadline) return Status(Code::kTimeout, "deliveries did not arrive in time");
    TERN_RETURN_IF_ERROR(ep.Poll(50));
  }
  return Status::Ok();
}

void KeepFirstError(std::mutex& mu, Status* first, const Status& st, const std::string& who) {
  if (st.ok()) return;
  std::lock_guard<std::mutex> lock(mu);
  if (first->ok()) *first = Status(st.code(), who + ": " + st.message());
}

CpuPair::CpuPair(pid_t server) : server_(server) {}

void CpuPair::Start() {
  t0_ = NowNs();
  s0_ = server_ > 0 ? CpuTicks(server_) : 0;
  l0_ = CpuTicks(::getpid());
}

void CpuPair::Stop(Report& r) {
  const double secs = static_cast<double>(NowNs() - t0_) / 1e9;
  const double tps = TicksPerSecond();
  if (secs <= 0) return;
  if (server_ > 0) {
    r.Add("server_cpu_pct", static_cast<double>(CpuTicks(server_) - s0_) / tps / secs * 100, false);
  }
  r.Add("loadgen_cpu_pct", static_cast<double>(CpuTicks(::getpid()) - l0_) / tps / secs * 100, false);
}

}  // namespace tern::loadgen
