// e2e_fanout: group fan-out through the real ternd: deliveries per second to every device of
// every member, online and as an offline queue drained on reconnect, and what one queued group
// message costs in the store.
//
// Workload (make bench-fanout: --members 256 --devices 2 --messages 200):
//   * a fresh ternd on a temp data dir: durable defaults (a SendAck leaves after the fsync'd
//     commit), --plain-tcp, accept limits opened up (every connection comes from 127.0.0.1);
//   * `members` users register (RequestCode, Verify with the code from otp.log) and each links
//     `devices` - 1 more devices (CreateLinkCode on device 0, Link), on --setup-threads
//     blocking Clients; member 0 then creates one group with every other member as an initial
//     member (CreateGroup). Every device then moves to one thread: tern-loadgen's ClientMux
//     (tools/loadgen/client_mux.h) runs all members x devices sessions over non-blocking
//     sockets and poll(2), so the figures are not those of 512 threads on 2 cores;
//   * online: every device connected. The senders (--senders S, default 1: device 0 of members
//     0..S-1, in turn) send `messages` group messages of --text-bytes, with at most --window
//     messages not yet delivered everywhere. A message goes to every device of every member
//     except the sending device: recipients = members x devices - 1 per message;
//   * offline: every device but the senders' closes (after a ping round trip, so the server
//     read its last InboxAck) and the store is read once no queue item is left; the senders
//     send `messages` more and get every SendAck (so all are committed); the store is read
//     again; then every closed device reconnects (Resume) at once and drains its queue.
//
// Figures per phase: deliveries (messages x recipients); deliveries_per_s and messages_per_s
// over the phase's wall time (online: first send to last delivery; offline: first reconnect to
// last delivery); p50/p99 per message of send (online) or first reconnect (offline) to the
// message's last delivery (first_delivery_p50_ms: to its first delivery, i.e. the commit
// before the fan-out). store_bytes_per_group_msg (offline phase): growth of the pages of
// every LMDB table (branch + leaf + overflow, read read-only as mdb_stat does) while the
// messages are queued, / messages; split into the part that grows per message (the body in
// `msgs`, its expiry entry, the senders' dedupe results, ...) and per recipient device
// (`queue` item and `refs` entry), next to the raw record sizes, to show the body is stored
// once with one small ref per device, never a copy per device.
// Checks: every device gets every group message not its own exactly once, its group items in
// strictly increasing chat seq, with the chat seq of the SendAck; every SendAck ok; no device
// loses its connection; after the drain the store holds no queue item, ref or body.
//
// Output: setup and check lines, a table, the store breakdown, one JSON line per phase:
//   {"bench":"fanout","group_size":256,"devices_per_member":2,"phase":"online","messages":200,
//    "recipients_per_message":511,"deliveries":102200,"seconds":..,"deliveries_per_s":..,
//    "messages_per_s":..,"p50_ms":..,"p99_ms":..,"first_delivery_p50_ms":..,"text_bytes":200,
//    "store_bytes_per_group_msg":null (offline: a number),"body_bytes_per_group_msg":..,
//    "per_device_ref_bytes":..,"server_cpu_pct":..,"bench_cpu_pct":..,
//    "exactly_once_in_order":true}
// (cpu: percent of one core over the timed part, ternd and this process; 200 = both cores.)
// Figures are printed, never asserted (CONVENTIONS rule 14). Every wait has a count or a time
// limit (--phase-timeout-s); hitting one fails with what was missing. Exit 1 on any failure
// (setup, refused send, lost/duplicated/reordered delivery, time limit, ternd not exiting 0 on
// SIGTERM), 2 for bad flags.
//
// Usage: tern_e2e_fanout [--members 256] [--devices 2] [--messages 200] [--text-bytes 200]
//                        [--window 16] [--senders 1] [--phase-timeout-s 120]
//                        [--setup-threads 4]
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bench/e2e_util.h"
#include "bench/lmdb_pages.h"
#include "tools/client/client.h"
#include "tools/loadgen/client_mux.h"
#include "tools/loadgen/proc.h"
#include "tools/loadgen/workload_util.h"

namespace tern::bench {
namespace {

using loadgen::ClientMux;

constexpr int kStartTimeoutMs = 10000;
constexpr int kStopTimeoutMs = 20000;
constexpr int kIoTimeoutMs = 10000;  // each blocking setup call
constexpr int kTurnMs = 10;          // poll wait of one mux turn when nothing is ready
constexpr char kTextPrefix[] = "fanout ";

struct Flags {
  uint32_t members = 256, devices = 2, messages = 200, window = 16, senders = 1;
  uint32_t setup_threads = 4;
  size_t text_bytes = 200;
  double phase_timeout_s = 120;
};

// Tables that grow by one record per recipient device of a group message (the rest grow per
// message: body, expiry entry, the sender's dedupe result, chat counter).
bool PerDeviceTable(const std::string& t) {
  return t == "queue" || t == "refs" || t == "queue_meta";
}

// ---- the bench ----

std::string MakeText(uint64_t k, size_t bytes) {
  std::string t = kTextPrefix + std::to_string(k) + " ";
  while (t.size() < bytes) t.push_back(static_cast<char>('a' + t.size() % 26));
  return t;
}

bool ParseText(const std::string& text, uint64_t* k) {
  const size_t p = sizeof kTextPrefix - 1;
  if (text.compare(0, p, kTextPrefix) != 0) return false;
  char* end = nullptr;
  *k = std::strtoull(text.c_str() + p, &end, 10);
  return end != text.c_str() + p && *end == ' ';
}

struct Msg {
  size_t sender = 0;  // device index
  uint64_t client_seq = 0, chat_seq_seen = 0;
  int64_t send_ns = 0, first_ns = 0, last_ns = 0;
  uint32_t delivered = 0;
};

struct DeviceCheck {
  uint64_t last_chat_seq = 0;
  std::vector<uint8_t> seen;  // per message index
  uint64_t duplicates = 0, out_of_order = 0, unexpected = 0;
};

struct PhaseResult {
  std::string phase;
  uint64_t deliveries = 0;
  double seconds = 0, p50_ms = 0, p99_ms = 0;
  double first_p50_ms = 0;  // online: send to the message's first delivery
  bool exactly_once_in_order = false;
  double server_cpu_pct = 0, bench_cpu_pct = 0;  // of one core, over the timed part
  bool has_store = false;
  double store_bytes = 0, body_bytes = 0, ref_bytes = 0;
};

class FanoutBench {
 public:
  explicit FanoutBench(const Flags& f)
      : f_(f),
        server_(TERND_PATH, {"--accept-rate", "1000000", "--max-connections-per-ip", "100000"}),
        devices_(size_t{f.members} * f.devices),
        recipients_(static_cast<uint32_t>(devices_ - 1)),
        msgs_(size_t{2} * f.messages),
        checks_(devices_) {
    for (DeviceCheck& c : checks_) c.seen.assign(msgs_.size(), 0);
  }

  int Run();

 private:
  Status Setup();
  Status RunOnline(PhaseResult* r);
  Status RunOffline(PhaseResult* r);
  Status WaitFor(const std::function<bool()>& done, const std::string& what,
                 const std::function<std::string()>& progress);
  Status WaitStore(const std::function<bool(const StoreStat&)>& done, const std::string& what,
                   StoreStat* out);
  void OnItem(size_t dev, const wire::InboxItem& item);
  Status Send(uint64_t k);
  bool IsSender(size_t dev) const { return dev % f_.devices == 0 && dev / f_.devices < f_.senders; }
  std::string Verify(uint64_t first, uint64_t end);
  void Finish(PhaseResult* r, uint64_t first, uint64_t end, int64_t t0);
  void PrintStore(const StoreStat& before, const StoreStat& after, size_t queued_devices,
                  PhaseResult* r);

  Flags f_;
  BenchServer server_;
  const size_t devices_;
  const uint32_t recipients_;
  std::unique_ptr<ClientMux> mux_;
  std::vector<uint64_t> user_ids_;
  uint64_t group_id_ = 0, create_seq_ = 0;
  std::vector<Msg> msgs_;  // online 0..messages-1, offline messages..2*messages-1
  std::vector<DeviceCheck> checks_;
  uint64_t fully_delivered_ = 0;  // messages delivered to every recipient
  std::vector<bool> expect_open_;
};

Status FanoutBench::WaitFor(const std::function<bool()>& done, const std::string& what,
                            const std::function<std::string()>& progress) {
  const int64_t deadline = NowNs() + static_cast<int64_t>(f_.phase_timeout_s * 1e9);
  while (!done()) {
    if (NowNs() >= deadline) {
      return Status(Code::kTimeout, "TIME LIMIT: " + what + " not reached within " +
                                        std::to_string(f_.phase_timeout_s) + " s (" +
                                        progress() + ")");
    }
    TERN_RETURN_IF_ERROR(mux_->Turn(kTurnMs));
    for (size_t i = 0; i < devices_; ++i) {
      if (expect_open_[i] && !mux_->open(i)) {
        return Status(Code::kUnavailable, "device " + std::to_string(i) +
                                              " lost its connection while " + what + ": " +
                                              mux_->error(i).ToString());
      }
    }
  }
  return Status::Ok();
}

Status FanoutBench::WaitStore(const std::function<bool(const StoreStat&)>& done,
                              const std::string& what, StoreStat* out) {
  const std::string dir = server_.data_dir() + "/store";
  std::string last = "never read";
  return WaitFor(
      [&] {
        Result<StoreStat> s = ReadStore(dir);
        if (!s.ok()) {
          last = s.status().ToString();
          return false;
        }
        last = "queue items " + std::to_string(s->entries("queue")) + ", refs " +
               std::to_string(s->entries("refs")) + ", bodies " +
               std::to_string(s->entries("msgs"));
        if (!done(*s)) return false;
        *out = std::move(s).value();
        return true;
      },
      what, [&] { return "store: " + last; });
}

void FanoutBench::OnItem(size_t dev, const wire::InboxItem& item) {
  DeviceCheck& c = checks_[dev];
  // Delivered/read receipts about the group's messages reach the senders' devices (marks, not
  // chat entries: their chat seq is the message's, so they are outside the chat order).
  if (item.kind == wire::ItemKind::kReceipt && item.group_id == group_id_) return;
  if (item.group_id != group_id_) {
    ++c.unexpected;
    return;
  }
  if (item.chat_seq <= c.last_chat_seq) ++c.out_of_order;
  c.last_chat_seq = std::max(c.last_chat_seq, item.chat_seq);
  if (item.kind == wire::ItemKind::kGroupEvent) return;  // the creation
  uint64_t k = 0;
  if (item.kind != wire::ItemKind::kMessage || !ParseText(item.text, &k) || k >= msgs_.size() ||
      msgs_[k].sender == dev) {
    ++c.unexpected;
    return;
  }
  if (c.seen[k] != 0) {
    ++c.duplicates;
    return;
  }
  c.seen[k] = 1;
  Msg& m = msgs_[k];
  if (m.chat_seq_seen == 0) m.chat_seq_seen = item.chat_seq;
  if (m.chat_seq_seen != item.chat_seq) ++c.unexpected;  // devices disagree on its place
  m.last_ns = NowNs();
  if (m.delivered == 0) m.first_ns = m.last_ns;
  if (++m.delivered == recipients_) ++fully_delivered_;
}

Status FanoutBench::Send(uint64_t k) {
  Msg& m = msgs_[k];
  m.sender = (k % f_.senders) * f_.devices;
  m.send_ns = NowNs();
  Result<uint64_t> seq = mux_->core(m.sender).SendToGroup(group_id_, MakeText(k, f_.text_bytes));
  if (!seq.ok()) return Status(seq.status().code(), "SendToGroup: " + seq.status().message());
  m.client_seq = *seq;
  return Status::Ok();
}

Status FanoutBench::Setup() {
  const uint64_t fds = loadgen::RaiseFileLimit();
  if (fds < devices_ + 64) {
    return Status(Code::kUnavailable, "open file limit " + std::to_string(fds) + " is below " +
                                          std::to_string(devices_ + 64));
  }
  TERN_RETURN_IF_ERROR(server_.Start(kStartTimeoutMs));
  const int64_t t0 = NowNs();
  user_ids_.assign(f_.members, 0);
  std::vector<tools::ClientState> states(devices_);
  std::unique_ptr<tools::Client> creator;
  tools::Client::Options o;
  o.port = server_.port();
  o.io_timeout_ms = kIoTimeoutMs;
  Status reg = loadgen::ParallelFor(f_.members, f_.setup_threads, [&](size_t u) -> Status {
    auto c0 = tools::Client::Create(o);
    if (!c0.ok()) return c0.status();
    char phone[32];
    std::snprintf(phone, sizeof phone, "+1555%07zu", 2000000 + u);
    Result<wire::CodeSent> sent = (*c0)->RequestCode(phone);
    if (!sent.ok()) return Status(sent.status().code(), "RequestCode: " + sent.status().message());
    Result<std::string> code = server_.CodeFor(phone);  // appended before CodeSent left
    if (!code.ok()) return code.status();
    Result<wire::Welcome> w = (*c0)->Verify(phone, *code, "phone");
    if (!w.ok()) return Status(w.status().code(), "Verify: " + w.status().message());
    user_ids_[u] = w->user_id;
    for (uint32_t d = 1; d < f_.devices; ++d) {
      Result<wire::LinkCode> lc = (*c0)->CreateLinkCode();
      if (!lc.ok()) return Status(lc.status().code(), "CreateLinkCode: " + lc.status().message());
      auto cd = tools::Client::Create(o);
      if (!cd.ok()) return cd.status();
      Result<wire::Welcome> wd = (*cd)->Link(lc->code, "tablet" + std::to_string(d));
      if (!wd.ok()) return Status(wd.status().code(), "Link: " + wd.status().message());
      states[u * f_.devices + d] = (*cd)->state();
    }
    states[u * f_.devices] = (*c0)->state();
    if (u == 0) creator = std::move(c0).value();  // creates the group below
    return Status::Ok();
  });
  if (!reg.ok()) return Status(reg.code(), "registration: " + reg.message());
  std::vector<uint64_t> others(user_ids_.begin() + 1, user_ids_.end());
  Result<wire::GroupInfo> g = creator->CreateGroup("fanout", others);
  if (!g.ok()) return Status(g.status().code(), "CreateGroup: " + g.status().message());
  if (g->members.size() != f_.members) {
    return Status(Code::kInternal, "CreateGroup made a group of " +
                                       std::to_string(g->members.size()) + " members");
  }
  group_id_ = g->group_id;
  create_seq_ = g->chat_seq;
  states[0] = creator->state();
  creator->Abort(false);
  const double reg_s = static_cast<double>(NowNs() - t0) / 1e9;

  const int64_t t1 = NowNs();
  mux_ = std::make_unique<ClientMux>("127.0.0.1", server_.port());
  expect_open_.assign(devices_, false);
  for (size_t i = 0; i < devices_; ++i) {
    // Receipts (delivered marks for the senders' devices) are acked at once, not after the
    // SDK's default receipt_ack_delay_ms: the phases wait for an empty store.
    tools::ClientCore::Options co;
    co.receipt_ack_delay_ms = 0;
    mux_->Add(std::move(states[i]), co);
    mux_->core(i).set_item_callback([this, i](const wire::InboxItem& it) { OnItem(i, it); });
    TERN_RETURN_IF_ERROR(mux_->Connect(i));
  }
  size_t ready = 0;
  TERN_RETURN_IF_ERROR(WaitFor(
      [&] {
        ready = 0;
        for (size_t i = 0; i < devices_; ++i) {
          // The creator's device may have taken its creation event before it moved here.
          ready += mux_->authenticated(i) && (i == 0 || checks_[i].last_chat_seq >= create_seq_);
        }
        return ready == devices_;
      },
      "connecting every device and delivering the group's creation",
      [&] { return std::to_string(ready) + " of " + std::to_string(devices_) + " ready"; }));
  expect_open_.assign(devices_, true);
  std::printf("setup: %u members x %u devices registered and group %llu created in %.1f s; "
              "%zu devices connected on one thread (ClientMux) and got the creation event in "
              "%.0f ms\n",
              f_.members, f_.devices, static_cast<unsigned long long>(group_id_), reg_s,
              devices_, static_cast<double>(NowNs() - t1) / 1e6);
  return Status::Ok();
}

// Every device holds exactly the messages [first, end) not its own, once each, in chat order
// with the chat seq of their SendAck; every SendAck is ok. "" when so.
std::string FanoutBench::Verify(uint64_t first, uint64_t end) {
  uint64_t missing = 0, dups = 0, ooo = 0, unexpected = 0, bad_acks = 0, wrong_seq = 0;
  for (uint64_t k = first; k < end; ++k) {
    const Msg& m = msgs_[k];
    const wire::SendAck* a = mux_->core(m.sender).ack_for(m.client_seq);
    if (a == nullptr || a->status != Code::kOk) ++bad_acks;
    else if (a->chat_seq != m.chat_seq_seen) ++wrong_seq;
  }
  for (size_t i = 0; i < devices_; ++i) {
    const DeviceCheck& c = checks_[i];
    for (uint64_t k = first; k < end; ++k) missing += (c.seen[k] == 0) && msgs_[k].sender != i;
    dups += c.duplicates;
    ooo += c.out_of_order;
    unexpected += c.unexpected;
  }
  if (missing + dups + ooo + unexpected + bad_acks + wrong_seq == 0) return "";
  return "missing " + std::to_string(missing) + ", duplicate " + std::to_string(dups) +
         ", out of chat order " + std::to_string(ooo) + ", unexpected " +
         std::to_string(unexpected) + ", SendAck missing/refused " + std::to_string(bad_acks) +
         ", chat seq differing from the SendAck's " + std::to_string(wrong_seq);
}

void FanoutBench::Finish(PhaseResult* r, uint64_t first, uint64_t end, int64_t t0) {
  std::vector<int64_t> lat, lat_first;
  int64_t last = t0;
  for (uint64_t k = first; k < end; ++k) {
    const int64_t from = r->phase == "online" ? msgs_[k].send_ns : t0;
    lat.push_back(msgs_[k].last_ns - from);
    lat_first.push_back(msgs_[k].first_ns - from);
    last = std::max(last, msgs_[k].last_ns);
  }
  std::sort(lat.begin(), lat.end());
  std::sort(lat_first.begin(), lat_first.end());
  r->first_p50_ms = static_cast<double>(Percentile(lat_first, 50)) / 1e6;
  r->deliveries = (end - first) * recipients_;
  r->seconds = static_cast<double>(last - t0) / 1e9;
  r->p50_ms = static_cast<double>(Percentile(lat, 50)) / 1e6;
  r->p99_ms = static_cast<double>(Percentile(lat, 99)) / 1e6;
  const std::string why = Verify(first, end);
  r->exactly_once_in_order = why.empty();
  if (why.empty()) {
    std::printf("%s: delivery verified: each of %zu devices received every group message not "
                "its own exactly once, in chat order, with its SendAck's chat seq (%llu "
                "deliveries)\n",
                r->phase.c_str(), devices_, static_cast<unsigned long long>(r->deliveries));
  } else {
    std::printf("%s: delivery NOT verified: %s\n", r->phase.c_str(), why.c_str());
  }
}

Status FanoutBench::RunOnline(PhaseResult* r) {
  r->phase = "online";
  const uint64_t m = f_.messages;
  uint64_t next = 0;
  loadgen::CpuMeter server_cpu(server_.pid()), bench_cpu(::getpid());
  server_cpu.Start();
  bench_cpu.Start();
  const int64_t t0 = NowNs();
  Status failed;
  TERN_RETURN_IF_ERROR(WaitFor(
      [&] {
        while (failed.ok() && next < m && next - fully_delivered_ < f_.window) {
          failed = Send(next++);
        }
        return !failed.ok() || fully_delivered_ == m;
      },
      "online: every message delivered to every recipient",
      [&] {
        return std::to_string(next) + " sent, " + std::to_string(fully_delivered_) +
               " delivered to all " + std::to_string(recipients_) + " recipients";
      }));
  r->server_cpu_pct = server_cpu.StopPercent();
  r->bench_cpu_pct = bench_cpu.StopPercent();
  TERN_RETURN_IF_ERROR(failed);
  auto acked = [&](uint64_t first, uint64_t end) {
    for (uint64_t k = first; k < end; ++k) {
      if (mux_->core(msgs_[k].sender).ack_for(msgs_[k].client_seq) == nullptr) return false;
    }
    return true;
  };
  TERN_RETURN_IF_ERROR(WaitFor([&] { return acked(0, m); }, "online: every SendAck",
                               [] { return std::string("SendAcks missing"); }));
  Finish(r, 0, m, t0);
  return Status::Ok();
}

Status FanoutBench::RunOffline(PhaseResult* r) {
  r->phase = "offline";
  const uint64_t m = f_.messages, first = m, end = 2 * m;
  // Quiesce: a ping round trip per device means the server read its last InboxAck.
  std::vector<uint64_t> nonce(devices_, 0);
  for (size_t i = 0; i < devices_; ++i) nonce[i] = mux_->core(i).SendPing();
  size_t ponged = 0;
  TERN_RETURN_IF_ERROR(WaitFor(
      [&] {
        ponged = 0;
        for (size_t i = 0; i < devices_; ++i) ponged += mux_->core(i).pong_received(nonce[i]);
        return ponged == devices_;
      },
      "offline: a ping round trip on every device", [&] {
        return std::to_string(ponged) + " pongs of " + std::to_string(devices_);
      }));
  // Empty queues before any device closes: the online phase's delivered receipts go to every
  // device of the sender's user, and one closed now would keep them queued.
  StoreStat before, after, drained;
  TERN_RETURN_IF_ERROR(WaitStore(
      [](const StoreStat& s) { return s.entries("queue") == 0 && s.entries("refs") == 0; },
      "offline: the store holding no queue item before sending", &before));
  size_t closed = 0, to_close = 0;
  for (size_t i = 0; i < devices_; ++i) {
    if (IsSender(i)) continue;
    expect_open_[i] = false;
    mux_->Close(i);
    ++to_close;
  }
  TERN_RETURN_IF_ERROR(WaitFor(
      [&] {
        closed = 0;
        for (size_t i = 0; i < devices_; ++i) closed += !IsSender(i) && mux_->closed(i);
        return closed == to_close;
      },
      "offline: every recipient device closed",
      [&] { return std::to_string(closed) + " of " + std::to_string(to_close) + " closed"; }));

  for (uint64_t k = first; k < end; ++k) TERN_RETURN_IF_ERROR(Send(k));
  TERN_RETURN_IF_ERROR(WaitFor(
      [&] {
        for (uint64_t k = first; k < end; ++k) {
          if (mux_->core(msgs_[k].sender).ack_for(msgs_[k].client_seq) == nullptr) return false;
        }
        return true;
      },
      "offline: every SendAck (every message committed)",
      [] { return std::string("SendAcks missing"); }));
  const uint64_t queued = m * to_close;  // one item per message per closed device
  TERN_RETURN_IF_ERROR(WaitStore(
      [&](const StoreStat& s) { return s.entries("queue") >= queued; },
      "offline: every queue item in the store", &after));

  loadgen::CpuMeter server_cpu(server_.pid()), bench_cpu(::getpid());
  server_cpu.Start();
  bench_cpu.Start();
  const int64_t t0 = NowNs();
  for (size_t i = 0; i < devices_; ++i) {
    if (IsSender(i)) continue;
    TERN_RETURN_IF_ERROR(mux_->Connect(i));
    expect_open_[i] = true;
  }
  TERN_RETURN_IF_ERROR(WaitFor(
      [&] { return fully_delivered_ == end; }, "offline: every queue drained on reconnect",
      [&] {
        return std::to_string(fully_delivered_ - m) + " of " + std::to_string(m) +
               " messages delivered to all " + std::to_string(recipients_) + " recipients";
      }));
  r->server_cpu_pct = server_cpu.StopPercent();
  r->bench_cpu_pct = bench_cpu.StopPercent();
  Finish(r, first, end, t0);
  PrintStore(before, after, to_close, r);

  // The body goes with the last acknowledgement: after the drain nothing is left queued.
  for (size_t i = 0; i < devices_; ++i) nonce[i] = mux_->core(i).SendPing();
  TERN_RETURN_IF_ERROR(WaitFor(
      [&] {
        for (size_t i = 0; i < devices_; ++i) {
          if (!mux_->core(i).pong_received(nonce[i])) return false;
        }
        return true;
      },
      "offline: a ping round trip after the drain", [] { return std::string("pongs missing"); }));
  TERN_RETURN_IF_ERROR(WaitStore(
      [&](const StoreStat& s) {
        return s.entries("queue") == 0 && s.entries("refs") == 0 &&
               s.entries("msgs") <= before.entries("msgs");
      },
      "offline: every queue item, ref and body deleted after the drain", &drained));
  std::printf("offline: after the drain the store holds %llu queue items, %llu refs, %llu "
              "bodies (as before sending)\n",
              static_cast<unsigned long long>(drained.entries("queue")),
              static_cast<unsigned long long>(drained.entries("refs")),
              static_cast<unsigned long long>(drained.entries("msgs")));
  return Status::Ok();
}

void FanoutBench::PrintStore(const StoreStat& before, const StoreStat& after,
                             size_t queued_devices, PhaseResult* r) {
  const double m = f_.messages;
  const double refs = m * static_cast<double>(queued_devices);
  std::printf("store while queued (%u messages x %zu offline devices; %llu-byte pages; "
              "+bytes = page growth):\n",
              f_.messages, queued_devices, static_cast<unsigned long long>(after.psize));
  std::printf("  %-14s %10s %10s %12s %14s %14s\n", "table", "+entries", "+pages", "+bytes/msg",
              "record bytes", "grows per");
  double per_msg = 0, per_dev = 0, body_raw = 0, ref_raw = 0;
  for (const auto& [name, a] : after.tables) {
    TableStat b;
    if (auto it = before.tables.find(name); it != before.tables.end()) b = it->second;
    const auto dentries = static_cast<int64_t>(a.entries) - static_cast<int64_t>(b.entries);
    const auto dpages = static_cast<int64_t>(a.pages) - static_cast<int64_t>(b.pages);
    const auto dkv = static_cast<double>(static_cast<int64_t>(a.kv_bytes) -
                                         static_cast<int64_t>(b.kv_bytes));
    if (dentries == 0 && dpages == 0) continue;
    const double bytes = static_cast<double>(dpages) * static_cast<double>(after.psize);
    const bool dev = PerDeviceTable(name);
    (dev ? per_dev : per_msg) += bytes;
    (dev ? ref_raw : body_raw) += dkv;
    std::printf("  %-14s %10lld %10lld %12.0f %14.1f %14s\n", name.c_str(),
                static_cast<long long>(dentries), static_cast<long long>(dpages), bytes / m,
                dentries > 0 ? dkv / static_cast<double>(dentries) : 0.0,
                dev ? "device" : "message");
  }
  r->has_store = true;
  r->store_bytes = (per_msg + per_dev) / m;
  r->body_bytes = per_msg / m;
  r->ref_bytes = per_dev / refs;
  const double n = static_cast<double>(queued_devices);
  std::printf("  store_bytes_per_group_msg %.0f = per message %.0f (text %zu bytes; records "
              "%.0f bytes) + %zu devices x %.1f per device ref (records %.1f bytes: queue item + "
              "ref)\n",
              r->store_bytes, r->body_bytes, f_.text_bytes, body_raw / m, queued_devices,
              r->ref_bytes, ref_raw / refs);
  std::printf("  a copy of the body per device would be at least %zu x %.0f = %.0f bytes per "
              "message (%.1fx this)\n",
              queued_devices, r->body_bytes, n * r->body_bytes,
              n * r->body_bytes / std::max(r->store_bytes, 1.0));
}

int FanoutBench::Run() {
  std::printf("fanout: one group of %u members x %u devices (%u recipient devices per message), "
              "%u messages of %zu bytes per phase, %u sender(s), window %u, durable ternd on "
              "loopback (plain TCP)\n",
              f_.members, f_.devices, recipients_, f_.messages, f_.text_bytes, f_.senders,
              f_.window);
  std::fflush(stdout);
  std::vector<PhaseResult> results(2);
  Status st = Setup();
  if (st.ok()) st = RunOnline(&results[0]);
  if (st.ok()) st = RunOffline(&results[1]);
  bool ok = st.ok();
  if (!ok) std::printf("FAILED: %s\n", st.ToString().c_str());
  mux_.reset();  // the server sees every connection close before SIGTERM
  Result<int> rc = server_.Stop(kStopTimeoutMs);
  if (!rc.ok() || *rc != 0) {
    ok = false;
    std::printf("ternd did not exit 0 on SIGTERM: %s\n",
                rc.ok() ? ("exit code " + std::to_string(*rc)).c_str() : rc.status().ToString().c_str());
  }
  for (const PhaseResult& r : results) ok = ok && r.exactly_once_in_order;
  if (!ok) std::printf("---- ternd log tail ----\n%s---- end ----\n", server_.LogTail(4000).c_str());
  if (!st.ok()) return 1;

  std::printf("\n%-8s %6s %8s %9s %11s %8s %13s %9s %9s %9s %10s %12s %6s %11s\n", "phase",
              "group", "devices", "messages", "deliveries", "wall s", "deliveries/s", "msgs/s",
              "p50 ms", "p99 ms", "1st p50 ms", "store B/msg", "exact", "cpu srv/me");
  for (const PhaseResult& r : results) {
    const double s = std::max(r.seconds, 1e-9);
    char store[32] = "-";
    if (r.has_store) std::snprintf(store, sizeof store, "%.0f", r.store_bytes);
    std::printf("%-8s %6u %8u %9u %11llu %8.3f %13.0f %9.1f %9.1f %9.1f %10.1f %12s %6s "
                "%5.0f/%3.0f%%\n",
                r.phase.c_str(), f_.members, f_.devices, f_.messages,
                static_cast<unsigned long long>(r.deliveries), r.seconds,
                static_cast<double>(r.deliveries) / s, f_.messages / s, r.p50_ms, r.p99_ms,
                r.first_p50_ms, store,
                r.exactly_once_in_order ? "yes" : "NO", r.server_cpu_pct, r.bench_cpu_pct);
  }
  for (const PhaseResult& r : results) {
    const double s = std::max(r.seconds, 1e-9);
    char store[160] = "\"store_bytes_per_group_msg\":null,\"body_bytes_per_group_msg\":null,"
                      "\"per_device_ref_bytes\":null";
    if (r.has_store) {
      std::snprintf(store, sizeof store,
                    "\"store_bytes_per_group_msg\":%.0f,\"body_bytes_per_group_msg\":%.0f,"
                    "\"per_device_ref_bytes\":%.1f",
                    r.store_bytes, r.body_bytes, r.ref_bytes);
    }
    std::printf("{\"bench\":\"fanout\",\"group_size\":%u,\"devices_per_member\":%u,"
                "\"phase\":\"%s\",\"messages\":%u,\"recipients_per_message\":%u,"
                "\"deliveries\":%llu,\"seconds\":%.3f,\"deliveries_per_s\":%.0f,"
                "\"messages_per_s\":%.1f,\"p50_ms\":%.1f,\"p99_ms\":%.1f,\"first_delivery_p50_ms\":%.1f,\"text_bytes\":%zu,"
                "%s,\"server_cpu_pct\":%.0f,\"bench_cpu_pct\":%.0f,\"exactly_once_in_order\":%s}\n",
                f_.members, f_.devices, r.phase.c_str(), f_.messages, recipients_,
                static_cast<unsigned long long>(r.deliveries), r.seconds,
                static_cast<double>(r.deliveries) / s, f_.messages / s, r.p50_ms, r.p99_ms,
                r.first_p50_ms, f_.text_bytes, store, r.server_cpu_pct, r.bench_cpu_pct,
                r.exactly_once_in_order ? "true" : "false");
  }
  return ok ? 0 : 1;
}

bool ParseFlags(int argc, char** argv, Flags* f) {
  for (int k = 1; k < argc; ++k) {
    const std::string a = argv[k];
    if (k + 1 >= argc || a.rfind("--", 0) != 0) return false;
    const char* v = argv[++k];
    char* end = nullptr;
    if (a == "--phase-timeout-s") {
      f->phase_timeout_s = std::strtod(v, &end);
      if (*end != '\0' || !(f->phase_timeout_s > 0)) return false;
      continue;
    }
    const unsigned long long n = std::strtoull(v, &end, 10);
    if (*end != '\0' || end == v) return false;
    if (a == "--members") f->members = static_cast<uint32_t>(n);
    else if (a == "--devices") f->devices = static_cast<uint32_t>(n);
    else if (a == "--messages") f->messages = static_cast<uint32_t>(n);
    else if (a == "--text-bytes") f->text_bytes = n;
    else if (a == "--window") f->window = static_cast<uint32_t>(n);
    else if (a == "--senders") f->senders = static_cast<uint32_t>(n);
    else if (a == "--setup-threads") f->setup_threads = static_cast<uint32_t>(n);
    else return false;
  }
  // max_group_members and max_devices defaults; the text must hold its unique prefix.
  return f->members >= 2 && f->members <= 1024 && f->devices >= 1 && f->devices <= 5 &&
         f->messages >= 1 && f->messages <= 100000 && f->text_bytes >= 16 &&
         f->text_bytes <= 65536 && f->window >= 1 && f->senders >= 1 &&
         f->senders <= f->members && f->setup_threads >= 1 && f->setup_threads <= 64;
}

}  // namespace
}  // namespace tern::bench

int main(int argc, char** argv) {
  tern::bench::Flags flags;
  if (!tern::bench::ParseFlags(argc, argv, &flags)) {
    std::fprintf(stderr,
                 "usage: %s [--members 256 (2..1024)] [--devices 2 (1..5)] [--messages 200] "
                 "[--text-bytes 200] [--window 16] [--senders 1] [--phase-timeout-s 120] "
                 "[--setup-threads 4]\n",
                 argv[0]);
    return 2;
  }
  return tern::bench::FanoutBench(flags).Run();
}
